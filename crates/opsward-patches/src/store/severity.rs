//! The severity of pending updates, as the vulnerability practice derives it from the
//! findings each update would close: stored with the update, and its due date recomputed
//! by the patch policy (critical 7 days, high 14, others 30 by default). The SQL lives in
//! `opsward_ops::host_inventory`, which both practices use.

pub use opsward_core::host_inventory::UpdateSeverity;
