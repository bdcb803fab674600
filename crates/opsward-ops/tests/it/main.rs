//! Calendar storage and rules, on SQLite and PostgreSQL.

mod backup;
mod calendar;
mod evidence_rules;
mod file_store;
mod notifications;
