//! The stored side of the practice: certificates kept once by fingerprint, the places they
//! were seen, the scans that saw them, and the renewal tasks that follow them.

use crate::{model::Severity, Finding};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

opsward_core::text_enum!(
    /// What kind of place a certificate was found at.
    SourceKind {
        Endpoint => "endpoint",
        File => "file",
    }
);

opsward_core::text_enum!(
    /// Where a renewal stands.
    RenewalStatus {
        Open => "open",
        InProgress => "in_progress",
        Done => "done",
    }
);

/// A certificate as stored: its facts, its effective owner and what the checks found at the
/// places that serve it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoredCertificate {
    pub id: i64,
    /// SHA-256 of the DER encoding, lower-case hex.
    pub fingerprint_sha256: String,
    pub subject: String,
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub issuer_cn: Option<String>,
    pub serial: String,
    pub san_dns: Vec<String>,
    pub san_ip: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub key_type: String,
    pub signature_algorithm: String,
    pub is_ca: bool,
    pub self_signed: bool,
    /// Set directly (or through [`StoredCertificate::asset_id`]).
    pub asset_id: Option<i64>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// The owner set on the certificate, else its asset's, else the asset of a place it was
    /// seen at.
    pub effective_owner_team_id: Option<i64>,
    pub effective_owner_person_id: Option<i64>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Places that served it at their last successful scan.
    pub current_sightings: i64,
    /// What the checks found at those places, worst first, one per code.
    pub problems: Vec<StoredProblem>,
}

impl StoredCertificate {
    /// The common name, else the whole subject.
    pub fn display_name(&self) -> &str {
        self.subject_cn.as_deref().unwrap_or(&self.subject)
    }

    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.not_after - now).num_days()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoredProblem {
    pub code: String,
    #[schema(value_type = String)]
    pub severity: Severity,
    pub message: String,
}

/// A place certificates are found at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CertSource {
    pub id: i64,
    pub kind: SourceKind,
    /// `host:port` (or `name@address:port`) for endpoints, the path for files.
    pub location: String,
    pub sni: Option<String>,
    /// The STARTTLS protocol spoken before the handshake (`auto`, `none`, `smtp`, ...).
    pub starttls: String,
    pub asset_id: Option<i64>,
    pub last_scan_at: Option<DateTime<Utc>>,
    /// Why the last scan of this place failed, if it did.
    pub last_error: Option<String>,
}

/// One certificate at one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SightingRecord {
    pub id: i64,
    pub certificate_id: i64,
    pub source: CertSource,
    pub chain_position: i64,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Served there at the place's last successful scan.
    pub current: bool,
    pub problems: Vec<StoredProblem>,
}

/// One scan run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScanRecord {
    pub id: i64,
    pub kind: SourceKind,
    pub actor: String,
    pub scanned_at: DateTime<Utc>,
    pub sources: i64,
    pub errors: i64,
    pub certificates: i64,
    pub new_certificates: i64,
}

/// What a place gave in one scan: its leaf, or an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScanResult {
    pub scan_id: i64,
    pub scanned_at: DateTime<Utc>,
    pub source_id: i64,
    pub location: String,
    pub leaf_certificate_id: Option<i64>,
    pub leaf_fingerprint: Option<String>,
    pub error: Option<String>,
}

/// Renewing one certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenewalTask {
    pub id: i64,
    pub certificate_id: i64,
    pub status: RenewalStatus,
    /// The newer certificate for the same names (or more) that replaced it everywhere.
    pub replacement_certificate_id: Option<i64>,
    pub note: String,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it: a user, or `system:certs` when the replacement was seen everywhere.
    pub closed_by: Option<String>,
}

/// A change of a renewal task by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenewalUpdate {
    pub status: RenewalStatus,
    #[serde(default)]
    pub note: Option<String>,
}

/// The owner set on a certificate directly; all `None` clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OwnerInput {
    #[serde(default)]
    pub asset_id: Option<i64>,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
}

/// Practice settings kept in the database, so every server uses the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertSettings {
    /// Days before expiry at which to warn (and alert), e.g. `[30, 14, 7, 1]`.
    pub thresholds: Vec<i64>,
    /// How often every stored endpoint and path is scanned again.
    pub rescan_interval_minutes: i64,
}

