//! The backlog's routes beyond the item basics kept in the main table: service levels.

use super::{Table, ADMIN, VIEWER};
use crate::api;
use axum::http::Method;

pub(super) fn routes(t: Table) -> Table {
    use api::backlog as b;
    use Method as M;
    t.add(M::GET, "/api/v1/backlog/sla", VIEWER, b::sla_overview)
        .add(M::GET, "/api/v1/backlog/sla/policy", VIEWER, b::sla_policy)
        .add(
            M::PUT,
            "/api/v1/backlog/sla/policy",
            ADMIN,
            b::set_sla_policy,
        )
}
