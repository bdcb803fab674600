//! Store tests. Each runs on SQLite and on PostgreSQL through `store_test!`.

mod assets;
mod auth;
mod backup;
mod fts_rank;
mod jobs;
mod people;
mod postgres_session;

use opsward_core::Actor;

pub fn actor() -> Actor {
    Actor::user(1, "tester")
}

pub use opsward_testkit::asset_input as asset;
