//! Rings, approvals and installation runs: operators define rings and approve patch sets;
//! agents ask what to install and report each run as evidence.

use super::{patches::HOST_HEADER, Caller};
use crate::{
    auth::secret,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    Json,
};
use opsward_patches::{
    install::InstallRun,
    reboot::RebootPolicy,
    store::rollout::{Approval, Instructions, Ring, RingInput, RunRecord},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The enrolled host a request comes from, by its credential.
async fn calling_host(state: &AppState, headers: &HeaderMap) -> ApiResult<i64> {
    let credential = headers
        .get(HOST_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(ApiError::unauthenticated)?;
    Ok(state
        .patches
        .authenticate_host(&secret::hash_secret(credential))
        .await?
        .ok_or_else(ApiError::unauthenticated)?
        .id)
}

#[utoipa::path(get, path = "/api/v1/patches/rings", tag = "patches",
    responses((status = 200, body = Vec<Ring>), (status = 401, body = ErrorBody)))]
pub async fn rings(State(state): State<AppState>) -> ApiResult<Json<Vec<Ring>>> {
    Ok(Json(state.patches.list_rings().await?))
}

#[utoipa::path(post, path = "/api/v1/patches/rings", tag = "patches", request_body = RingInput,
    responses((status = 201, body = Ring), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_ring(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<RingInput>,
) -> ApiResult<(StatusCode, Json<Ring>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.patches.create_ring(&caller.actor(), &input).await?),
    ))
}

/// Change a ring's name, order, window or soak time.
#[utoipa::path(put, path = "/api/v1/patches/rings/{id}", tag = "patches", params(("id" = i64, Path)), request_body = RingInput,
    responses((status = 200, body = Ring), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_ring(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RingInput>,
) -> ApiResult<Json<Ring>> {
    Ok(Json(
        state
            .patches
            .update_ring(&caller.actor(), id, &input)
            .await?,
    ))
}

/// Delete a ring that has no approvals (approvals and their runs are evidence: 409); its
/// hosts are left in no ring.
#[utoipa::path(delete, path = "/api/v1/patches/rings/{id}", tag = "patches", params(("id" = i64, Path)),
    responses((status = 200, body = Ring), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_ring(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Ring>> {
    Ok(Json(state.patches.delete_ring(&caller.actor(), id).await?))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RingAssignment {
    /// `null` takes the host out of every ring.
    pub ring_id: Option<i64>,
}

/// Put a host in a ring.
#[utoipa::path(put, path = "/api/v1/patches/hosts/{id}/ring", tag = "patches", params(("id" = i64, Path)), request_body = RingAssignment,
    responses((status = 200, body = RingAssignment), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign_ring(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RingAssignment>,
) -> ApiResult<Json<RingAssignment>> {
    state
        .patches
        .assign_ring(&caller.actor(), id, input.ring_id)
        .await?;
    Ok(Json(input))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApproveInput {
    pub ring_id: i64,
    /// Package names to upgrade.
    pub packages: Vec<String>,
    /// Whether the ring's hosts may reboot after installing this set; absent or `null`:
    /// the ring's policy.
    #[serde(default)]
    pub reboot_policy: Option<RebootPolicy>,
}

#[utoipa::path(get, path = "/api/v1/patches/approvals", tag = "patches",
    responses((status = 200, body = Vec<Approval>), (status = 401, body = ErrorBody)))]
pub async fn approvals(State(state): State<AppState>) -> ApiResult<Json<Vec<Approval>>> {
    Ok(Json(state.patches.list_approvals().await?))
}

/// Approve a patch set for a ring; its hosts install it in their window, and it is promoted
/// to the next ring after every host succeeded and the soak passed.
#[utoipa::path(post, path = "/api/v1/patches/approvals", tag = "patches", request_body = ApproveInput,
    responses((status = 201, body = Approval), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<ApproveInput>,
) -> ApiResult<(StatusCode, Json<Approval>)> {
    let approval = state
        .patches
        .approve(
            &caller.actor(),
            input.ring_id,
            &input.packages,
            input.reboot_policy,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(approval)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Runs of this approval.
    pub approval: Option<i64>,
}

/// Installation runs (the evidence), newest first.
#[utoipa::path(get, path = "/api/v1/patches/runs", tag = "patches", params(RunQuery),
    responses((status = 200, body = Vec<RunRecord>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn runs(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<Json<Vec<RunRecord>>> {
    Ok(Json(state.patches.runs(q.approval).await?))
}

/// An agent asks for its ring's window and the approvals it has still to install.
#[utoipa::path(get, path = "/api/v1/patches/agent/instructions", tag = "patches", security(()),
    params(("X-Opsward-Host" = String, Header, description = "The host credential from enrollment")),
    responses((status = 200, body = Instructions), (status = 401, body = ErrorBody)))]
pub async fn instructions(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Instructions>> {
    let host = calling_host(&state, &headers).await?;
    Ok(Json(
        state.patches.instructions(host, chrono::Utc::now()).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = PatchRunReport)]
pub struct RunReport {
    pub approval_id: i64,
    pub run: InstallRun,
}

/// An agent reports one installation run.
#[utoipa::path(post, path = "/api/v1/patches/agent/runs", tag = "patches", request_body = RunReport, security(()),
    params(("X-Opsward-Host" = String, Header, description = "The host credential from enrollment")),
    responses((status = 201, body = RunRecord), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<RunReport>,
) -> ApiResult<(StatusCode, Json<RunRecord>)> {
    let host = calling_host(&state, &headers).await?;
    let record = state
        .patches
        .record_run(host, input.approval_id, &input.run)
        .await?;
    if let Some(event) = opsward_patches::alerts::install_failed_event(&record) {
        // The run is stored either way; a notification that cannot be queued is logged.
        if let Err(e) = state.notifier.emit(&event, chrono::Utc::now()).await {
            tracing::error!(error = %e, run = record.id, "cannot queue patch.install_failed");
        }
    }
    Ok((StatusCode::CREATED, Json(record)))
}
