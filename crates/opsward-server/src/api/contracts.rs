//! Supplier contracts: the register, renewal decisions and documents.

use super::Caller;
use crate::{
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
use opsward_core::page::{Page, PageRequest};
use opsward_suppliers::{
    store::NewDocument, Contract, ContractDocument, ContractFilter, ContractInput, Decision,
    DecisionInput, Renewal,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractQuery {
    /// Supplier id.
    pub supplier: Option<i64>,
    /// Only contracts whose current term ends within this many days from today.
    #[param(minimum = 0, maximum = 3660)]
    pub expiring_within_days: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List contracts, oldest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/contracts", tag = "suppliers", params(ContractQuery),
    responses((status = 200, body = Page<Contract>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ContractQuery>,
) -> ApiResult<Json<Page<Contract>>> {
    let page =
        PageRequest::from_params(q.limit, q.cursor.as_deref()).map_err(ApiError::bad_request)?;
    let mut filter = match q.expiring_within_days {
        Some(days) if !(0..=3660).contains(&days) => {
            return Err(ApiError::bad_request("expiring_within_days must be 0-3660"))
        }
        Some(days) => ContractFilter::expiring_within(Utc::now().date_naive(), days),
        None => ContractFilter::default(),
    };
    filter.supplier_id = q.supplier;
    Ok(Json(state.suppliers.list_contracts(&filter, page).await?))
}

/// Register a contract. Its notice deadline is the end date minus the notice period
/// (months counted in calendar months, clamped to the month's end).
#[utoipa::path(post, path = "/api/v1/contracts", tag = "suppliers", request_body = ContractInput,
    responses((status = 201, body = Contract), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<ContractInput>,
) -> ApiResult<(StatusCode, Json<Contract>)> {
    let contract = state
        .suppliers
        .create_contract(&caller.actor(), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(contract)))
}

/// A contract with its renewal decisions, renewals and documents.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractDetail {
    pub contract: Contract,
    pub decisions: Vec<Decision>,
    pub renewals: Vec<Renewal>,
    pub documents: Vec<ContractDocument>,
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "suppliers", params(("id" = i64, Path)),
    responses((status = 200, body = ContractDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ContractDetail>> {
    Ok(Json(ContractDetail {
        contract: state.suppliers.get_contract(id).await?,
        decisions: state.suppliers.decisions(id).await?,
        renewals: state.suppliers.renewals(id).await?,
        documents: state.suppliers.documents(id).await?,
    }))
}

/// Replace a contract. A different end date starts a new term.
#[utoipa::path(put, path = "/api/v1/contracts/{id}", tag = "suppliers", params(("id" = i64, Path)), request_body = ContractInput,
    responses((status = 200, body = Contract), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ContractInput>,
) -> ApiResult<Json<Contract>> {
    Ok(Json(
        state
            .suppliers
            .update_contract(&caller.actor(), id, &input)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/contracts/{id}", tag = "suppliers", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.suppliers.delete_contract(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The decision and the contract after it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Decided {
    pub decision: Decision,
    pub contract: Contract,
}

/// Record a renewal decision (`renew`, `terminate`, `renegotiate`) for the current term.
/// Renewing an express contract starts its next term; terminating an automatic one stops
/// the tacit renewal; a decision ends the notice reminders for the term.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/decisions", tag = "suppliers", params(("id" = i64, Path)), request_body = DecisionInput,
    responses((status = 201, body = Decided), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> ApiResult<(StatusCode, Json<Decided>)> {
    let (decision, contract) = state.suppliers.decide(&caller.actor(), id, &input).await?;
    Ok((StatusCode::CREATED, Json(Decided { decision, contract })))
}

/// A document upload: one or more `file` parts.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the multipart form for OpenAPI
pub struct DocumentForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Attach documents (the signed contract, amendments) to a contract. Files are kept by
/// SHA-256 with the evidence attachments and limited to the same size.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/documents", tag = "suppliers", params(("id" = i64, Path)),
    request_body(content = DocumentForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<ContractDocument>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Vec<ContractDocument>>)> {
    let stored = store_documents(&state, &caller, id, req).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Store every file of a multipart request as a document of contract `id` (the API and the
/// supplier page's upload form both come here).
pub async fn store_documents(
    state: &AppState,
    caller: &crate::auth::Principal,
    id: i64,
    req: Request,
) -> ApiResult<Vec<ContractDocument>> {
    // Checked first, so files for a contract that does not exist are never stored.
    state.suppliers.get_contract(id).await?;
    let actor = caller.actor();
    super::files::store_each_file(state, req, "contract document", |file| {
        let actor = &actor;
        async move {
            let doc = NewDocument {
                filename: file.filename,
                content_type: file.content_type,
                size_bytes: file.size_bytes,
                sha256: file.sha256,
            };
            Ok(state.suppliers.add_document(actor, id, &doc).await?)
        }
    })
    .await
}

/// Download a contract document; served as an attachment, never rendered inline.
#[utoipa::path(get, path = "/api/v1/contracts/documents/{id}", tag = "suppliers", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn document(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let meta = state.suppliers.get_document(id).await?;
    super::files::download(&state, meta.sha256, &meta.filename, "contract document", id).await
}
