//! Automatic backlog items: the links between other practices' conditions and the items
//! opened for them, and a run on demand.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::ApiQuery,
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use chrono::Utc;
use opsward_backlog::auto::{AutoItem, AutoItemSource, AutoRun};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AutoItemQuery {
    /// Only links of this source.
    pub source: Option<AutoItemSource>,
    /// Only conditions that hold (`true`) or cleared (`false`).
    pub active: Option<bool>,
}

/// The automatic items: each source object, the item opened for it, and whether the
/// condition still holds.
#[utoipa::path(get, path = "/api/v1/backlog/auto-items", tag = "backlog", params(AutoItemQuery),
    responses((status = 200, body = Vec<AutoItem>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AutoItemQuery>,
) -> ApiResult<Json<Vec<AutoItem>>> {
    let mut links = state.backlog.auto_items(q.source, None).await?;
    if let Some(active) = q.active {
        links.retain(|l| l.active == active);
    }
    Ok(Json(links))
}

/// Check every enabled source now, as the `backlog.auto_items` job does: open an item for
/// each new condition, comment on the items whose condition cleared. A source that cannot be
/// checked is reported with its error (and the answer is 500); the others still run.
#[utoipa::path(post, path = "/api/v1/backlog/auto-items/run", tag = "backlog",
    responses((status = 200, body = AutoRun), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<AutoRun>> {
    let run = opsward_backlog::auto::run_auto_items(
        &state.backlog,
        state.picture.registry(),
        &state.config.backlog_auto,
        &caller.actor(),
        Utc::now(),
    )
    .await;
    // The items changed: the picture should show them.
    state.picture.invalidate();
    if let Some(e) = run.sources.iter().find_map(|s| s.error.clone()) {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "auto_items_failed",
            e,
        ));
    }
    Ok(Json(run))
}
