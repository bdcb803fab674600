//! The register of resilience measures and their test results.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use opsward_core::page::{Page, PageRequest};
use opsward_ops::Evidence;
use opsward_resilience::register::{
    MeasureDetail, MeasureFilter, MeasureInput, MeasureKind, MeasureState, MeasureStatus,
    TestResultInput,
};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeasureQuery {
    /// Measures of this asset.
    pub asset: Option<i64>,
    pub kind: Option<MeasureKind>,
    /// `ok`, `failed` (failed or partial last result), `overdue` or `never_tested`.
    pub state: Option<MeasureState>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List measures with their state, last result and next test, oldest first, one page at a
/// time.
#[utoipa::path(get, path = "/api/v1/resilience/measures", tag = "resilience", params(MeasureQuery),
    responses((status = 200, body = Page<MeasureStatus>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<MeasureQuery>,
) -> ApiResult<Json<Page<MeasureStatus>>> {
    let page =
        PageRequest::from_params(q.limit, q.cursor.as_deref()).map_err(ApiError::bad_request)?;
    let filter = MeasureFilter {
        asset_id: q.asset,
        kind: q.kind,
        state: q.state,
    };
    Ok(Json(state.resilience.list(&filter, page).await?))
}

/// Register a measure; its tests are scheduled on the calendar (practice `resilience`) for
/// its owner.
#[utoipa::path(post, path = "/api/v1/resilience/measures", tag = "resilience", request_body = MeasureInput,
    responses((status = 201, body = MeasureStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<MeasureInput>,
) -> ApiResult<(StatusCode, Json<MeasureStatus>)> {
    let created = state.resilience.create(&caller.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A measure with its state and the evidence of every test, newest first.
#[utoipa::path(get, path = "/api/v1/resilience/measures/{id}", tag = "resilience", params(("id" = i64, Path)),
    responses((status = 200, body = MeasureDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MeasureDetail>> {
    Ok(Json(state.resilience.detail(id).await?))
}

/// Replace a measure's fields; its test schedule follows.
#[utoipa::path(put, path = "/api/v1/resilience/measures/{id}", tag = "resilience", params(("id" = i64, Path)), request_body = MeasureInput,
    responses((status = 200, body = MeasureStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MeasureInput>,
) -> ApiResult<Json<MeasureStatus>> {
    Ok(Json(
        state.resilience.update(&caller.actor(), id, &input).await?,
    ))
}

/// Remove a measure. Its test activity is deactivated; the evidence of past tests stays.
#[utoipa::path(delete, path = "/api/v1/resilience/measures/{id}", tag = "resilience", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.resilience.delete(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record a test result: it completes the given scheduled test (or the latest one still
/// open) as evidence; a failed or partial result notifies the measure's owners.
#[utoipa::path(post, path = "/api/v1/resilience/measures/{id}/results", tag = "resilience", params(("id" = i64, Path)), request_body = TestResultInput,
    responses((status = 201, body = Evidence), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_result(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TestResultInput>,
) -> ApiResult<(StatusCode, Json<Evidence>)> {
    let evidence = state
        .resilience
        .record_result(&caller.actor(), id, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(evidence)))
}
