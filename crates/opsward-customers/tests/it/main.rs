//! Customer engagement on SQLite and PostgreSQL: the practice's conditions, hygiene and
//! facets. Surveys and review packs with real backlog items are tested in the server's
//! tests (`customer_surveys`), since this crate may not depend on the backlog.

mod practice;
mod support;
