//! Calendar storage and rules, on SQLite and PostgreSQL.

mod calendar;
mod notifications;
