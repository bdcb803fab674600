//! The backlog beyond single items: watchers, attachments, saved filters, the scheduled
//! review and the chart data.

use super::Caller;
use crate::{
    auth::Principal,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::Response,
    Json,
};
use chrono::Utc;
use opsward_backlog::{
    charts::{charts, state_moves, Charts},
    files::{ItemAttachment, ItemFiles, NewItemAttachment},
    filters::{SavedFilter, SavedFilterInput, SavedFilters},
    review::{apply_decisions, review_list, Decisions, ReviewError, ReviewList, ReviewOutcome},
    watch::{WatchStore, Watcher},
};
use opsward_core::Role;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

impl From<ReviewError> for ApiError {
    fn from(err: ReviewError) -> Self {
        match err {
            ReviewError::Backlog(e) => e.into(),
            e @ ReviewError::NoActivity => {
                ApiError::new(StatusCode::CONFLICT, "no_review_activity", e.to_string())
            }
        }
    }
}

/// Who watches an item.
#[utoipa::path(get, path = "/api/v1/backlog/items/{id}/watchers", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Watcher>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn watchers(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Watcher>>> {
    state.backlog.get_item(id).await?;
    Ok(Json(
        WatchStore::new(state.store.as_ref()).watchers(id).await?,
    ))
}

/// Watch an item: you are mailed its state changes and new comments (at the email address
/// of your account). Watching twice is harmless. Answers with the watchers.
#[utoipa::path(put, path = "/api/v1/backlog/items/{id}/watchers/me", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Watcher>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn watch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Watcher>>> {
    let store = WatchStore::new(state.store.as_ref());
    store.watch(&caller.actor(), id, caller.user.id).await?;
    Ok(Json(store.watchers(id).await?))
}

/// Stop watching an item. Answers with the watchers.
#[utoipa::path(delete, path = "/api/v1/backlog/items/{id}/watchers/me", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Watcher>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unwatch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Watcher>>> {
    let store = WatchStore::new(state.store.as_ref());
    store.unwatch(&caller.actor(), id, caller.user.id).await?;
    Ok(Json(store.watchers(id).await?))
}

/// The files on an item.
#[utoipa::path(get, path = "/api/v1/backlog/items/{id}/attachments", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ItemAttachment>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn attachments(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ItemAttachment>>> {
    state.backlog.get_item(id).await?;
    Ok(Json(ItemFiles::new(state.store.as_ref()).list(id).await?))
}

/// A file upload: one or more `file` parts.
#[derive(ToSchema)]
#[schema(as = BacklogAttachmentForm)]
#[allow(dead_code)] // documents the multipart form for OpenAPI
pub struct AttachmentForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Attach files to an item (logs, screenshots). Kept by SHA-256 with the evidence files and
/// limited to the same size.
#[utoipa::path(post, path = "/api/v1/backlog/items/{id}/attachments", tag = "backlog", params(("id" = i64, Path)),
    request_body(content = AttachmentForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<ItemAttachment>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Vec<ItemAttachment>>)> {
    let stored = store_attachments(&state, &caller, id, req).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Store every file of a multipart request on item `id` (the API and the item page's
/// upload form both come here).
pub async fn store_attachments(
    state: &AppState,
    caller: &Principal,
    id: i64,
    req: Request,
) -> ApiResult<Vec<ItemAttachment>> {
    // Checked first, so files for an item that does not exist are never stored.
    state.backlog.get_item(id).await?;
    let files = ItemFiles::new(state.store.as_ref());
    let actor = caller.actor();
    super::files::store_each_file(state, req, "backlog attachment", |file| {
        let (files, actor) = (&files, &actor);
        async move {
            let file = NewItemAttachment {
                filename: file.filename,
                content_type: file.content_type,
                size_bytes: file.size_bytes,
                sha256: file.sha256,
            };
            Ok(files.add(actor, id, &file).await?)
        }
    })
    .await
}

/// Download a file of an item; served as an attachment, never rendered inline.
#[utoipa::path(get, path = "/api/v1/backlog/attachments/{id}", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let meta = ItemFiles::new(state.store.as_ref()).get(id).await?;
    super::files::download(
        &state,
        meta.sha256,
        &meta.filename,
        "backlog attachment",
        id,
    )
    .await
}

/// Remove a file from its item; the item's history and the audit log keep the record.
#[utoipa::path(delete, path = "/api/v1/backlog/attachments/{id}", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, body = ItemAttachment), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_attachment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ItemAttachment>> {
    Ok(Json(
        ItemFiles::new(state.store.as_ref())
            .delete(&caller.actor(), id)
            .await?,
    ))
}

/// Your saved filters and the shared ones, by name.
#[utoipa::path(get, path = "/api/v1/backlog/filters", tag = "backlog",
    responses((status = 200, body = Vec<SavedFilter>), (status = 401, body = ErrorBody)))]
