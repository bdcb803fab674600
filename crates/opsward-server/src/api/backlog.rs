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
    aging::AgingReport,
    sla::{Compliance, SlaPolicy, SlaReport},
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
            e @ BacklogError::VersionConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "version_conflict", e.to_string())
            }
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
    /// A saved filter by name (your own first, then a shared one); the other parameters
    /// narrow or override it.
    pub filter: Option<String>,
}

/// List work items, filtered, oldest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/backlog/items", tag = "backlog", params(ItemQuery),
    responses((status = 200, body = Page<Item>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "no saved filter has the `filter` name", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<ItemQuery>,
) -> ApiResult<Json<Page<Item>>> {
    let page =
        PageRequest::from_params(q.limit, q.cursor.as_deref()).map_err(ApiError::bad_request)?;
    // An empty `filter=` (what a form with no saved filter chosen sends) means none.
    let saved = match q.filter.as_deref().filter(|name| !name.is_empty()) {
        Some(name) => {
            opsward_backlog::filters::SavedFilters::new(state.store.as_ref())
                .named(Some(caller.user.id), name)
                .await?
                .filter
        }
        None => ItemFilter::default(),
    };
    let filter = ItemFilter {
        state: q.state.or(saved.state),
        item_type: q.item_type.or(saved.item_type),
        team_id: q.team.or(saved.team_id),
        assignee_person_id: q.assignee.or(saved.assignee_person_id),
        q: q.q.or(saved.q),
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
    /// Its time-to-own and time-to-resolve clocks; absent when its priority has no target.
    pub sla: Option<SlaReport>,
}

#[utoipa::path(get, path = "/api/v1/backlog/items/{id}", tag = "backlog", params(("id" = i64, Path)),
    responses((status = 200, body = ItemDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ItemDetail>> {
    let item = state.backlog.get_item(id).await?;
    Ok(Json(ItemDetail {
        sla: state.backlog.sla_report(&item, Utc::now()).await?,
        next_states: item.state.next_states(),
        comments: state.backlog.comments(id).await?,
        history: state.backlog.history(id).await?,
        item,
    }))
}

/// Change fields and/or move `state` through the workflow. A move the workflow does not
/// allow is 422 with code `illegal_transition` and the allowed next states in the message.
/// Send the `version` you read: if the item changed since, the answer is 409 with code
/// `version_conflict` and nothing is written.
#[utoipa::path(patch, path = "/api/v1/backlog/items/{id}", tag = "backlog", params(("id" = i64, Path)), request_body = ItemPatch,
    responses((status = 200, body = Item), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    /// At most this many ids in each of `stale` and `unowned`, the oldest first (default
    /// 1000); `stale_total` and `unowned_total` count them all.
    #[param(minimum = 0, maximum = 1000000)]
    pub ids_limit: Option<usize>,
}

/// Open items by age (0-7, 8-30, 31-90, 90+ days), stale items and items without an assignee
/// (their ids oldest first, up to `ids_limit`, and their totals).
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
    let ids_limit = q.ids_limit.unwrap_or(1000);
    if ids_limit > 1_000_000 {
        return Err(ApiError::bad_request("ids_limit must be 0-1000000"));
    }
    Ok(Json(
        state
            .backlog
            .aging_report(Utc::now(), stale_days, ids_limit)
            .await?,
    ))
}

/// The service levels: working calendars (time zone, weekly hours, holidays), per-priority
/// targets in business minutes, and the near-breach share.
#[utoipa::path(get, path = "/api/v1/backlog/sla/policy", tag = "backlog",
    responses((status = 200, body = SlaPolicy), (status = 401, body = ErrorBody)))]
pub async fn sla_policy(State(state): State<AppState>) -> ApiResult<Json<SlaPolicy>> {
    Ok(Json(state.backlog.sla_policy().await?))
}

/// Replace the service levels. Every calendar and target is checked; nothing is stored
/// unless all are valid.
#[utoipa::path(put, path = "/api/v1/backlog/sla/policy", tag = "backlog", request_body = SlaPolicy,
    responses((status = 200, body = SlaPolicy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_sla_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(policy): ApiJson<SlaPolicy>,
) -> ApiResult<Json<SlaPolicy>> {
    Ok(Json(
        state
            .backlog
            .set_sla_policy(&caller.actor(), &policy)
            .await?,
    ))
}

/// An open item whose clock is near breach or breached.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AtRisk {
    pub item: Item,
    pub sla: SlaReport,
}

/// Service-level standing of the whole backlog.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlaOverview {
    /// Resolve clocks: met and missed (stopped), breached and near breach (open).
    pub compliance: Compliance,
    /// Share of resolved items resolved in time, percent.
    pub percent_met: Option<f64>,
    /// Open items near breach or breached, worst first.
    pub at_risk: Vec<AtRisk>,
}

