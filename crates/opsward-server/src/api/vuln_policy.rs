//! The vulnerabilities practice's policy: settings (exposure scans, posture policy, feeds),
//! allowed-ports policies per asset and tag, what each asset's exposure scan covers, exposure
//! scans recorded by `opsward vuln exposure --server`, and the runs of scheduled checks.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use opsward_core::ValidationError;
use opsward_vulns::exposure_findings::{
    record_report, targets, ExposureFindingError, ExposureOutcome, ExposureReport, ExposureTarget,
};
use opsward_vulns::policy::{DuePolicy, DuePolicyChange};
use opsward_vulns::policy_store::CheckRun;
use opsward_vulns::settings::{PortPolicy, PortPolicyInput, VulnSettings};
use serde::Deserialize;
use utoipa::IntoParams;

#[utoipa::path(get, path = "/api/v1/vulns/settings", tag = "vulnerabilities",
    responses((status = 200, body = VulnSettings), (status = 401, body = ErrorBody)))]
pub async fn settings(State(state): State<AppState>) -> ApiResult<Json<VulnSettings>> {
    Ok(Json(state.vulns.settings().await?))
}

/// Exposure scans (interval, default allowed ports, ports scanned, limits), the posture
/// policy with per-tag overrides and the stale-host threshold, the feeds re-imported on
/// schedule, and the due-date policy (`due`). The whole document is replaced; omitted fields
/// take their defaults. A changed due-date policy reschedules every finding not fixed.
#[utoipa::path(put, path = "/api/v1/vulns/settings", tag = "vulnerabilities", request_body = VulnSettings,
    responses((status = 200, body = VulnSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<VulnSettings>,
) -> ApiResult<Json<VulnSettings>> {
    Ok(Json(
        state.vulns.set_settings(&caller.actor(), &input).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/vulns/due-policy", tag = "vulnerabilities",
    responses((status = 200, body = DuePolicy), (status = 401, body = ErrorBody)))]
pub async fn due_policy(State(state): State<AppState>) -> ApiResult<Json<DuePolicy>> {
    Ok(Json(state.vulns.due_policy().await?))
}

/// Replaces the due-date policy only (days per severity, EPSS threshold, the KEV rule; omitted
/// fields take their defaults) and gives every finding that is not fixed the due date it sets,
/// counted from the day the finding was first seen or came back. Fixed findings keep theirs.
/// Each rescheduled finding is an audit row (`reschedule`).
#[utoipa::path(put, path = "/api/v1/vulns/due-policy", tag = "vulnerabilities", request_body = DuePolicy,
    responses((status = 200, body = DuePolicyChange), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_due_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<DuePolicy>,
) -> ApiResult<Json<DuePolicyChange>> {
    Ok(Json(
        state.vulns.set_due_policy(&caller.actor(), &input).await?,
    ))
}

/// Every allowed-ports policy: assets' first, then tags'.
#[utoipa::path(get, path = "/api/v1/vulns/port-policies", tag = "vulnerabilities",
    responses((status = 200, body = Vec<PortPolicy>), (status = 401, body = ErrorBody)))]
pub async fn policies(State(state): State<AppState>) -> ApiResult<Json<Vec<PortPolicy>>> {
    Ok(Json(state.vulns.port_policies().await?))
}

/// Sets the allowed ports of an asset (`asset_id`) or of every asset with a tag (`tag`),
/// replacing its policy if it has one. An asset's own policy wins over its tags'.
#[utoipa::path(put, path = "/api/v1/vulns/port-policies", tag = "vulnerabilities", request_body = PortPolicyInput,
    responses((status = 200, body = PortPolicy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn set_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<PortPolicyInput>,
) -> ApiResult<Json<PortPolicy>> {
    Ok(Json(
        state.vulns.set_port_policy(&caller.actor(), &input).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/vulns/port-policies/{id}", tag = "vulnerabilities", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.vulns.delete_port_policy(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TargetQuery {
    /// One asset (by id), whatever its policy; else every asset the scheduled scan covers.
    pub asset: Option<i64>,
    /// One asset by name (instead of `asset`).
    pub name: Option<String>,
}

/// What exposure scans cover: each asset's address, ports scanned and ports allowed.
#[utoipa::path(get, path = "/api/v1/vulns/exposure/targets", tag = "vulnerabilities", params(TargetQuery),
    responses((status = 200, body = Vec<ExposureTarget>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn exposure_targets(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<TargetQuery>,
) -> ApiResult<Json<Vec<ExposureTarget>>> {
    let asset = match (&q.name, q.asset) {
        (Some(name), _) => Some(state.store.get_asset_by_name(name).await?.id),
        (None, id) => id,
    };
    Ok(Json(
        targets(&state.vulns, state.store.as_ref(), asset).await?,
    ))
}

/// Records a scan of an asset made elsewhere (`opsward vuln exposure <asset> --server`):
/// judged against the asset's stored policy, exposures open or reopen, and exposures on
/// scanned ports that are closed or allowed now are fixed.
#[utoipa::path(post, path = "/api/v1/vulns/assets/{id}/exposure", tag = "vulnerabilities", params(("id" = i64, Path)),
    request_body = ExposureReport,
    responses((status = 200, body = ExposureOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn record_exposure(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(report): ApiJson<ExposureReport>,
) -> ApiResult<Json<ExposureOutcome>> {
    match record_report(
        &state.vulns,
        state.store.as_ref(),
        &caller.actor(),
        id,
        &report,
    )
    .await
    {
        Ok(outcome) => Ok(Json(outcome)),
        Err(ExposureFindingError::Store(e)) => Err(e.into()),
        Err(ExposureFindingError::Report(message)) => {
            Err(ApiError::from(ValidationError::single("report", message)))
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// `exposure` or `checks`.
    pub job: Option<String>,
}

/// Runs of the scheduled exposure scans and TLS/posture/stale-host checks, newest first
/// (the last 100).
#[utoipa::path(get, path = "/api/v1/vulns/check-runs", tag = "vulnerabilities", params(RunQuery),
    responses((status = 200, body = Vec<CheckRun>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn check_runs(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<Json<Vec<CheckRun>>> {
    Ok(Json(state.vulns.check_runs(q.job.as_deref(), 100).await?))
}
