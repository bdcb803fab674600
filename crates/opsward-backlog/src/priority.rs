//! How urgent an item is. The ITIL matrix and WSJF live in `opsward_core::priority`, since
//! other practices (supplier scorecards, customer review packs) measure against the same
//! targets; re-exported here so the backlog's callers name it where they always did.

pub use opsward_core::priority::*;
