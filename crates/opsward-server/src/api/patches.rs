//! Patch management: agents enroll and report; people read hosts, pending updates and
//! compliance, and set the policy.
//!
//! Agents do not hold user API tokens. An operator mints an enrollment token; an agent trades
//! it once for its own host credential and sends that in the `X-Opsward-Host` header. Both
//! secrets are stored only as SHA-256 hashes.

use super::Caller;
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
use chrono::{Duration, Utc};
use opsward_patches::{
    policy::{FleetCompliance, PatchPolicy, TrendPoint},
    report::HostReport,
    store::{EnrollmentToken, HostDetail, HostSummary, IngestOutcome},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The header an agent sends its host credential in.
pub const HOST_HEADER: &str = "x-opsward-host";
/// Enrollment token secrets start with this, so a leaked one is recognisable.
pub const ENROLLMENT_PREFIX: &str = "owe_";
/// Host credentials start with this.
pub const HOST_PREFIX: &str = "owh_";

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateEnrollmentToken {
    /// What the token is for, e.g. `web fleet`.
    pub name: String,
    /// Lifetime in days (1-365, default 7).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// The secret is in this response and nowhere else.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEnrollmentToken {
    pub token: String,
    pub info: EnrollmentToken,
}

/// Mint an enrollment token; shared by the API and the CLI.
pub async fn mint_enrollment_token(
    patches: &opsward_patches::store::PatchStore,
    actor: &opsward_core::Actor,
    name: &str,
    days: Option<u32>,
) -> ApiResult<CreatedEnrollmentToken> {
    let days = days.unwrap_or(7);
    if !(1..=365).contains(&days) {
        return Err(
            opsward_core::ValidationError::single("expires_in_days", "must be 1-365").into(),
        );
    }
    let token = format!("{ENROLLMENT_PREFIX}{}", secret::random_secret());
    let info = patches
        .create_enrollment_token(
            actor,
            name,
            &secret::hash_secret(&token),
            Utc::now() + Duration::days(i64::from(days)),
        )
        .await?;
    Ok(CreatedEnrollmentToken { token, info })
}

#[utoipa::path(get, path = "/api/v1/patches/enrollment-tokens", tag = "patches",
    responses((status = 200, body = Vec<EnrollmentToken>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_enrollment_tokens(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<EnrollmentToken>>> {
    Ok(Json(state.patches.list_enrollment_tokens().await?))
}

/// Mint an enrollment token. Its secret is shown once.
#[utoipa::path(post, path = "/api/v1/patches/enrollment-tokens", tag = "patches", request_body = CreateEnrollmentToken,
    responses((status = 201, body = CreatedEnrollmentToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_enrollment_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<CreateEnrollmentToken>,
) -> ApiResult<(StatusCode, Json<CreatedEnrollmentToken>)> {
    let created = mint_enrollment_token(
        &state.patches,
        &caller.actor(),
        &input.name,
        input.expires_in_days,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke an enrollment token; hosts already enrolled keep their credentials.
#[utoipa::path(delete, path = "/api/v1/patches/enrollment-tokens/{id}", tag = "patches", params(("id" = i64, Path)),
    responses((status = 200, body = EnrollmentToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_enrollment_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<EnrollmentToken>> {
    Ok(Json(
        state
            .patches
            .revoke_enrollment_token(&caller.actor(), id)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrollRequest {
    /// An enrollment token from an operator.
    pub token: String,
    pub hostname: String,
}

/// The host credential is in this response and nowhere else.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Enrolled {
    pub host_id: i64,
    pub credential: String,
}

/// An agent trades an enrollment token for its own credential. Public: the enrollment
/// token is the credential.
#[utoipa::path(post, path = "/api/v1/patches/enroll", tag = "patches", request_body = EnrollRequest, security(()),
    responses((status = 201, body = Enrolled), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn enroll(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<EnrollRequest>,
) -> ApiResult<(StatusCode, Json<Enrolled>)> {
    let credential = format!("{HOST_PREFIX}{}", secret::random_secret());
    let host = state
        .patches
        .enroll(
            &secret::hash_secret(input.token.trim()),
            &input.hostname,
            &secret::hash_secret(&credential),
        )
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "unknown, revoked or expired enrollment token",
            )
        })?;
    tracing::info!(host = host.id, hostname = %host.hostname, "host enrolled");
    Ok((
        StatusCode::CREATED,
        Json(Enrolled {
            host_id: host.id,
            credential,
        }),
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Ingested {
    pub host_id: i64,
    pub outcome: IngestOutcome,
}

/// An agent's report: a full report first, then deltas. Authenticated by the host credential
/// in `X-Opsward-Host`. A retried report is acknowledged again without applying it twice; a
/// delta on a base the server does not have is a 409, after which the agent sends a full one.
#[utoipa::path(post, path = "/api/v1/patches/reports", tag = "patches", request_body = HostReport, security(()),
    params(("X-Opsward-Host" = String, Header, description = "The host credential from enrollment")),
    responses((status = 200, body = Ingested), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(report): ApiJson<HostReport>,
) -> ApiResult<Json<Ingested>> {
    let credential = headers
        .get(HOST_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(ApiError::unauthenticated)?;
    let host = state
        .patches
        .authenticate_host(&secret::hash_secret(credential))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    if report.sequence < 1 {
        return Err(opsward_core::ValidationError::single("sequence", "must be at least 1").into());
    }
    // Matched against the advisories by the scheduler: the job is queued with the report.
    let job = opsward_vulns::hosts::match_job(&format!("host:{}:{}", host.id, report.sequence));
    let outcome = state
        .patches
        .ingest_queueing(host.id, &report, &job)
        .await?;
    Ok(Json(Ingested {
        host_id: host.id,
        outcome,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HostQuery {
    /// Hosts whose name contains this.
    pub host: Option<String>,
    /// Only hosts with overdue updates.
    #[serde(default)]
    pub overdue: bool,
}

/// Hosts with their patch state, by name.
#[utoipa::path(get, path = "/api/v1/patches/hosts", tag = "patches", params(HostQuery),
    responses((status = 200, body = Vec<HostSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn hosts(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HostQuery>,
) -> ApiResult<Json<Vec<HostSummary>>> {
    Ok(Json(filter_hosts(
        state.patches.list_hosts(Utc::now()).await?,
        q.host.as_deref(),
        q.overdue,
    )))
}

/// The host list filter shared by the API, the UI and the CLI.
pub fn filter_hosts(
    hosts: Vec<HostSummary>,
    name: Option<&str>,
    overdue: bool,
) -> Vec<HostSummary> {
    let name = name
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty());
    hosts
        .into_iter()
        .filter(|h| !overdue || h.overdue_updates > 0)
        .filter(|h| {
            name.as_ref()
                .is_none_or(|n| h.host.hostname.to_lowercase().contains(n.as_str()))
        })
        .collect()
}

/// A host's patch detail and its last vulnerability match.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PatchHostView)]
pub struct HostView {
    #[serde(flatten)]
    pub detail: HostDetail,
    /// When the host's package inventory was last matched against the advisories, which
    /// report and OSV ecosystem, and the counts (packages, vulnerabilities, undecided); null
    /// until the first match.
    pub vulnerability_match: Option<opsward_vulns::hosts::HostScan>,
}

/// One host: packages, pending updates with due dates, the security flag, severity and the
/// vulnerability findings each would close (`fixes`), history, and the last vulnerability
/// match of its inventory (`vulnerability_match`).
#[utoipa::path(get, path = "/api/v1/patches/hosts/{id}", tag = "patches", params(("id" = i64, Path)),
    responses((status = 200, body = HostView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn host(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<HostView>> {
    let (detail, vulnerability_match) =
        opsward_vulns::hosts::host_detail(state.store.as_ref(), id, Utc::now()).await?;
    Ok(Json(HostView {
        detail,
        vulnerability_match,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PatchCompliance)]
pub struct Compliance {
    pub fleet: FleetCompliance,
    pub trend: Vec<TrendPoint>,
    pub policy: PatchPolicy,
}

/// Fleet compliance now and over the last 30 days.
#[utoipa::path(get, path = "/api/v1/patches/compliance", tag = "patches",
    responses((status = 200, body = Compliance), (status = 401, body = ErrorBody)))]
pub async fn compliance(State(state): State<AppState>) -> ApiResult<Json<Compliance>> {
    let (fleet, trend) = state.patches.compliance(Utc::now()).await?;
    let policy = state.patches.policy().await?;
    Ok(Json(Compliance {
        fleet,
        trend,
        policy,
    }))
}

#[utoipa::path(get, path = "/api/v1/patches/policy", tag = "patches",
    responses((status = 200, body = PatchPolicy), (status = 401, body = ErrorBody)))]
pub async fn policy(State(state): State<AppState>) -> ApiResult<Json<PatchPolicy>> {
    Ok(Json(state.patches.policy().await?))
}

/// Set the due-date policy. It applies to updates first seen from now on.
#[utoipa::path(put, path = "/api/v1/patches/policy", tag = "patches", request_body = PatchPolicy,
    responses((status = 200, body = PatchPolicy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(policy): ApiJson<PatchPolicy>,
) -> ApiResult<Json<PatchPolicy>> {
    Ok(Json(
        state.patches.set_policy(&caller.actor(), &policy).await?,
    ))
}
