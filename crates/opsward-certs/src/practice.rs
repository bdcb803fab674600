//! The certificates practice's side of the practice contract: what is at risk now, the
//! hygiene points lost from live data, what the practice knows about one asset, and its
//! rescan job.
//!
//! # Conditions
//!
//! | kind | severity | when |
//! |---|---|---|
//! | `certificate_expired` | critical | a leaf certificate a place still serves has expired |
//! | `certificate_expiring` | high (7 days or fewer left), else medium | a served leaf expires within the largest threshold and no renewal is in progress (or done) |
//! | `renewal_overdue` | high | a renewal in progress is past its due date, 7 days before the certificate expires |
//! | `certificate_unowned` | medium | a served leaf within the largest threshold with no owner whose renewal is in progress (only so its automatic backlog item keeps a condition) |
//! | `certificate_problem` | high | a served certificate has critical problems other than expiry (untrusted chain, weak key, hostname mismatch, weak signature, revoked, not yet valid) |
//!
//! One condition per certificate and kind. The automatic backlog item of today's rule (a
//! served leaf within the largest threshold or expired, with no owner on it or its asset
//! and no finished renewal) rides on that certificate's expiry condition.
//!
//! # Hygiene rules
//!
//! | what | points | cap |
//! |---|---|---|
//! | leaf certificates still served that have expired | 15 each | 45 |
//! | served leaves within the largest threshold with no renewal in progress | 5 each | 20 |
//! | renewals in progress past their due date (7 days before expiry) | 5 each | 15 |
//! | served leaves with no owner (on the certificate or its asset) | 15 × unowned / served, rounded up | 15 |
//! | served certificates with critical problems other than expiry | 10 each | 30 |

mod facets;
pub mod hygiene;
mod jobs;
pub mod queries;

pub use jobs::{CertRescan, RESCAN_EVERY_MINUTES, RESCAN_JOB};

use crate::{inventory::RenewalStatus, TrustStore};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use hygiene::{problem_words, CertFigures};
use opsward_core::{
    contract::{
        Assessment, AssetFacet, BacklogProposal, Condition, EntityRef, JobContext,
        PracticeContract, PracticeError, ProposedItemType, Severity,
    },
    job::JobSpec,
    practice::Practice,
};
use opsward_store::{Store, StoreError};
use queries::CertificateFacts;
use std::{collections::BTreeMap, sync::Arc};

/// A renewal is due this many days before its certificate expires: the last week is for
/// deploying the new certificate everywhere.
pub const RENEWAL_DUE_DAYS_BEFORE_EXPIRY: i64 = 7;

/// The certificates practice, as the rest of opsward sees it.
pub struct CertificatesPractice {
    store: Arc<dyn Store>,
    trust: TrustStore,
}

impl CertificatesPractice {
    pub fn new(store: Arc<dyn Store>, trust: TrustStore) -> Self {
        CertificatesPractice { store, trust }
    }

    fn error(e: StoreError) -> PracticeError {
        PracticeError::new(Practice::Certificates, e)
    }
}

#[async_trait]
impl PracticeContract for CertificatesPractice {
    fn practice(&self) -> Practice {
        Practice::Certificates
    }

