//! The suppliers practice: the supplier register, contracts with notice deadlines and
//! (tacit or express) renewals, reviews scheduled by criticality on the operations calendar
//! with weighted scorecards, numbers from the backlog and tracked actions, each review
//! recorded as evidence.
//!
//! Pure rules (`notice` arithmetic, scorecard weighting, waiting time) need no database and
//! are tested on their own; `store` keeps the rows on SQLite or PostgreSQL; `alerts` turns
//! contract dates into notification events; `practice` reports conditions, hygiene
//! deductions (rules in `hygiene`), asset facets and jobs through the practice contract.

pub mod alerts;
pub mod hygiene;
pub mod model;
pub mod notice;
pub mod practice;
pub mod review;
pub mod store;

pub use model::*;
pub use review::*;
pub use store::SupplierStore;
