//! Certificates: the inventory, where each is deployed, renewal tasks, uploaded scans and
//! the practice's settings.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use chrono::{DateTime, Duration, Utc};
use opsward_certs::{
    aia::{explain_chains, IssuerFetcher},
    assets::{NewScanTarget, ScanTargetKind},
    checks::acme_renewal_due,
    inventory::{
        CertFilter, CertSettings, CertSort, OwnerInput, RenewalStatus, RenewalTask, RenewalUpdate,
        ScanRecord, ScanResult, ScanUpload, SightingRecord, StoredCertificate,
    },
    renewal::{reconcile, RenewalRun},
    rescan::{observe_upload, server_context},
    revocation::CrlChecker,
    sweep::{check_revocation, kept_target_from_text},
    StartTls,
};
use opsward_core::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Scan results shown with a certificate.
const HISTORY_LIMIT: i64 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertQuery {
    /// Only certificates that expire within this many days (expired ones included).
    #[param(minimum = 0, maximum = 36500)]
    pub expiring_within_days: Option<i64>,
    /// Only certificates with this problem (e.g. `expired`, `hostname-mismatch`, `not-rotated`).
    pub problem: Option<String>,
    /// Owning team id (set on the certificate, or its asset's).
    pub owner_team: Option<i64>,
    /// Owning person id.
    pub owner_person: Option<i64>,
    /// Part of the issuer, case-insensitive.
    pub issuer: Option<String>,
    /// `expiry` (soonest first, default), `expiry_desc` or `subject`.
    pub sort: Option<CertSort>,
    /// Also certificates no place serves any more.
    pub include_retired: Option<bool>,
    /// At most this many (1-5000, default 500).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
}

impl CertQuery {
    pub fn filter(&self, now: DateTime<Utc>) -> Result<CertFilter, ApiError> {
        if let Some(days) = self.expiring_within_days {
            if !(0..=36_500).contains(&days) {
                return Err(ApiError::bad_request(
                    "expiring_within_days must be 0 to 36500",
                ));
            }
        }
        if let Some(limit) = self.limit {
            if !(1..=opsward_certs::store::MAX_LIST).contains(&limit) {
                return Err(ApiError::bad_request("limit must be 1 to 5000"));
            }
        }
        let text = |t: &Option<String>| t.clone().filter(|t| !t.trim().is_empty());
        Ok(CertFilter {
            expires_before: self.expiring_within_days.map(|d| now + Duration::days(d)),
            problem: text(&self.problem),
            owner_team_id: self.owner_team,
            owner_person_id: self.owner_person,
            issuer: text(&self.issuer),
            include_retired: self.include_retired.unwrap_or(false),
            sort: self.sort,
            limit: self.limit,
        })
    }
}

