//! Vulnerability findings: list with filters, one finding with its vulnerability's other
//! affected assets, lifecycle transitions, and the threat-intelligence import runs.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, Json};
use opsward_vulns::findings::{
    Finding, FindingFilter, FindingKind, FindingState, ImportRun, Transition,
};
use opsward_vulns::Severity;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// Asset id.
    pub asset: Option<i64>,
    /// package, exposure, tls, posture or stale_host.
    pub kind: Option<FindingKind>,
    pub state: Option<FindingState>,
    pub severity: Option<Severity>,
    /// Only findings in CISA's Known Exploited Vulnerabilities catalog.
    pub kev: Option<bool>,
    /// Only open or acknowledged findings past their due date.
    pub overdue: Option<bool>,
    /// A vulnerability id (the displayed one).
    pub vulnerability: Option<String>,
}

impl FindingQuery {
    pub fn filter(&self) -> FindingFilter {
        FindingFilter {
            asset_id: self.asset,
            kind: self.kind,
            state: self.state,
            severity: self.severity,
            kev: self.kev.unwrap_or(false),
            overdue: self.overdue.unwrap_or(false),
            vulnerability_id: self.vulnerability.clone(),
        }
    }
}

/// Findings, soonest due first.
#[utoipa::path(get, path = "/api/v1/vulns/findings", tag = "vulnerabilities", params(FindingQuery),
    responses((status = 200, body = Vec<Finding>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult<Json<Vec<Finding>>> {
    Ok(Json(state.vulns.findings(&q.filter()).await?))
}

/// A finding, and every finding of the same vulnerability (the assets it affects).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FindingDetail {
    pub finding: Finding,
    pub same_vulnerability: Vec<Finding>,
}

#[utoipa::path(get, path = "/api/v1/vulns/findings/{id}", tag = "vulnerabilities", params(("id" = i64, Path)),
    responses((status = 200, body = FindingDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<FindingDetail>> {
    let finding = state.vulns.finding(id).await?;
    let filter = FindingFilter {
        vulnerability_id: Some(finding.vulnerability_id.clone()),
        ..Default::default()
    };
    let same_vulnerability = state.vulns.findings(&filter).await?;
    Ok(Json(FindingDetail {
        finding,
        same_vulnerability,
    }))
}

/// Acknowledge, accept the risk (reason, approver, until), mark a false positive, or reopen.
/// Fixed is set by scans, not by hand; a transition the state does not allow is a 409.
#[utoipa::path(post, path = "/api/v1/vulns/findings/{id}/transitions", tag = "vulnerabilities", params(("id" = i64, Path)),
    request_body = Transition,
    responses((status = 200, body = Finding), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transition(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(change): ApiJson<Transition>,
) -> ApiResult<Json<Finding>> {
    Ok(Json(
        state.vulns.transition(&caller.actor(), id, &change).await?,
    ))
}

/// OSV, KEV and EPSS import runs, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/vulns/imports", tag = "vulnerabilities",
    responses((status = 200, body = Vec<ImportRun>), (status = 401, body = ErrorBody)))]
pub async fn imports(State(state): State<AppState>) -> ApiResult<Json<Vec<ImportRun>>> {
    Ok(Json(state.vulns.import_runs(100).await?))
}

/// A feed file upload: which feed (`osv`, `kev` or `epss`) and the file.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the multipart form for OpenAPI
pub struct FeedUploadForm {
    /// `osv` (a record, JSON or YAML, or an osv.dev zip), `kev` (the CISA catalog JSON) or
    /// `epss` (CSV or .csv.gz).
    feed: String,
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Import one feed file, as `opsward vuln import` and the web page do: 201 with the run when
/// it went in; 422 with the run (its problems) when the file was refused, nothing changed;
/// 400 when the form itself is wrong (no file, no or an unknown feed), with the field named.
#[utoipa::path(post, path = "/api/v1/vulns/imports", tag = "vulnerabilities",
    request_body(content = FeedUploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ImportRun), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ImportRun)))]
pub async fn import_file(
    State(state): State<AppState>,
    Caller(caller): Caller,
    req: axum::extract::Request,
) -> ApiResult<(axum::http::StatusCode, Json<ImportRun>)> {
    // 422 answers carry the refused run here (one response schema per status), so a form
    // that names no feed or no file is a 400, its fields still named in the details.
    let malformed_form = |e: ApiError| {
        if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY {
            ApiError {
                status: axum::http::StatusCode::BAD_REQUEST,
                ..e
            }
        } else {
            e
        }
    };
    let upload = crate::ui::advisory_imports::read_feed_upload(&state, req)
        .await
        .map_err(malformed_form)?;
    let run = opsward_vulns::feed_upload::import_upload(
        &state.vulns,
        &caller.actor(),
        upload.kind,
        &upload.filename,
        upload.bytes,
    )
    .await
    .map_err(|e| malformed_form(e.into()))?;
    let status = if run.outcome == "imported" {
        axum::http::StatusCode::CREATED
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(run)))
}
