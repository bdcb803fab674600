//! The backlog's routes beyond the item basics kept in the main table: service levels,
//! the board and the edit form.

use super::{Table, ADMIN, OPERATOR, VIEWER};
use crate::{api, ui};
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
        .add(
            M::POST,
            "/api/v1/backlog/items/bulk",
            OPERATOR,
            b::bulk_edit,
        )
        .add(M::POST, "/api/v1/backlog/import", OPERATOR, b::import)
        .add(M::GET, "/api/v1/backlog/export", VIEWER, b::export)
        .add(M::GET, "/backlog/board", VIEWER, ui::backlog_board::board)
        .add(
            M::POST,
            "/backlog/board/{id}",
            OPERATOR,
            ui::backlog_board::move_card,
        )
        .add(
            M::POST,
            "/backlog/{id}/edit",
            OPERATOR,
            ui::backlog_board::edit,
        )
}