pub async fn filters(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<SavedFilter>>> {
    Ok(Json(
        SavedFilters::new(state.store.as_ref())
            .visible(Some(caller.user.id))
            .await?,
    ))
}

/// Save a list filter under a name, private or (operators and admins) shared. Saving
/// again under one of your names replaces that filter. Apply it with
/// `GET /api/v1/backlog/items?filter=NAME`.
#[utoipa::path(post, path = "/api/v1/backlog/filters", tag = "backlog", request_body = SavedFilterInput,
    responses((status = 201, body = SavedFilter), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_filter(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<SavedFilterInput>,
) -> ApiResult<(StatusCode, Json<SavedFilter>)> {
    Ok((
        StatusCode::CREATED,
        Json(run_save_filter(&state, &caller, &input).await?),
    ))
}

/// Save a filter for the caller; sharing needs the operator role.
pub async fn run_save_filter(
    state: &AppState,
    caller: &Principal,
    input: &SavedFilterInput,
) -> ApiResult<SavedFilter> {
    if input.shared && !caller.role().allows(Role::Operator) {
        return Err(ApiError::forbidden(
            "sharing a filter needs the operator role; save it as private",
        ));
    }
    Ok(SavedFilters::new(state.store.as_ref())
        .save(&caller.actor(), Some(caller.user.id), input)
        .await?)
}

/// Delete a saved filter: your own, or any as an administrator (a shared filter saved
/// from the CLI: operators and administrators).
#[utoipa::path(delete, path = "/api/v1/backlog/filters/{id}", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, body = SavedFilter), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_filter(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SavedFilter>> {
    Ok(Json(run_delete_filter(&state, &caller, id).await?))
}

pub async fn run_delete_filter(
    state: &AppState,
    caller: &Principal,
    id: i64,
) -> ApiResult<SavedFilter> {
    let filters = SavedFilters::new(state.store.as_ref());
    let found = filters.get(id).await?;
    let allowed = match found.owner_user_id {
        Some(owner) => owner == caller.user.id || caller.role() == Role::Admin,
        None => caller.role().allows(Role::Operator),
    };
    if !allowed {
        // Someone else's private filter is not even there for the caller.
        return Err(if found.shared {
            ApiError::forbidden("only its owner or an administrator may delete this filter")
        } else {
            ApiError::not_found("saved filter")
        });
    }
    Ok(filters.delete(&caller.actor(), id).await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Days without an update before an open item is stale (default 14).
    #[param(minimum = 1, maximum = 3650)]
    pub stale_days: Option<i64>,
    /// How many of the oldest and of the highest-priority items to list (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub top: Option<usize>,
}

/// Check the review list's parameters.
pub fn review_params(q: &ReviewQuery) -> ApiResult<(i64, usize)> {
    let stale_days = q.stale_days.unwrap_or(14);
    let top = q.top.unwrap_or(10);
    if !(1..=3650).contains(&stale_days) {
        return Err(ApiError::bad_request("stale_days must be 1-3650"));
    }
    if !(1..=100).contains(&top) {
        return Err(ApiError::bad_request("top must be 1-100"));
    }
    Ok((stale_days, top))
}

/// The backlog review list: open items that are stale, unowned, among the oldest or among
/// the highest priority, each with its reasons.
#[utoipa::path(get, path = "/api/v1/backlog/review", tag = "backlog", params(ReviewQuery),
    responses((status = 200, body = ReviewList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> ApiResult<Json<ReviewList>> {
    let (stale_days, top) = review_params(&q)?;
    let items = state.backlog.all_items().await?;
    Ok(Json(review_list(&items, Utc::now(), stale_days, top)))
}

/// Apply review decisions (keep, close, reprioritise, merge) to the items and record them
/// as evidence on the review activity's open occurrence. Every decision is checked first:
/// one bad decision (422) changes nothing. Without a review activity (the
/// `backlog-review` template) the answer is 409 `no_review_activity`.
#[utoipa::path(post, path = "/api/v1/backlog/review", tag = "backlog", request_body = Decisions,
    responses((status = 200, body = ReviewOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn apply_review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<Decisions>,
) -> ApiResult<Json<ReviewOutcome>> {
    Ok(Json(
        apply_decisions(
            &state.backlog,
            &state.ops,
            &caller.actor(),
            &req,
            Utc::now(),
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    /// Weeks to chart, up to this one (default 12).
    #[param(minimum = 1, maximum = 104)]
    pub weeks: Option<usize>,
}

/// Compute the charts' data over `weeks` weeks.
pub async fn chart_data(state: &AppState, weeks: usize) -> ApiResult<Charts> {
    if !(1..=104).contains(&weeks) {
        return Err(ApiError::bad_request("weeks must be 1-104"));
    }
    let now = Utc::now();
    let items = state.backlog.all_items().await?;
    let moves = state_moves(state.store.as_ref()).await?;
    let resolved: Vec<_> = items
        .iter()
        .filter(|i| i.resolved_at.is_some())
        .cloned()
        .collect();
    let policy = state.backlog.compiled_sla_policy().await?;
    let sla = state.backlog.sla_reports(&policy, &resolved, now).await?;
    Ok(charts(&items, &moves, &sla, now, weeks))
}

/// Per week: items by state (cumulative flow) and open (backlog size), items resolved
/// (throughput), and the share resolved within the SLA target; open items by age now.
#[utoipa::path(get, path = "/api/v1/backlog/charts", tag = "backlog", params(ChartQuery),
    responses((status = 200, body = Charts), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn chart(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ChartQuery>,
) -> ApiResult<Json<Charts>> {
    Ok(Json(chart_data(&state, q.weeks.unwrap_or(12)).await?))
}
