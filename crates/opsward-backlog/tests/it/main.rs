//! Backlog storage and search, on SQLite and PostgreSQL.

mod items;
mod search;
mod sla;
mod transfer;
mod versions;
