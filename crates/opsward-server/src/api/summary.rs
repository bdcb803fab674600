//! The dashboard's numbers as JSON: hygiene score per practice with its reasons, overdue and
//! upcoming occurrences, evidence of the last 30 days and asset counts.

use crate::{
    error::{ApiResult, ErrorBody},
    AppState,
};
use axum::{extract::State, Json};
use opsward_ops::summary::Summary;

/// Hygiene scores (0-100, each lost point explained), everything overdue, the worst conditions
/// across practices, the next 30 days, evidence of the last 30 days by result, and asset
/// counts, as of `generated_at` (kept and refreshed; never older than a minute).
#[utoipa::path(get, path = "/api/v1/summary", tag = "summary",
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody)))]
pub async fn summary(State(state): State<AppState>) -> ApiResult<Json<Summary>> {
    Ok(Json(state.picture.get().await?.summary.clone()))
}
