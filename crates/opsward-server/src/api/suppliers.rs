//! The supplier register and its links to backlog items.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use opsward_core::{
    asset::Criticality,
    page::{Page, PageRequest},
};
use opsward_suppliers::{
    BacklogLink, Contract, ContractFilter, LinkInput, LinkRelation, Review, Supplier,
    SupplierFilter, SupplierInput,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most contracts and reviews shown with a supplier; the lists have their own paging.
const DETAIL_LIMIT: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SupplierQuery {
    pub criticality: Option<Criticality>,
    /// Exact category, case-insensitive.
    pub category: Option<String>,
    /// Owning team id.
    pub team: Option<i64>,
    /// Owning person id.
    pub person: Option<i64>,
    /// Part of the name, case-insensitive.
    pub q: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List suppliers, filtered, oldest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/suppliers", tag = "suppliers", params(SupplierQuery),
    responses((status = 200, body = Page<Supplier>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SupplierQuery>,
) -> ApiResult<Json<Page<Supplier>>> {
    let page =
        PageRequest::from_params(q.limit, q.cursor.as_deref()).map_err(ApiError::bad_request)?;
    let filter = SupplierFilter {
        criticality: q.criticality,
        category: q.category.filter(|c| !c.trim().is_empty()),
        owner_team_id: q.team,
        owner_person_id: q.person,
        q: q.q.filter(|q| !q.trim().is_empty()),
    };
    Ok(Json(state.suppliers.list_suppliers(&filter, page).await?))
}

/// Register a supplier. Its reviews are scheduled on the calendar by criticality
/// (critical quarterly, high half-yearly, others yearly).
#[utoipa::path(post, path = "/api/v1/suppliers", tag = "suppliers", request_body = SupplierInput,
    responses((status = 201, body = Supplier), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<SupplierInput>,
) -> ApiResult<(StatusCode, Json<Supplier>)> {
    let supplier = state
        .suppliers
        .create_supplier(&caller.actor(), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(supplier)))
}

/// A supplier with its contracts, reviews (oldest first: the scorecard trend) and linked
/// backlog items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SupplierDetail {
    pub supplier: Supplier,
    pub contracts: Vec<Contract>,
    pub reviews: Vec<Review>,
    pub backlog_links: Vec<BacklogLink>,
}

pub async fn detail_of(state: &AppState, id: i64) -> Result<SupplierDetail, ApiError> {
    let supplier = state.suppliers.get_supplier(id).await?;
    let filter = ContractFilter {
        supplier_id: Some(id),
        ..ContractFilter::default()
    };
    Ok(SupplierDetail {
        contracts: state
            .suppliers
            .list_contracts(&filter, PageRequest::first(DETAIL_LIMIT))
            .await?
            .items,
        reviews: state.suppliers.review_history(id).await?,
        backlog_links: state.suppliers.linked_items(id).await?,
        supplier,
    })
}

#[utoipa::path(get, path = "/api/v1/suppliers/{id}", tag = "suppliers", params(("id" = i64, Path)),
    responses((status = 200, body = SupplierDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SupplierDetail>> {
    Ok(Json(detail_of(&state, id).await?))
}

/// Replace a supplier's fields; its review schedule follows its criticality.
#[utoipa::path(put, path = "/api/v1/suppliers/{id}", tag = "suppliers", params(("id" = i64, Path)), request_body = SupplierInput,
    responses((status = 200, body = Supplier), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SupplierInput>,
) -> ApiResult<Json<Supplier>> {
    Ok(Json(
        state
            .suppliers
            .update_supplier(&caller.actor(), id, &input)
            .await?,
    ))
}

/// Remove a supplier with its contracts and reviews; the evidence of past reviews stays.
#[utoipa::path(delete, path = "/api/v1/suppliers/{id}", tag = "suppliers", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.suppliers.delete_supplier(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Link a backlog item to the supplier: `caused_by` (the supplier caused it) or
/// `waiting_on` (it waits on the supplier). Linking twice changes nothing.
#[utoipa::path(post, path = "/api/v1/suppliers/{id}/links", tag = "suppliers", params(("id" = i64, Path)), request_body = LinkInput,
    responses((status = 200, body = Vec<BacklogLink>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LinkInput>,
) -> ApiResult<Json<Vec<BacklogLink>>> {
    state
        .suppliers
        .link_item(&caller.actor(), id, &input)
        .await?;
    Ok(Json(state.suppliers.linked_items(id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnlinkQuery {
    pub item_id: i64,
    pub relation: LinkRelation,
}

#[utoipa::path(delete, path = "/api/v1/suppliers/{id}/links", tag = "suppliers", params(("id" = i64, Path), UnlinkQuery),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlink(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<UnlinkQuery>,
) -> ApiResult<StatusCode> {
    let link = LinkInput {
        item_id: q.item_id,
        relation: q.relation,
    };
    state
        .suppliers
        .unlink_item(&caller.actor(), id, &link)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
