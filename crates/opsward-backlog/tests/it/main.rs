//! Backlog storage and search, on SQLite and PostgreSQL.

mod aging;
mod auto;
mod items;
mod search;
mod sla;
mod transfer;
mod versions;
