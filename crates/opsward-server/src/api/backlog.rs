//! The backlog: work items, their comments and history, duplicate suggestions and aging.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use chrono::Utc;
use opsward_backlog::{
    aging::{aging, AgingReport},
    store::BacklogError,
    Comment, CommentInput, HistoryEntry, Item, ItemFilter, ItemInput, ItemPatch, ItemState,
    ItemType,
};
use opsward_core::page::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

impl From<BacklogError> for ApiError {
    fn from(err: BacklogError) -> Self {
        match err {
            BacklogError::Store(e) => e.into(),
            BacklogError::Transition(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "illegal_transition",
                e.to_string(),
            ),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    pub state: Option<ItemState>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub item_type: Option<ItemType>,
    /// Team id.
    pub team: Option<i64>,
    /// Assignee (person id).
    pub assignee: Option<i64>,
    /// Words that must all appear in the title or description.
    pub q: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List work items, filtered, oldest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/backlog/items", tag = "backlog", params(ItemQuery),
    responses((status = 200, body = Page<Item>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ItemQuery>,
) -> ApiResult<Json<Page<Item>>> {
    let page =
        PageRequest::from_params(q.limit, q.cursor.as_deref()).map_err(ApiError::bad_request)?;
    let filter = ItemFilter {
        state: q.state,
        item_type: q.item_type,
        team_id: q.team,
        assignee_person_id: q.assignee,
        q: q.q,
    };
    Ok(Json(state.backlog.list_items(&filter, page).await?))
}

/// A new item and the existing items it may duplicate.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedItem {
    pub item: Item,
    /// Up to five existing items with similar words, best match first.
    pub possible_duplicates: Vec<Item>,
}

/// File a work item. It starts in `new`; similar existing items come back with it.
#[utoipa::path(post, path = "/api/v1/backlog/items", tag = "backlog", request_body = ItemInput,
    responses((status = 201, body = CreatedItem), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<ItemInput>,
) -> ApiResult<(StatusCode, Json<CreatedItem>)> {
    // Looked up first, so the new item is not its own duplicate.
    let possible_duplicates = state
        .backlog
        .similar(&input.title, &input.description)
        .await?;
    let item = state.backlog.create_item(&caller.actor(), &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedItem {
            item,
            possible_duplicates,
        }),
    ))
}

/// An item with its comments and full change history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemDetail {
    pub item: Item,
    pub comments: Vec<Comment>,
    pub history: Vec<HistoryEntry>,
    /// States the item may move to next.
    pub next_states: Vec<ItemState>,
}

#[utoipa::path(get, path = "/api/v1/backlog/items/{id}", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, body = ItemDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ItemDetail>> {
    let item = state.backlog.get_item(id).await?;
    Ok(Json(ItemDetail {
        next_states: item.state.next_states(),
        comments: state.backlog.comments(id).await?,
        history: state.backlog.history(id).await?,
        item,
    }))
}

/// Change fields and/or move `state` through the workflow. A move the workflow does not
/// allow is 422 with code `illegal_transition` and the allowed next states in the message.
#[utoipa::path(patch, path = "/api/v1/backlog/items/{id}", tag = "backlog", params(("id" = i64, Path)), request_body = ItemPatch,
    responses((status = 200, body = Item), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<ItemPatch>,
) -> ApiResult<Json<Item>> {
    Ok(Json(
        state
            .backlog
            .update_item(&caller.actor(), id, &patch)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/backlog/items/{id}/comments", tag = "backlog", params(("id" = i64, Path)), request_body = CommentInput,
    responses((status = 201, body = Comment), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn comment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CommentInput>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    let comment = state
        .backlog
        .add_comment(&caller.actor(), id, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgingQuery {
    /// Days without an update before an open item is stale (default 14).
    #[param(minimum = 1, maximum = 3650)]
    pub stale_days: Option<i64>,
}

/// Open items by age (0-7, 8-30, 31-90, 90+ days), stale items and items without an assignee.
#[utoipa::path(get, path = "/api/v1/backlog/aging", tag = "backlog", params(AgingQuery),
    responses((status = 200, body = AgingReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn aging_report(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AgingQuery>,
) -> ApiResult<Json<AgingReport>> {
    let stale_days = q.stale_days.unwrap_or(14);
    if !(1..=3650).contains(&stale_days) {
        return Err(ApiError::bad_request("stale_days must be 1-3650"));
    }
    let items = state.backlog.all_items().await?;
    Ok(Json(aging(&items, Utc::now(), stale_days)))
}
