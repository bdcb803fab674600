//! opsward's domain: the types every practice shares and the pure rules over them.
//!
//! Nothing here touches the network, the disk or a clock of its own; callers pass time in.
//! That keeps the rules testable and lets the store, the server and the CLI agree on one model.

pub mod actor;
pub mod asset;
pub mod asset_csv;
pub mod audit;
pub mod job;
pub mod page;
pub mod people;
pub mod practice;
pub mod role;
pub mod user;
pub mod validation;

pub use actor::Actor;
pub use role::Role;
pub use validation::{FieldError, ValidationError};
