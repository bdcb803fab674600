//! The vulnerabilities practice's side of the practice contract: its conditions now, its
//! hygiene deductions from live findings and scans, what it knows about one asset, and its
//! jobs.
//!
//! Conditions:
//!
//! | Kind | Severity | When |
//! |---|---|---|
//! | `kev_finding_overdue` | critical | a finding in CISA's KEV catalog is open or acknowledged after its due date (one each; proposes the automatic backlog item `kev_finding`) |
//! | `findings_overdue` | the findings' severity | other open or acknowledged findings past their due date, one per asset and severity, with their count |
//! | `critical_findings_due_soon` | high | open critical findings due within 7 days, one per asset, with their count |
//! | `asset_not_scanned` | medium | an asset scanned before whose last lockfile, SBOM or host-inventory scan is older than the settings' `scan_interval_days` |
//!
//! The hygiene rules are in [`rules`].

mod facets;
pub mod jobs;
mod queries;
pub mod rules;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use opsward_core::contract::{
    count, Assessment, AssetFacet, BacklogProposal, Condition, EntityRef, JobContext,
    PracticeContract, PracticeError, ProposedItemType, Severity as Level,
};
use opsward_core::job::JobSpec;
use opsward_core::practice::Practice;
use opsward_store::{Store, StoreError};

use crate::findings::{Finding, FindingFilter};
use crate::{Severity, VulnStore};
use queries::{AssetOwner, FindingGroup};
use rules::{OverdueBand, VulnCounts};

/// Open critical findings due within this many days are a condition.
pub const DUE_SOON_DAYS: i64 = 7;

/// The vulnerabilities practice, reading the findings and scans in `store`.
pub struct VulnerabilitiesPractice {
    store: Arc<dyn Store>,
}

impl VulnerabilitiesPractice {
    pub fn new(store: Arc<dyn Store>) -> Self {
        VulnerabilitiesPractice { store }
    }

    fn error(e: StoreError) -> PracticeError {
        PracticeError::new(Practice::Vulnerabilities, e)
    }

    async fn assess_now(&self, now: DateTime<Utc>) -> Result<Assessment, StoreError> {
        let db = self.store.database();
        let vulns = VulnStore::new(self.store.as_ref());
        let today = now.date_naive();
        let interval = vulns.settings().await?.scan_interval_days;
        let cutoff = now - Duration::days(interval.max(0));

        let kev = vulns
            .findings_on(
                &FindingFilter {
                    kev: true,
                    overdue: true,
                    ..Default::default()
                },
                today,
            )
            .await?;
        let kev_assets = queries::kev_overdue_assets(&db, today).await?;
        let overdue = queries::overdue_groups(&db, today).await?;
        let soon =
            queries::critical_due_soon(&db, today, today + Duration::days(DUE_SOON_DAYS)).await?;
        let (unscanned, (open_kev, scanned, unscanned_total)) = if interval > 0 {
            (
                queries::unscanned_assets(&db, cutoff).await?,
                queries::totals(&db, cutoff).await?,
            )
        } else {
            (Vec::new(), queries::totals(&db, cutoff).await?)
        };

        let mut conditions: Vec<Condition> = kev
            .iter()
            .map(|f| kev_condition(f, kev_assets.iter().find(|a| a.id == f.asset_id)))
            .collect();
        conditions.extend(overdue.iter().map(overdue_condition));
        conditions.extend(soon.iter().map(|g| due_soon_condition(g, today)));
        conditions.extend(unscanned.iter().map(|u| {
            let days = (now - u.last_scanned).num_days();
            asset_condition(
                &u.asset,
                "asset_not_scanned",
                Level::Medium,
                format!(
                    "{} has not been scanned for vulnerabilities for {} (scan interval {})",
                    u.asset.name,
                    count(days.max(0) as usize, "day", "days"),
                    count(interval as usize, "day", "days")
                ),
            )
            .with_times(
                Some(u.last_scanned),
                Some(u.last_scanned + Duration::days(interval)),
            )
        }));

        let mut counts = VulnCounts {
            open_kev: open_kev as usize,
            scanned_assets: scanned as usize,
            unscanned_assets: if interval > 0 {
                unscanned_total as usize
            } else {
                0
            },
            scan_interval_days: interval,
            ..Default::default()
        };
        // The KEV findings are overdue too: they count in their severity's band.
        let bands = kev
            .iter()
            .map(|f| (f.severity.as_str().to_string(), 1, f.due_date))
            .chain(
                overdue
                    .iter()
                    .map(|g| (g.severity.clone(), g.findings, g.oldest_due)),
            );
        for (severity, n, due) in bands {
            let band = match severity.as_str() {
                "critical" => &mut counts.overdue_critical,
                "high" => &mut counts.overdue_high,
                _ => &mut counts.overdue_other,
            };
            add_to_band(band, n as usize, due);
        }
        Ok(Assessment {
            conditions,
            deductions: rules::deductions(&counts),
            ..Assessment::default()
        })
    }
}

fn add_to_band(band: &mut OverdueBand, findings: usize, due: NaiveDate) {
    band.findings += findings;
    band.oldest_due = Some(band.oldest_due.map_or(due, |d| d.min(due)));
}

/// The start of a day, as conditions carry times.
fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// A finding's severity as a condition's.
fn level(severity: Severity) -> Level {
    match severity {
        Severity::Critical => Level::Critical,
        Severity::High => Level::High,
        Severity::Medium => Level::Medium,
        Severity::Low | Severity::Unknown => Level::Low,
    }
}

