//! Store tests. Each runs on SQLite and on PostgreSQL through `store_test!`.

mod assets;
mod auth;
mod jobs;
mod people;

use opsward_core::{
    asset::{AssetInput, AssetKind, Criticality},
    Actor,
};

pub fn actor() -> Actor {
    Actor::user(1, "tester")
}

pub fn asset(name: &str) -> AssetInput {
    AssetInput {
        name: name.into(),
        kind: AssetKind::Host,
        environment: "production".into(),
        criticality: Criticality::Medium,
        owner_team_id: None,
        owner_person_id: None,
        tags: vec![],
        description: String::new(),
    }
}