/// Compliance with the resolve targets, and the open items at risk now.
#[utoipa::path(get, path = "/api/v1/backlog/sla", tag = "backlog",
    responses((status = 200, body = SlaOverview), (status = 401, body = ErrorBody)))]
pub async fn sla_overview(State(state): State<AppState>) -> ApiResult<Json<SlaOverview>> {
    let now = Utc::now();
    let policy = state.backlog.compiled_sla_policy().await?;
    let items = state.backlog.all_items().await?;
    let mut reports = state.backlog.sla_reports(&policy, &items, now).await?;
    let mut compliance = Compliance::default();
    reports.values().for_each(|r| compliance.add(r));
    let mut at_risk: Vec<AtRisk> = items
        .into_iter()
        .filter(|i| i.state.is_open())
        .filter_map(|item| {
            let sla = reports.remove(&item.id)?;
            opsward_backlog::sla::at_risk(&sla).then_some(AtRisk { item, sla })
        })
        .collect();
    at_risk.sort_by_key(|a| {
        (
            std::cmp::Reverse(opsward_backlog::sla::severity(&a.sla)),
            a.sla.worst().due_at,
            a.item.id,
        )
    });
    Ok(Json(SlaOverview {
        percent_met: compliance.percent_met(),
        compliance,
        at_risk,
    }))
}

/// What an import file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransferFormat {
    Csv,
    Json,
}

/// A file to import: CSV with a column mapping (defaults to opsward's export columns), or a
/// JSON array of items as `POST /api/v1/backlog/items` takes them.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ImportRequest {
    pub format: TransferFormat,
    /// The file's text.
    pub data: String,
    #[serde(default)]
    pub mapping: Option<opsward_backlog::transfer::ColumnMapping>,
    /// Check only; store nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The outcome: every item imported, or none and every problem with its line.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ImportOutcome {
    /// Items stored (0 on a dry run or when any row was refused).
    pub imported: usize,
    /// Rows that passed the checks.
    pub valid: usize,
    pub ids: Vec<i64>,
    pub errors: Vec<opsward_backlog::transfer::RowError>,
}

/// A 422 from the import: rows refused (with their lines), or a request that is not an
/// import request at all.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ImportRefusal {
    Rows(ImportOutcome),
    Request(ErrorBody),
}

/// Check and import, shared by the API and the CLI's logic. Nothing is stored unless every
/// row is good.
pub async fn run_import(
    backlog: &opsward_backlog::BacklogStore,
    actor: &opsward_core::Actor,
    req: &ImportRequest,
) -> Result<ImportOutcome, opsward_store::StoreError> {
    use opsward_backlog::transfer::{read_csv_lines, read_json, RowError};
    let rows = match req.format {
        TransferFormat::Csv => read_csv_lines(&req.data, &req.mapping.clone().unwrap_or_default()),
        TransferFormat::Json => read_json(&req.data)
            .map(|items| items.into_iter().zip(1u64..).map(|(i, n)| (n, i)).collect()),
    };
    let rows = match rows {
        Ok(r) => r,
        Err(errors) => {
            return Ok(ImportOutcome {
                imported: 0,
                valid: 0,
                ids: Vec::new(),
                errors,
            })
        }
    };
    let valid = rows.len();
    if req.dry_run {
        return Ok(ImportOutcome {
            imported: 0,
            valid,
            ids: Vec::new(),
            errors: Vec::new(),
        });
    }
    let inputs: Vec<ItemInput> = rows.iter().map(|(_, i)| i.clone()).collect();
    match backlog.import_items(actor, &inputs).await {
        Ok(items) => Ok(ImportOutcome {
            imported: items.len(),
            valid,
            ids: items.iter().map(|i| i.id).collect(),
            errors: Vec::new(),
        }),
        // A row that passed the file checks but not the store's (an unknown team).
        Err((i, opsward_store::StoreError::Invalid(v))) => Ok(ImportOutcome {
            imported: 0,
            valid,
            ids: Vec::new(),
            errors: v
                .errors
                .into_iter()
                .map(|e| RowError {
                    line: rows.get(i).map_or(0, |r| r.0),
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        }),
        Err((_, e)) => Err(e),
    }
}

/// Import items from CSV (GLPI, Jira and other exports, through a column mapping) or JSON.
/// All rows or none: 201 with the new ids, or 422 with every problem and its line.
#[utoipa::path(post, path = "/api/v1/backlog/import", tag = "backlog", request_body = ImportRequest,
    responses((status = 201, body = ImportOutcome), (status = 200, body = ImportOutcome, description = "dry run"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ImportRefusal)))]
