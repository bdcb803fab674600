//! The operations calendar that every practice plugs into: recurring activities (RFC 5545
//! recurrence rules in a time zone), their occurrences and whether each is done, upcoming or
//! overdue, the evidence that proves an occurrence happened (with attachments), evidence
//! exports for auditors, and iCal feeds.
//!
//! Pure rules (recurrence, states, iCal text) are separate from storage (`store`), so they
//! are tested without a database.

pub mod asset_facet;
pub mod attachments;
pub mod backup;
mod backup_archive;
pub mod expansions;
pub mod export;
pub mod host_inventory;
pub mod hygiene;
pub mod ical;
pub mod jobs;
pub mod model;
pub mod notifications;
pub mod recurrence;
pub mod rule_parts;
pub mod schedule_editor;
pub mod schedule_words;
pub mod store;
pub mod summary;
pub mod templates;

pub use model::*;
pub use store::OpsStore;
