//! The backlog practice: problems, low-priority incidents, improvements and risks as work
//! items that are triaged, prioritised (ITIL impact x urgency, WSJF for improvements), moved
//! through a workflow, aged, and found again by full-text search before a duplicate is filed.
//!
//! Pure rules (`workflow`, `priority`, `aging`, `search` query text) need no database and are
//! tested on their own; `store` keeps items, comments and history on SQLite or PostgreSQL.

pub mod aging;
pub mod aging_sql;
pub mod auto;
mod auto_store;
pub mod business_hours;
pub mod charts;
pub mod files;
pub mod filters;
pub mod inbound;
pub mod inbound_imap;
pub mod inbound_poll;
mod inbound_store;
pub mod jobs;
pub mod model;
pub mod practice;
pub mod practice_rules;
pub mod practice_sql;
pub mod priority;
pub mod review;
pub mod search;
pub mod sla;
pub mod sla_alerts;
pub mod store;
pub mod transfer;
pub mod watch;
pub mod work_items;
pub mod workflow;

pub use inbound_store::FiledMessage;
pub use model::*;
pub use store::BacklogStore;
pub use workflow::{ItemState, TransitionError};

#[cfg(test)]
mod fuzz_tests;
