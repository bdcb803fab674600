//! Overdue findings raise notifications through the outbox: one event per finding and
//! overdue transition. The dedupe key names the finding and the state names its due date,
//! so a finding is notified once while it stays overdue, and again only if it becomes
//! overdue anew (fixed and reopened, with a new due date).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use opsward_core::practice::Practice;
use opsward_ops::notifications::{Event, Notifier, Severity as Level};
use opsward_store::{Store, StoreError};

use crate::findings::{Finding, FindingFilter};
use crate::severity::Severity;
use crate::VulnStore;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OverdueRun {
    pub overdue: usize,
    /// Outbox rows written (a finding notified before writes none).
    pub queued: usize,
}

/// The event for an overdue finding on `asset` (name, owner team, owner person).
pub fn overdue_event(
    finding: &Finding,
    asset: (&str, Option<i64>, Option<i64>),
    now: DateTime<Utc>,
) -> Event {
    let (name, team, person) = asset;
    let days = (now.date_naive() - finding.due_date).num_days();
    let severity = match finding.severity {
        Severity::Critical | Severity::High => Level::Critical,
        _ => Level::Warning,
    };
    Event {
        kind: "vulnerability.overdue".into(),
        practice: Practice::Vulnerabilities,
        severity,
        subject: format!(
            "Overdue {} finding on {name}: {} ({})",
            finding.kind, finding.vulnerability_id, finding.package
        ),
        body: format!(
            "{} on {name} ({} {}, severity {}) was due on {} and is {days} day(s) overdue.\n{}\n\
             Remediate it, or accept the risk with a reason and an approver.",
            finding.vulnerability_id,
            finding.package,
            finding.installed_version,
            finding.severity,
            finding.due_date,
            finding.summary,
        ),
        link: Some(format!("/vulns/findings/{}", finding.id)),
        owner_team_id: team,
        owner_person_id: person,
        dedupe_key: format!("vuln_finding:{}:overdue", finding.id),
        state: format!("overdue:{}", finding.due_date),
        occurred_at: now,
    }
}

/// Emits an event for every finding that is open or acknowledged past its due date.
pub async fn notify_overdue(
    vulns: &VulnStore,
    store: &dyn Store,
    notifier: &Notifier,
    now: DateTime<Utc>,
) -> Result<OverdueRun, StoreError> {
    let overdue = vulns
        .findings(&FindingFilter {
            overdue: true,
            ..Default::default()
        })
        .await?;
    let mut assets: HashMap<i64, (String, Option<i64>, Option<i64>)> = HashMap::new();
    let mut run = OverdueRun {
        overdue: overdue.len(),
        queued: 0,
    };
    for finding in overdue.iter().filter(|f| f.is_overdue(now.date_naive())) {
        if !assets.contains_key(&finding.asset_id) {
            let a = store.get_asset(finding.asset_id).await?;
            assets.insert(a.id, (a.name, a.owner_team_id, a.owner_person_id));
        }
        let (name, team, person) = &assets[&finding.asset_id];
        let event = overdue_event(finding, (name, *team, *person), now);
        run.queued += notifier.emit(&event, now).await?.len();
    }
    Ok(run)
}