/// Certificates in use, soonest expiry first, with the problems found where they are served.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", params(CertQuery),
    responses((status = 200, body = Vec<StoredCertificate>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CertQuery>,
) -> ApiResult<Json<Vec<StoredCertificate>>> {
    Ok(Json(state.certs.list(&q.filter(Utc::now())?).await?))
}

/// A certificate with everything known about it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CertificateDetail {
    pub certificate: StoredCertificate,
    /// Where it is deployed now (`current`) and was before.
    pub sightings: Vec<SightingRecord>,
    /// At each endpoint serving it as a leaf, the chain presented there, leaf first.
    pub chains: Vec<PresentedChain>,
    pub renewal: Option<RenewalTask>,
    /// For certificates from ACME CAs: when renewal should have happened (2/3 of lifetime).
    pub acme_renewal_due: Option<DateTime<Utc>>,
    /// Scan by scan, what its places served (newest first).
    pub history: Vec<ScanResult>,
    /// The certificate, PEM-encoded.
    pub pem: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PresentedChain {
    pub location: String,
    pub certificates: Vec<ChainLink>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainLink {
    pub certificate_id: i64,
    pub subject: String,
    pub issuer: String,
    pub not_after: DateTime<Utc>,
}

pub async fn detail_of(state: &AppState, id: i64) -> Result<CertificateDetail, ApiError> {
    let certificate = state.certs.get(id).await?;
    let sightings = state.certs.sightings(id).await?;
    let deployed = state.certs.deployed().await?;
    let mut chains = Vec::new();
    for s in sightings
        .iter()
        .filter(|s| s.current && s.chain_position == 0)
    {
        let mut links = Vec::new();
        for d in deployed.iter().filter(|d| d.source == s.source.location) {
            let c = state.certs.get(d.certificate_id).await?;
            links.push(ChainLink {
                certificate_id: c.id,
                subject: c.subject.clone(),
                issuer: c.issuer.clone(),
                not_after: c.not_after,
            });
        }
        chains.push(PresentedChain {
            location: s.source.location.clone(),
            certificates: links,
        });
    }
    let der = state.certs.der(id).await?;
    Ok(CertificateDetail {
        renewal: state.certs.renewal(id).await?,
        acme_renewal_due: acme_renewal_due(
            &certificate.issuer,
            certificate.not_before,
            certificate.not_after,
        ),
        history: state.certs.history(id, HISTORY_LIMIT).await?,
        pem: pem_of(&der),
        certificate,
        sightings,
        chains,
    })
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "certificates", params(("id" = i64, Path)),
    responses((status = 200, body = CertificateDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CertificateDetail>> {
    Ok(Json(detail_of(&state, id).await?))
}

/// Set the certificate's owner (a team or a person) or its asset; all empty clears them, and
/// the owner of an asset it is seen at applies again.
#[utoipa::path(put, path = "/api/v1/certificates/{id}/owner", tag = "certificates", params(("id" = i64, Path)), request_body = OwnerInput,
    responses((status = 200, body = StoredCertificate), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_owner(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<OwnerInput>,
) -> ApiResult<Json<StoredCertificate>> {
    Ok(Json(
        state.certs.set_owner(&caller.actor(), id, &input).await?,
    ))
}

/// Move the certificate's renewal task (opening one if it has none): `open`, `in_progress`
/// or `done`.
#[utoipa::path(put, path = "/api/v1/certificates/{id}/renewal", tag = "certificates", params(("id" = i64, Path)), request_body = RenewalUpdate,
    responses((status = 200, body = RenewalTask), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_renewal(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RenewalUpdate>,
) -> ApiResult<Json<RenewalTask>> {
    Ok(Json(
        change_renewal(&state, &caller.actor(), id, &input).await?,
    ))
}

pub async fn change_renewal(
    state: &AppState,
    actor: &Actor,
    certificate_id: i64,
    input: &RenewalUpdate,
) -> Result<RenewalTask, ApiError> {
    if input.note.as_ref().is_some_and(|n| n.len() > 4000) {
        return Err(
            opsward_core::ValidationError::single("note", "at most 4000 characters").into(),
        );
    }
    state.certs.get(certificate_id).await?;
    let now = Utc::now();
    let task = match state.certs.renewal(certificate_id).await? {
        Some(task) => task,
        None => match state
            .certs
            .open_renewal(actor, certificate_id, "opened by hand", now)
            .await?
        {
            Some(task) => task,
            None => state
                .certs
                .renewal(certificate_id)
                .await?
                .ok_or_else(|| ApiError::not_found("renewal task"))?,
        },
    };
    if task.status == input.status && input.note.is_none() {
        return Ok(task);
    }
    Ok(state
        .certs
        .update_renewal(actor, task.id, input, now)
        .await?)
}

/// Renewal tasks, oldest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenewalQuery {
    pub status: Option<RenewalStatus>,
}

#[utoipa::path(get, path = "/api/v1/certificates/renewals", tag = "certificates", params(RenewalQuery),
    responses((status = 200, body = Vec<RenewalTask>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn renewals(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RenewalQuery>,
) -> ApiResult<Json<Vec<RenewalTask>>> {
    Ok(Json(state.certs.renewals(q.status).await?))
}

/// What storing an uploaded scan did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScanStored {
    pub scan: ScanRecord,
    pub renewals_opened: usize,
    pub renewals_completed: usize,
    pub places_not_rotated: usize,
    pub alerts_queued: usize,
}

/// Store a scan done by a client (`opsward cert scan ... --server`). The server checks the
/// certificates itself (against the public roots and its configured CA bundle, with each
/// asset's thresholds), keeps the upload's directories, ranges, assets and tags for rescans,
/// then applies the renewal rules.
#[utoipa::path(post, path = "/api/v1/certificates/scans", tag = "certificates", request_body = ScanUpload,
    responses((status = 201, body = ScanStored), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_scan(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(upload): ApiJson<ScanUpload>,
) -> ApiResult<(StatusCode, Json<ScanStored>)> {
    let now = Utc::now();
    let mut upload = upload;
    // A place already linked to an asset keeps its asset's thresholds.
    let linked: std::collections::HashMap<String, i64> = state
        .certs
        .sources(None)
        .await?
        .into_iter()
        .filter(|s| s.kind == upload.kind)
        .filter_map(|s| s.asset_id.map(|a| (s.location, a)))
        .collect();
    for source in &mut upload.sources {
        if source.asset_id.is_none() {
            source.asset_id = linked.get(&source.location).copied();
        }
    }
    let kept = kept_targets(&state, &upload).await?;
    let ctx = server_context(&state.certs, now).await?;
    let thresholds = state.certs.asset_thresholds().await?;
    let mut observed = observe_upload(&upload, &state.config.cert_trust, &ctx, &thresholds)?;
    check_revocation(&mut observed, &CrlChecker::default()).await;
    explain_chains(
        &mut observed,
        &IssuerFetcher::default(),
        &state.config.cert_trust,
        now,
    )
    .await;
    let actor = caller.actor();
    let scan = state
        .certs
        .record_scan(&actor, upload.kind, &observed, now)
        .await?;
    state.certs.add_scan_targets(&actor, &kept, now).await?;
    let run: RenewalRun = reconcile(&state.certs, &state.notifier, &actor, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScanStored {
            scan,
            renewals_opened: run.opened,
            renewals_completed: run.completed,
            places_not_rotated: run.not_rotated,
            alerts_queued: run.queued,
        }),
    ))
}

/// The ranges, assets, tags and directories an upload came from, to keep for rescans.
async fn kept_targets(
    state: &AppState,
    upload: &ScanUpload,
) -> Result<Vec<NewScanTarget>, ApiError> {
    let mut kept = Vec::new();
    let starttls: StartTls = upload
        .sources
        .first()
        .and_then(|s| s.starttls.as_deref())
        .unwrap_or("auto")
        .parse()
        .unwrap_or_default();
    if !upload.targets.is_empty() {
        let assets = state.certs.asset_settings().await?;
        for (i, text) in upload.targets.iter().enumerate() {
            kept.push(kept_target_from_text(text, &assets, starttls).map_err(|e| {
                opsward_core::ValidationError::single(&format!("targets[{i}]"), e.to_string())
            })?);
        }
    }
    for (i, dir) in upload.directories.iter().enumerate() {
        if dir.trim().is_empty() || dir.len() > 4096 || !std::path::Path::new(dir).is_absolute() {
            return Err(opsward_core::ValidationError::single(
                &format!("directories[{i}]"),
                "an absolute path of at most 4096 characters",
            )
            .into());
        }
        kept.push(NewScanTarget {
            kind: ScanTargetKind::Directory,
            value: dir.clone(),
            ports: Vec::new(),
            starttls: StartTls::None.as_str().to_owned(),
        });
    }
    Ok(kept)
}

#[utoipa::path(get, path = "/api/v1/certificates/settings", tag = "certificates",
    responses((status = 200, body = CertSettings), (status = 401, body = ErrorBody)))]
pub async fn settings(State(state): State<AppState>) -> ApiResult<Json<CertSettings>> {
    Ok(Json(state.certs.settings().await?))
}

/// Expiry thresholds (days) and the rescan interval (minutes), for every server.
#[utoipa::path(put, path = "/api/v1/certificates/settings", tag = "certificates", request_body = CertSettings,
    responses((status = 200, body = CertSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<CertSettings>,
) -> ApiResult<Json<CertSettings>> {
    Ok(Json(
        state.certs.set_settings(&caller.actor(), &input).await?,
    ))
}
