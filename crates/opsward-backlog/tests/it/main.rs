//! Backlog storage and search, on SQLite and PostgreSQL.

mod items;
mod more;
mod search;
mod sla;
mod transfer;
mod versions;
