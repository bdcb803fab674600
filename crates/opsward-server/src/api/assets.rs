use super::Caller;
use crate::overview::AssetOverview;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use opsward_core::{
    asset::{Asset, AssetFilter, AssetInput, AssetKind, Criticality},
    asset_csv::{parse_assets_csv, write_assets_csv},
    page::{Page, PageRequest},
};
use opsward_store::ImportReport;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssetQuery {
    /// Case-insensitive text in the name or description.
    pub q: Option<String>,
    pub kind: Option<AssetKind>,
    pub environment: Option<String>,
    pub criticality: Option<Criticality>,
    pub tag: Option<String>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl AssetQuery {
    pub fn filter(&self) -> AssetFilter {
        AssetFilter {
            q: self.q.clone(),
            kind: self.kind,
            environment: self.environment.clone(),
            criticality: self.criticality,
            tag: self.tag.clone(),
            owner_team_id: self.owner_team_id,
            owner_person_id: self.owner_person_id,
        }
    }
}

/// List assets, filtered, one page at a time.
#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(AssetQuery),
    responses((status = 200, body = Page<Asset>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AssetQuery>,
) -> ApiResult<Json<Page<Asset>>> {
    let page = PageRequest::from_params(query.limit, query.cursor.as_deref())
        .map_err(ApiError::bad_request)?;
    Ok(Json(state.store.list_assets(&query.filter(), page).await?))
}

/// Register an asset.
#[utoipa::path(post, path = "/api/v1/assets", tag = "assets", request_body = AssetInput,
    responses((status = 201, body = Asset), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<AssetInput>,
) -> ApiResult<(StatusCode, Json<Asset>)> {
    let asset = state.store.create_asset(&caller.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(asset)))
}

#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = i64, Path)),
    responses((status = 200, body = Asset), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Asset>> {
    Ok(Json(state.store.get_asset(id).await?))
}

/// The whole view of one asset: owner, the conditions about it across practices, and each
/// practice's section (certificates, endpoints, findings, patch state, resilience measures,
/// backlog items, suppliers) plus its calendar activities and latest evidence.
#[utoipa::path(get, path = "/api/v1/assets/{id}/overview", tag = "assets", params(("id" = i64, Path)),
    responses((status = 200, body = AssetOverview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn overview(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AssetOverview>> {
    Ok(Json(crate::overview::load(&state, id).await?))
}

/// Replace an asset's fields.
#[utoipa::path(put, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = i64, Path)), request_body = AssetInput,
    responses((status = 200, body = Asset), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AssetInput>,
) -> ApiResult<Json<Asset>> {
    Ok(Json(
        state
            .store
            .update_asset(&caller.actor(), id, &input)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.store.delete_asset(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Import nothing unless every row is good.
    #[serde(default)]
    pub strict: bool,
}

/// Import assets from CSV (`name,kind,environment,criticality,owner,tags,description`).
///
/// Rows are matched to existing assets by name. Without `strict`, good rows are imported and
/// bad rows reported with their line numbers (200); with `strict`, any bad row means nothing
/// is imported (422). The whole import is one transaction.
#[utoipa::path(post, path = "/api/v1/assets/import", tag = "assets", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ImportReport)))]
pub async fn import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let report = import_csv(&state, &caller.actor(), &body, query.strict).await?;
    let status = if report.committed {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

/// Shared by the API and the UI form.
pub async fn import_csv(
    state: &AppState,
    actor: &opsward_core::Actor,
    csv: &[u8],
    strict: bool,
) -> ApiResult<ImportReport> {
    let rows = parse_assets_csv(csv).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for row in rows {
        match row {
            Ok(r) => good.push(r),
            Err(e) => bad.push(e),
        }
    }
    let report = state
        .store
        .import_assets(actor, &good, &bad, strict)
        .await?;
    tracing::info!(
        created = report.created,
        updated = report.updated,
        rejected = report.errors.len(),
        committed = report.committed,
        "asset import"
    );
    Ok(report)
}

/// Export every asset as CSV in the import format.
#[utoipa::path(get, path = "/api/v1/assets/export", tag = "assets",
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody)))]
pub async fn export(State(state): State<AppState>) -> ApiResult<Response> {
    let assets = state.store.export_assets().await?;
    let mut out = Vec::new();
    write_assets_csv(&mut out, &assets).map_err(|e| {
        tracing::error!(error = %e, "CSV export failed");
        ApiError::internal()
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"assets.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
