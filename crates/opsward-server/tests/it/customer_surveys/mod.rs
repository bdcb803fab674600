//! Customer engagement with real backlog items: CSAT surveys of resolved items, follow-ups
//! for low answers, and review packs. Here because the customers crate reaches the backlog
//! only through `opsward_core::work_items` and may not depend on it (not even in its tests).

mod reviews;
mod support;
mod surveys;