fn asset_condition(asset: &AssetOwner, kind: &str, severity: Level, title: String) -> Condition {
    Condition::new(
        Practice::Vulnerabilities,
        kind,
        severity,
        EntityRef {
            kind: "asset".into(),
            id: asset.id,
            label: asset.name.clone(),
            link: format!("/assets/{}", asset.id),
        },
        title,
    )
    .with_asset(Some(asset.id), Some(asset.name.clone()))
    .with_owner(asset.team_id, asset.person_id)
}

/// The backlog item today's automatic items file for an overdue KEV finding, unchanged.
fn kev_proposal(f: &Finding) -> BacklogProposal {
    let impact = match f.severity {
        Severity::Critical | Severity::High => 1,
        Severity::Medium | Severity::Unknown => 2,
        Severity::Low => 3,
    };
    BacklogProposal {
        source: "kev_finding",
        source_key: format!("kev_finding:{}", f.id),
        item_type: ProposedItemType::Risk,
        title: format!(
            "Overdue known-exploited vulnerability {} in {} {}",
            f.vulnerability_id, f.package, f.installed_version
        ),
        description: format!(
            "{} ({}) is in CISA's Known Exploited Vulnerabilities catalog and was due on {}. \
             Severity {}, fixed in {}.\n\n{}",
            f.vulnerability_id,
            f.ids.join(", "),
            f.due_date,
            f.severity,
            f.fixed_version
                .as_deref()
                .unwrap_or("no fixed version known"),
            f.summary,
        ),
        impact,
        urgency: 1,
        team_id: None,
        asset_ids: vec![f.asset_id],
        label: format!("finding {} ({})", f.id, f.vulnerability_id),
    }
}

fn kev_condition(f: &Finding, asset: Option<&AssetOwner>) -> Condition {
    let fix = match &f.fixed_version {
        Some(v) => format!("fixed in {v}"),
        None => "no fixed version known".into(),
    };
    let on = asset.map(|a| format!(" on {}", a.name)).unwrap_or_default();
    Condition::new(
        Practice::Vulnerabilities,
        "kev_finding_overdue",
        Level::Critical,
        EntityRef {
            kind: "finding".into(),
            id: f.id,
            label: format!(
                "{} in {} {}",
                f.vulnerability_id, f.package, f.installed_version
            ),
            link: format!("/vulns/findings/{}", f.id),
        },
        format!(
            "Known-exploited {} in {} {}{on} was due {}; {fix}",
            f.vulnerability_id, f.package, f.installed_version, f.due_date
        ),
    )
    .with_asset(Some(f.asset_id), asset.map(|a| a.name.clone()))
    .with_owner(
        asset.and_then(|a| a.team_id),
        asset.and_then(|a| a.person_id),
    )
    .with_times(Some(f.first_seen), Some(day_start(f.due_date)))
    .with_backlog(kev_proposal(f))
}

fn overdue_condition(g: &FindingGroup) -> Condition {
    let severity: Severity = g.severity.parse().unwrap_or(Severity::Unknown);
    let n = g.findings as usize;
    let mut c = asset_condition(
        &g.asset,
        "findings_overdue",
        level(severity),
        format!(
            "{} on {} {} overdue (oldest due {})",
            count(
                n,
                &format!("{severity} finding"),
                &format!("{severity} findings")
            ),
            g.asset.name,
            if n == 1 { "is" } else { "are" },
            g.oldest_due
        ),
    )
    .with_times(Some(g.oldest_seen), Some(day_start(g.oldest_due)))
    .with_count(n as u32);
    // One condition per asset and severity: the key names both.
    c.key = format!(
        "vulnerabilities:findings_overdue:asset:{}:{severity}",
        g.asset.id
    );
    c.entity.link = format!(
        "/vulns?asset={}&overdue=1&severity={severity}",
        url_component(&g.asset.name)
    );
    c
}

fn due_soon_condition(g: &FindingGroup, today: NaiveDate) -> Condition {
    let n = g.findings as usize;
    let days = (g.oldest_due - today).num_days();
    let mut c = asset_condition(
        &g.asset,
        "critical_findings_due_soon",
        Level::High,
        format!(
            "{} on {} {} due {}",
            count(n, "critical finding", "critical findings"),
            g.asset.name,
            if n == 1 { "is" } else { "are" },
            match days {
                0 => "today".to_string(),
                1 => "tomorrow".to_string(),
                d => format!("in {d} days ({})", g.oldest_due),
            }
        ),
    )
    .with_times(Some(g.oldest_seen), Some(day_start(g.oldest_due)))
    .with_count(n as u32);
    c.entity.link = format!(
        "/vulns?asset={}&severity=critical&state=open",
        url_component(&g.asset.name)
    );
    c
}

/// An asset name as a query-string value.
fn url_component(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[async_trait]
impl PracticeContract for VulnerabilitiesPractice {
    fn practice(&self) -> Practice {
        Practice::Vulnerabilities
    }

    /// Announced by `vulnerability.overdue`, one per overdue finding.
    fn announced_kinds(&self) -> &'static [&'static str] {
        &["findings_overdue", "kev_finding_overdue"]
    }

    async fn assess(&self, now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        self.assess_now(now).await.map_err(Self::error)
    }

    async fn asset_facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        facets::asset_facets(self.store.as_ref(), asset_id, now)
            .await
            .map_err(Self::error)
    }

    fn jobs(&self, _context: &JobContext) -> Vec<JobSpec> {
        jobs::specs(&self.store)
    }
}
