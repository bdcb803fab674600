//! Backlog storage and search, on SQLite and PostgreSQL.

mod aging;
mod auto;
mod items;
mod more;
mod search;
mod sla;
mod transfer;
mod versions;