    /// Announced by the renewal job's expiry alerts (`certificate.expired`, `certificate.expiring`, per threshold).
    fn announced_kinds(&self) -> &'static [&'static str] {
        &["certificate_expired", "certificate_expiring"]
    }

    async fn assess(&self, now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        let db = self.store.database();
        let settings = crate::CertStore::new(self.store.as_ref())
            .settings()
            .await
            .map_err(Self::error)?;
        let horizon = settings.sorted_thresholds().first().copied().unwrap_or(30);
        let window = horizon.max(RENEWAL_DUE_DAYS_BEFORE_EXPIRY);
        let expiring = queries::served_leaves_expiring_before(&db, now + Duration::days(window))
            .await
            .map_err(Self::error)?;
        let (served, unowned) = queries::served_leaf_counts(&db)
            .await
            .map_err(Self::error)?;
        let problems = queries::critical_problems(&db, None)
            .await
            .map_err(Self::error)?;

        let mut figures = CertFigures {
            served_leaves: usize::try_from(served).unwrap_or(0),
            unowned: usize::try_from(unowned).unwrap_or(0),
            horizon_days: horizon,
            ..CertFigures::default()
        };
        let mut conditions = expiry_conditions(&expiring, horizon, now, &mut figures);
        conditions.extend(problem_conditions(problems, &mut figures));
        let deployed = crate::CertStore::new(self.store.as_ref())
            .deployed()
            .await
            .map_err(Self::error)?;
        Ok(Assessment {
            conditions,
            deductions: hygiene::deductions(&figures),
            metric_series: crate::metrics::render_x509(&deployed, now),
        })
    }

    async fn asset_facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        facets::of_asset(&self.store.database(), asset_id, now)
            .await
            .map_err(Self::error)
    }

    fn jobs(&self, _context: &JobContext) -> Vec<JobSpec> {
        vec![JobSpec::every(
            RESCAN_JOB,
            Duration::minutes(RESCAN_EVERY_MINUTES),
            CertRescan::new(self.store.clone(), self.trust.clone()),
        )]
    }
}

fn entity(c: &CertificateFacts) -> EntityRef {
    EntityRef {
        kind: "certificate".into(),
        id: c.id,
        label: c.name().to_string(),
        link: format!("/certificates/{}", c.id),
    }
}

/// A condition about `c` with its asset and owner filled in.
fn about(c: &CertificateFacts, kind: &str, severity: Severity, title: String) -> Condition {
    Condition::new(Practice::Certificates, kind, severity, entity(c), title)
        .with_asset(c.asset_id, c.asset_name.clone())
        .with_owner(c.owner_team_id, c.owner_person_id)
}

fn places(n: i64) -> String {
    opsward_core::contract::count(usize::try_from(n).unwrap_or(0), "place", "places")
}

fn in_days(days: i64) -> String {
    match days {
        d if d <= 0 => "in less than a day".into(),
        d => format!(
            "in {}",
            opsward_core::contract::count(d as usize, "day", "days")
        ),
    }
}

/// Today's automatic backlog item for a served leaf within the largest threshold (or
/// expired) with no owner and no finished renewal; the same title, text and priority as
/// the server's `backlog_auto` rule had.
pub fn backlog_proposal(
    c: &CertificateFacts,
    horizon_days: i64,
    now: DateTime<Utc>,
) -> Option<BacklogProposal> {
    let renewed = c.renewal_status.as_deref() == Some(RenewalStatus::Done.as_str());
    if c.is_ca
        || c.places == 0
        || renewed
        || c.owned()
        || c.not_after >= now + Duration::days(horizon_days)
    {
        return None;
    }
    let days = (c.not_after - now).num_days();
    let (impact, urgency) = match days {
        d if d < 0 => (1, 1),
        d if d <= 7 => (2, 1),
        _ => (2, 2),
    };
    let name = c.name();
    Some(BacklogProposal {
        source: "certificate",
        source_key: format!("certificate:{}", c.id),
        item_type: ProposedItemType::Risk,
        title: format!("Certificate {name} expires without a renewal owner"),
        description: format!(
            "The certificate **{name}** (issuer {}, serial {}) expires on {} ({days} days from when this item was opened) \
             and is served at {} place(s). Neither the certificate nor its asset has an owner to renew it: \
             set an owner on the certificate, then renew it.",
            c.issuer_cn.as_deref().unwrap_or(&c.issuer),
            c.serial,
            c.not_after.format("%Y-%m-%d %H:%M UTC"),
            c.places,
        ),
        impact,
        urgency,
        team_id: None,
        asset_ids: c.direct_asset_id.into_iter().collect(),
        label: format!("certificate {name}"),
    })
}