pub async fn import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<ImportRequest>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let outcome = run_import(&state.backlog, &caller.actor(), &req).await?;
    let status = if !outcome.errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if req.dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(outcome)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `json`.
    pub format: Option<TransferFormat>,
}

/// Every item, as CSV (importable again with the default mapping) or as a JSON array.
#[utoipa::path(get, path = "/api/v1/backlog/export", tag = "backlog", params(ExportQuery),
    responses((status = 200, description = "CSV by default, a JSON array with `format=json`",
            content((String = "text/csv"), (Vec<Item> = "application/json"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::{http::header, response::IntoResponse};
    let items = state.backlog.all_items().await?;
    Ok(match q.format.unwrap_or(TransferFormat::Csv) {
        TransferFormat::Json => Json(items).into_response(),
        TransferFormat::Csv => {
            let csv = opsward_backlog::transfer::write_csv(&items).map_err(|e| {
                tracing::error!(error = %e, "CSV export failed");
                ApiError::internal()
            })?;
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"backlog.csv\"",
                    ),
                ],
                csv,
            )
                .into_response()
        }
    })
}

/// One change for many items.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct BulkEdit {
    /// 1-500 items.
    pub ids: Vec<i64>,
    /// Applied to each item; its `version` is ignored.
    pub patch: ItemPatch,
    /// The version of each item the change is based on, in the order of `ids`. When any
    /// item changed since, nothing changes and the answer is 409 `version_conflict`.
    #[serde(default)]
    pub versions: Option<Vec<i64>>,
}

/// Run a bulk edit (the API and the list page's bulk form both come here).
pub async fn run_bulk_edit(
    state: &AppState,
    caller: &crate::auth::Principal,
    req: &BulkEdit,
) -> ApiResult<Vec<Item>> {
    if req.ids.is_empty() || req.ids.len() > 500 {
        return Err(ApiError::bad_request("ids must list 1-500 items"));
    }
    let items: Vec<(i64, Option<i64>)> = match &req.versions {
        None => req.ids.iter().map(|id| (*id, None)).collect(),
        Some(v) if v.len() == req.ids.len() => req
            .ids
            .iter()
            .zip(v)
            .map(|(id, v)| (*id, Some(*v)))
            .collect(),
        Some(_) => {
            return Err(ApiError::bad_request(
                "versions must list one version per id, in the same order",
            ))
        }
    };
    state
        .backlog
        .bulk_update_versions(&caller.actor(), &items, &req.patch)
        .await
        .map_err(|(id, e)| {
            let mut e = ApiError::from(e);
            e.message = format!("item {id}: {}; nothing was changed", e.message);
            e
        })
}

/// Apply one change (state, priority inputs, team, assignee, tags, ...) to many items in one
/// transaction: every item changes or none does; a refusal names the item.
#[utoipa::path(post, path = "/api/v1/backlog/items/bulk", tag = "backlog", request_body = BulkEdit,
    responses((status = 200, body = Vec<Item>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bulk_edit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<BulkEdit>,
) -> ApiResult<Json<Vec<Item>>> {
    Ok(Json(run_bulk_edit(&state, &caller, &req).await?))
}