impl Default for CertSettings {
    fn default() -> Self {
        CertSettings {
            thresholds: vec![30, 14, 7, 1],
            rescan_interval_minutes: 1440,
        }
    }
}

impl CertSettings {
    pub fn validate(&self) -> Result<(), opsward_core::ValidationError> {
        let mut errors = Vec::new();
        if self.thresholds.is_empty() || self.thresholds.iter().any(|d| !(1..=3650).contains(d)) {
            errors.push("thresholds must be 1 to 3650 days, at least one");
        }
        if !(5..=525_600).contains(&self.rescan_interval_minutes) {
            errors.push("rescan_interval_minutes must be 5 to 525600");
        }
        match errors.first() {
            None => Ok(()),
            Some(e) => Err(opsward_core::ValidationError::single(
                if e.starts_with("thresholds") {
                    "thresholds"
                } else {
                    "rescan_interval_minutes"
                },
                *e,
            )),
        }
    }

    /// The thresholds, largest first, without duplicates.
    pub fn sorted_thresholds(&self) -> Vec<i64> {
        let mut t = self.thresholds.clone();
        t.sort_unstable_by(|a, b| b.cmp(a));
        t.dedup();
        t
    }
}

opsward_core::text_enum!(
    /// How a certificate list is ordered.
    CertSort {
        /// Soonest expiry first.
        Expiry => "expiry",
        /// Latest expiry first.
        ExpiryDesc => "expiry_desc",
        Subject => "subject",
    }
);

/// Which certificates to list.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertFilter {
    /// Only certificates expiring before this time (expired ones included).
    pub expires_before: Option<DateTime<Utc>>,
    /// Only certificates with this problem code at a place that serves them now.
    pub problem: Option<String>,
    /// Effective owner team.
    pub owner_team_id: Option<i64>,
    /// Effective owner person.
    pub owner_person_id: Option<i64>,
    /// Part of the issuer, case-insensitive.
    pub issuer: Option<String>,
    /// Also certificates no place serves any more.
    #[serde(default)]
    pub include_retired: bool,
    pub sort: Option<CertSort>,
    /// At most this many (default 500, at most 5000).
    pub limit: Option<u32>,
}

/// What one place gave in a scan, ready to store.
#[derive(Debug, Clone)]
pub struct ObservedSource {
    pub kind: SourceKind,
    pub location: String,
    pub sni: Option<String>,
    pub starttls: String,
    /// The asset the place belongs to, when the scan knew it (an asset's endpoint).
    pub asset_id: Option<i64>,
    /// The certificates found there, checked; or why none could be read.
    pub outcome: Result<Vec<Finding>, String>,
}

/// Most places one uploaded scan may hold.
pub const MAX_UPLOAD_SOURCES: usize = 20_000;

/// A scan done elsewhere (by `opsward cert scan ... --server`), sent to be stored. The server
/// checks the certificates itself, so stored verdicts never depend on the scanning client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScanUpload {
    pub kind: SourceKind,
    pub sources: Vec<UploadedSource>,
    /// Directories the scan walked: rescans walk them again (new files are found, removed
    /// files' sightings end).
    #[serde(default)]
    pub directories: Vec<String>,
    /// Ranges (`10.0.0.0/24:443`) and assets (`asset:NAME`, `tag:TAG`) the endpoints came
    /// from: rescans expand them again.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// What one place gave: its certificates (an endpoint's chain leaf first, or a file's
/// certificates in order) as hex DER, or why it gave none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UploadedSource {
    /// `host:port` or the file's path.
    pub location: String,
    /// For endpoints: the STARTTLS protocol spoken (default `auto`).
    #[serde(default)]
    pub starttls: Option<String>,
    /// For endpoints: the name sent as SNI when it is not the host connected to.
    #[serde(default)]
    pub sni: Option<String>,
    /// The asset the place belongs to (its owner and thresholds then apply).
    #[serde(default)]
    pub asset_id: Option<i64>,
    #[serde(default)]
    pub certificates_der_hex: Vec<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// For endpoints: the old protocol versions the scanner found accepted.
    #[serde(default)]
    pub old_protocols: Vec<AcceptedProtocol>,
}

/// An old protocol version an endpoint accepted, and the cipher suite it chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AcceptedProtocol {
    /// `TLSv1.0` or `TLSv1.1`.
    pub version: String,
    /// The IANA number of the suite.
    pub cipher_suite: u16,
}
