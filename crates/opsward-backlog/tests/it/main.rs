//! Backlog storage and search, on SQLite and PostgreSQL.

mod aging;
mod auto;
mod auto_run;
mod items;
mod more;
mod practice;
mod search;
mod sla;
mod transfer;
mod versions;