/// The expiry conditions of served leaves expiring soon (one per certificate), counting
/// what the hygiene rules need into `figures`.
pub fn expiry_conditions(
    leaves: &[CertificateFacts],
    horizon_days: i64,
    now: DateTime<Utc>,
    figures: &mut CertFigures,
) -> Vec<Condition> {
    let horizon = now + Duration::days(horizon_days);
    let mut out = Vec::new();
    for c in leaves.iter().filter(|c| !c.is_ca && c.places > 0) {
        let name = c.name();
        let left = c.not_after - now;
        let days = left.num_days();
        let status = c.renewal_status.as_deref();
        let in_progress = status == Some(RenewalStatus::InProgress.as_str());
        let done = status == Some(RenewalStatus::Done.as_str());
        let renewal_due = c.not_after - Duration::days(RENEWAL_DUE_DAYS_BEFORE_EXPIRY);
        let condition = if left <= Duration::zero() {
            figures.expired += 1;
            figures.oldest_expired_days = figures.oldest_expired_days.max(-days);
            Some(
                about(
                    c,
                    "certificate_expired",
                    Severity::Critical,
                    format!(
                        "TLS certificate for {name} expired {} and is still served at {}",
                        match -days {
                            0 => "less than a day ago".to_string(),
                            d => format!(
                                "{} ago",
                                opsward_core::contract::count(d as usize, "day", "days")
                            ),
                        },
                        places(c.places)
                    ),
                )
                .with_times(Some(c.not_after), Some(c.not_after)),
            )
        } else if in_progress && now > renewal_due {
            figures.renewals_overdue += 1;
            figures.oldest_renewal_due_days = figures
                .oldest_renewal_due_days
                .max((now - renewal_due).num_days());
            Some(
                about(
                    c,
                    "renewal_overdue",
                    Severity::High,
                    format!(
                        "Renewal of the TLS certificate for {name} is overdue: it expires {}",
                        in_days(days)
                    ),
                )
                .with_times(Some(renewal_due), Some(renewal_due)),
            )
        } else if c.not_after >= horizon {
            None
        } else if !in_progress && !done {
            if figures.expiring_unrenewed == 0 || days < figures.soonest_days_left {
                figures.soonest_days_left = days;
            }
            figures.expiring_unrenewed += 1;
            let severity = if days <= 7 {
                Severity::High
            } else {
                Severity::Medium
            };
            Some(
                about(
                    c,
                    "certificate_expiring",
                    severity,
                    format!(
                        "TLS certificate for {name} expires {}; no renewal in progress",
                        in_days(days)
                    ),
                )
                .with_times(
                    Some(c.not_after - Duration::days(horizon_days)),
                    Some(c.not_after),
                ),
            )
        } else if in_progress && !c.owned() {
            Some(
                about(
                    c,
                    "certificate_unowned",
                    Severity::Medium,
                    format!(
                        "TLS certificate for {name} expires {} and has no owner",
                        in_days(days)
                    ),
                )
                .with_times(None, Some(c.not_after)),
            )
        } else {
            None
        };
        if let Some(mut condition) = condition {
            condition.backlog = backlog_proposal(c, horizon_days, now);
            out.push(condition);
        }
    }
    out
}

/// One condition per certificate naming its critical problems (rows come by certificate,
/// one per code), counting them into `figures`.
pub fn problem_conditions(
    rows: Vec<(CertificateFacts, String, i64)>,
    figures: &mut CertFigures,
) -> Vec<Condition> {
    let mut by_cert: BTreeMap<i64, (CertificateFacts, Vec<String>, i64)> = BTreeMap::new();
    for (c, code, at) in rows {
        if !figures.problem_codes.contains(&code) {
            figures.problem_codes.push(code.clone());
        }
        let entry = by_cert.entry(c.id).or_insert_with(|| (c, Vec::new(), 0));
        entry.1.push(code);
        entry.2 = entry.2.max(at);
    }
    figures.problem_codes.sort();
    figures.with_critical_problems = by_cert.len();
    by_cert
        .into_values()
        .map(|(c, codes, at)| {
            let words: Vec<String> = codes.iter().map(|code| problem_words(code)).collect();
            about(
                &c,
                "certificate_problem",
                Severity::High,
                format!(
                    "TLS certificate for {} has critical problems at {}: {}",
                    c.name(),
                    places(at),
                    words.join(", ")
                ),
            )
        })
        .collect()
}
