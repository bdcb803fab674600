//! Routes of inbound email for the backlog.

use super::{Table, OPERATOR};
use crate::api;
use axum::http::Method;

pub(super) fn routes(t: Table) -> Table {
    t.add(
        Method::POST,
        "/api/v1/backlog/inbound/run",
        OPERATOR,
        api::backlog_inbound::run,
    )
}
