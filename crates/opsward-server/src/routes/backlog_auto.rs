//! Routes of the automatic backlog items.

use super::{Table, OPERATOR, VIEWER};
use crate::api;
use axum::http::Method;

pub(super) fn routes(t: Table) -> Table {
    use api::backlog_auto as a;
    t.add(Method::GET, "/api/v1/backlog/auto-items", VIEWER, a::list)
        .add(
            Method::POST,
            "/api/v1/backlog/auto-items/run",
            OPERATOR,
            a::run,
        )
}
