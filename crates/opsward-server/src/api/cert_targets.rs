//! Certificates: assets' TLS endpoints and expiry thresholds, thresholds per asset tag, and
//! TLS scans the server runs itself (endpoints, address ranges, assets, tags), kept so that
//! every rescan expands them again.

use super::Caller;
use crate::{
    api::certs::ScanStored,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use chrono::Utc;
use opsward_certs::{
    aia::{explain_chains, IssuerFetcher, DEFAULT_MAX_ISSUER_BYTES},
    assets::{CertAssetInput, CertAssetSettings, CertTagThresholds, ScanRequest, ScanTarget},
    inventory::SourceKind,
    renewal::reconcile,
    rescan::server_context,
    revocation::CrlChecker,
    sweep::{check_revocation, observe_swept, ScanPlan},
    ScanOptions, StartTls,
};
use opsward_core::Actor;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// Every asset with its TLS endpoints and thresholds for certificates.
#[utoipa::path(get, path = "/api/v1/certificates/assets", tag = "certificates",
    responses((status = 200, body = Vec<CertAssetSettings>), (status = 401, body = ErrorBody)))]
pub async fn assets(State(state): State<AppState>) -> ApiResult<Json<Vec<CertAssetSettings>>> {
    Ok(Json(state.certs.asset_settings().await?))
}

/// Set an asset's TLS host name (SNI), address, ports and expiry thresholds (days); all empty
/// clears them.
#[utoipa::path(put, path = "/api/v1/certificates/assets/{id}", tag = "certificates", params(("id" = i64, Path)), request_body = CertAssetInput,
    responses((status = 200, body = CertAssetSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CertAssetInput>,
) -> ApiResult<Json<CertAssetSettings>> {
    Ok(Json(
        state
            .certs
            .set_asset_settings(&caller.actor(), id, &input, Utc::now())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/certificates/tag-thresholds", tag = "certificates",
    responses((status = 200, body = Vec<CertTagThresholds>), (status = 401, body = ErrorBody)))]
pub async fn tag_thresholds(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<CertTagThresholds>>> {
    Ok(Json(state.certs.tag_thresholds().await?))
}

/// Thresholds for the assets with a tag; none clears them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = CertTagThresholdsInput)]
pub struct TagThresholdsInput {
    pub tag: String,
    #[serde(default)]
    pub thresholds: Option<Vec<i64>>,
}

/// Set (or clear) the expiry thresholds of every asset with a tag (an asset's own win).
#[utoipa::path(put, path = "/api/v1/certificates/tag-thresholds", tag = "certificates", request_body = TagThresholdsInput,
    responses((status = 200, body = Vec<CertTagThresholds>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_tag_thresholds(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<TagThresholdsInput>,
) -> ApiResult<Json<Vec<CertTagThresholds>>> {
    state
        .certs
        .set_tag_thresholds(
            &caller.actor(),
            &input.tag,
            input.thresholds.as_deref(),
            Utc::now(),
        )
        .await?;
    Ok(Json(state.certs.tag_thresholds().await?))
}

/// Ranges, assets, tags and directories every rescan expands again.
#[utoipa::path(get, path = "/api/v1/certificates/scan-targets", tag = "certificates",
    responses((status = 200, body = Vec<ScanTarget>), (status = 401, body = ErrorBody)))]
pub async fn scan_targets(State(state): State<AppState>) -> ApiResult<Json<Vec<ScanTarget>>> {
    Ok(Json(state.certs.scan_targets(None).await?))
}

/// How long a scan requested through the API may take in all.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(120);

/// Scan now, from this server: `host:port` endpoints, names at addresses
/// (`www.example.com@192.0.2.10:443`: SNI the name, connected to the address), CIDR ranges times ports, assets (SNI =
/// their host name) and tags. Results are stored and checked (with the server's CA bundle and
/// each asset's thresholds); ranges, assets and tags are kept for every rescan. In a range,
/// or on an asset's default ports, an address where nothing listens is left out.
#[utoipa::path(post, path = "/api/v1/certificates/scan-requests", tag = "certificates", request_body = ScanRequest,
    responses((status = 201, body = ScanStored), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn scan_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<ScanRequest>,
) -> ApiResult<(StatusCode, Json<ScanStored>)> {
    let actor = caller.actor();
    Ok((
        StatusCode::CREATED,
        Json(run_scan_request(&state, &actor, &request).await?),
    ))
}

pub async fn run_scan_request(
    state: &AppState,
    actor: &Actor,
    request: &ScanRequest,
) -> Result<ScanStored, ApiError> {
    request.validate()?;
    let starttls: StartTls = request
        .starttls
        .as_deref()
        .unwrap_or("auto")
        .parse()
        .map_err(|e: String| opsward_core::ValidationError::single("starttls", e))?;
    let invalid = |field: &str, e: opsward_certs::targets::TargetError| -> ApiError {
        opsward_core::ValidationError::single(field, e.to_string()).into()
    };
    let assets = state.certs.asset_settings().await?;
    let mut plan = ScanPlan::default();
    for (i, t) in request.targets.iter().enumerate() {
        plan.add_text(t, &request.ports, starttls)
            .map_err(|e| invalid(&format!("targets[{i}]"), e))?;
    }
    for (i, name) in request.assets.iter().enumerate() {
        let asset = assets
            .iter()
            .find(|a| a.asset_name.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                invalid(
                    &format!("assets[{i}]"),
                    opsward_certs::targets::TargetError::UnknownAsset(name.clone()),
                )
            })?;
        plan.add_asset(asset, &request.ports, starttls)
            .map_err(|e| invalid(&format!("assets[{i}]"), e))?;
    }
    for tag in &request.tags {
        plan.add_tag(tag.trim(), &assets, &request.ports, starttls);
    }
    plan.check_size().map_err(|e| invalid("targets", e))?;
    let now = Utc::now();
    let kept = std::mem::take(&mut plan.kept);
    let options = ScanOptions {
        total_deadline: REQUEST_DEADLINE,
        ..ScanOptions::default()
    };
    let reports = plan.run(&options).await;
    let ctx = server_context(&state.certs, now).await?;
    let thresholds = state.certs.asset_thresholds().await?;
    let mut observed = observe_swept(&reports, &state.config.cert_trust, &ctx, &thresholds);
    check_revocation(&mut observed, &CrlChecker::default()).await;
    let issuers = IssuerFetcher::new(options.connect_timeout, DEFAULT_MAX_ISSUER_BYTES);
    explain_chains(&mut observed, &issuers, &state.config.cert_trust, now).await;
    let scan = state
        .certs
        .record_scan(actor, SourceKind::Endpoint, &observed, now)
        .await?;
    state.certs.add_scan_targets(actor, &kept, now).await?;
    let run = reconcile(&state.certs, &state.notifier, actor, now).await?;
    Ok(ScanStored {
        scan,
        renewals_opened: run.opened,
        renewals_completed: run.completed,
        places_not_rotated: run.not_rotated,
        alerts_queued: run.queued,
    })
}
