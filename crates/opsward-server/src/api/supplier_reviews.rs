//! Supplier reviews: scorecard criteria, recorded reviews and their action items.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use opsward_core::page::{Page, PageRequest};
use opsward_suppliers::{ActionInput, ActionItem, ActionPatch, Criterion, Review, ReviewInput};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Supplier id.
    pub supplier: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List reviews with their scores and actions, oldest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/supplier-reviews", tag = "suppliers", params(ReviewQuery),
    responses((status = 200, body = Page<Review>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> ApiResult<Json<Page<Review>>> {
    let page =
        PageRequest::from_params(q.limit, q.cursor.as_deref()).map_err(ApiError::bad_request)?;
    Ok(Json(state.suppliers.list_reviews(q.supplier, page).await?))
}

/// Record a completed review: every active criterion scored 1-5, the weighted total
/// computed, backlog numbers for the period taken, and the review recorded as evidence on
/// the supplier's review occurrence.
#[utoipa::path(post, path = "/api/v1/supplier-reviews", tag = "suppliers", request_body = ReviewInput,
    responses((status = 201, body = Review), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<ReviewInput>,
) -> ApiResult<(StatusCode, Json<Review>)> {
    let review = state
        .suppliers
        .record_review(&caller.actor(), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(review)))
}

#[utoipa::path(get, path = "/api/v1/supplier-reviews/{id}", tag = "suppliers", params(("id" = i64, Path)),
    responses((status = 200, body = Review), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Review>> {
    Ok(Json(state.suppliers.get_review(id).await?))
}

/// Add an action item to a review.
#[utoipa::path(post, path = "/api/v1/supplier-reviews/{id}/actions", tag = "suppliers", params(("id" = i64, Path)), request_body = ActionInput,
    responses((status = 201, body = ActionItem), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_action(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ActionInput>,
) -> ApiResult<(StatusCode, Json<ActionItem>)> {
    let action = state
        .suppliers
        .add_action(&caller.actor(), id, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(action)))
}

/// Mark an action item done (or not done again).
#[utoipa::path(patch, path = "/api/v1/supplier-reviews/actions/{id}", tag = "suppliers", params(("id" = i64, Path)), request_body = ActionPatch,
    responses((status = 200, body = ActionItem), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_action(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<ActionPatch>,
) -> ApiResult<Json<ActionItem>> {
    Ok(Json(
        state
            .suppliers
            .set_action_done(&caller.actor(), id, patch.done)
            .await?,
    ))
}

/// The scorecard criteria with their weights, active ones first in order.
#[utoipa::path(get, path = "/api/v1/supplier-reviews/criteria", tag = "suppliers",
    responses((status = 200, body = Vec<Criterion>), (status = 401, body = ErrorBody)))]
pub async fn criteria(State(state): State<AppState>) -> ApiResult<Json<Vec<Criterion>>> {
    Ok(Json(state.suppliers.criteria().await?))
}

/// Set the scorecard criteria. Criteria left out become inactive (old scorecards keep
/// them as they were scored).
#[utoipa::path(put, path = "/api/v1/supplier-reviews/criteria", tag = "suppliers", request_body = Vec<Criterion>,
    responses((status = 200, body = Vec<Criterion>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_criteria(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<Vec<Criterion>>,
) -> ApiResult<Json<Vec<Criterion>>> {
    Ok(Json(
        state
            .suppliers
            .set_criteria(&caller.actor(), &input)
            .await?,
    ))
}
