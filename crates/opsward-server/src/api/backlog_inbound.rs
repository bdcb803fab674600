//! Inbound email for the backlog: poll the mailbox on demand.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use opsward_backlog::inbound::InboundRun;

/// Poll the inbound mailbox now, as the `backlog.inbound_mail` job does: each unseen
/// message opens an item, or adds a comment to the item its subject names as `[#123]`.
/// The answer lists every message handled; one that failed is left unread (the poll still
/// answers 200). 409 when inbound email is not configured, 502 when the mailbox cannot be
/// reached or refuses the login (messages not reached stay unread).
#[utoipa::path(post, path = "/api/v1/backlog/inbound/run", tag = "backlog",
    responses((status = 200, body = InboundRun), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<InboundRun>> {
    let settings = &state.config.backlog_inbound;
    if !settings.enabled() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "inbound_mail_not_configured",
            "inbound email is not configured: set host in [backlog_inbound]",
        ));
    }
    tracing::info!(caller = %caller.actor(), "inbound email poll requested");
    let run = crate::backlog_inbound::run(state.store.as_ref(), settings).await;
    if let Some(e) = &run.error {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "inbound_mail_failed",
            e.clone(),
        ));
    }
    Ok(Json(run))
}
