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
        .merge(more)
}

/// Watchers, attachments, saved filters, bulk edit, the review and the report.
fn more(t: Table) -> Table {
    use api::backlog_more as m;
    use ui::{backlog_more as u, backlog_review as r};
    use Method as M;
    t.add(
        M::GET,
        "/api/v1/backlog/items/{id}/watchers",
        VIEWER,
        m::watchers,
    )
    .add(
        M::PUT,
        "/api/v1/backlog/items/{id}/watchers/me",
        VIEWER,
        m::watch,
    )
    .add(
        M::DELETE,
        "/api/v1/backlog/items/{id}/watchers/me",
        VIEWER,
        m::unwatch,
    )
    .add(
        M::GET,
        "/api/v1/backlog/items/{id}/attachments",
        VIEWER,
        m::attachments,
    )
    .add(
        M::POST,
        "/api/v1/backlog/items/{id}/attachments",
        OPERATOR,
        m::upload,
    )
    .add(
        M::GET,
        "/api/v1/backlog/attachments/{id}",
        VIEWER,
        m::download,
    )
    .add(
        M::DELETE,
        "/api/v1/backlog/attachments/{id}",
        OPERATOR,
        m::delete_attachment,
    )
    .add(M::GET, "/api/v1/backlog/filters", VIEWER, m::filters)
    .add(M::POST, "/api/v1/backlog/filters", VIEWER, m::save_filter)
    .add(
        M::DELETE,
        "/api/v1/backlog/filters/{id}",
        VIEWER,
        m::delete_filter,
    )
    .add(M::GET, "/api/v1/backlog/review", VIEWER, m::review)
    .add(M::POST, "/api/v1/backlog/review", OPERATOR, m::apply_review)
    .add(M::GET, "/api/v1/backlog/charts", VIEWER, m::chart)
    .add(M::POST, "/backlog/{id}/watch", VIEWER, u::watch)
    .add(M::POST, "/backlog/{id}/unwatch", VIEWER, u::unwatch)
    .add(M::POST, "/backlog/{id}/attachments", OPERATOR, u::upload)
    .add(
        M::POST,
        "/backlog/attachments/{id}/delete",
        OPERATOR,
        u::delete_attachment,
    )
    .add(M::POST, "/backlog/filters", VIEWER, u::save_filter)
    .add(
        M::POST,
        "/backlog/filters/{id}/delete",
        VIEWER,
        u::delete_filter,
    )
    .add(M::POST, "/backlog/bulk", OPERATOR, u::bulk_edit)
    .add(M::GET, "/backlog/review", VIEWER, r::review)
    .add(M::POST, "/backlog/review", OPERATOR, r::apply)
    .add(M::GET, "/backlog/report", VIEWER, r::report)
}
