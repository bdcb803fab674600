//! What the practice knows about one asset: its open findings, worst first, and its port
//! exposure against its allowed-ports policy.

use chrono::{DateTime, Utc};
use opsward_core::contract::{count, AssetFacet, FacetRow, Tone};
use opsward_core::practice::Practice;
use opsward_store::{Store, StoreError};

use crate::findings::{Finding, FindingFilter, FindingKind, FindingState};
use crate::{Severity, VulnStore};

/// Rows a facet shows before pointing at the full list.
const ROWS: usize = 20;

fn is_open(f: &Finding) -> bool {
    matches!(f.state, FindingState::Open | FindingState::Acknowledged)
}

fn tone(f: &Finding, today: chrono::NaiveDate) -> Tone {
    if f.kev || f.due_date < today || f.severity == Severity::Critical {
        Tone::Bad
    } else if f.severity == Severity::High {
        Tone::Warning
    } else {
        Tone::Neutral
    }
}

pub async fn asset_facets(
    store: &dyn Store,
    asset_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<AssetFacet>, StoreError> {
    let vulns = VulnStore::new(store);
    let today = now.date_naive();
    let mut open: Vec<Finding> = vulns
        .findings(&FindingFilter {
            asset_id: Some(asset_id),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(is_open)
        .collect();
    // Worst first: KEV, then severity, then the earliest due.
    open.sort_by(|a, b| {
        b.kev
            .cmp(&a.kev)
            .then(b.severity.cmp(&a.severity))
            .then(a.due_date.cmp(&b.due_date))
            .then(a.id.cmp(&b.id))
    });
    let policy = vulns
        .port_policies()
        .await?
        .into_iter()
        .find(|p| p.asset_id == Some(asset_id));
    let mut facets = Vec::new();
    if !open.is_empty() {
        let name = store.get_asset(asset_id).await?.name;
        let overdue = open.iter().filter(|f| f.due_date < today).count();
        let kev = open.iter().filter(|f| f.kev).count();
        facets.push(AssetFacet {
            practice: Practice::Vulnerabilities,
            title: "Vulnerability findings".into(),
            summary: Some(format!(
                "{} open, {overdue} overdue, {kev} in CISA's KEV catalog",
                count(open.len(), "finding", "findings")
            )),
            columns: ["Finding", "Package", "Severity", "Due", "KEV", "State"]
                .map(String::from)
                .to_vec(),
            rows: open
                .iter()
                .take(ROWS)
                .map(|f| FacetRow {
                    cells: vec![
                        f.vulnerability_id.clone(),
                        format!("{} {}", f.package, f.installed_version),
                        f.severity.to_string(),
                        if f.due_date < today {
                            format!("{} (overdue)", f.due_date)
                        } else {
                            f.due_date.to_string()
                        },
                        if f.kev { "yes" } else { "" }.into(),
                        f.state.to_string(),
                    ],
                    link: Some(format!("/vulns/findings/{}", f.id)),
                    tone: tone(f, today),
                })
                .collect(),
            empty: "No open findings.".into(),
            more_link: Some(format!("/vulns?asset={}", super::url_component(&name))),
        });
    }
    let exposed: Vec<&Finding> = open
        .iter()
        .filter(|f| f.kind == FindingKind::Exposure)
        .collect();
    if policy.is_some() || !exposed.is_empty() {
        let allowed = policy
            .as_ref()
            .map(|p| p.allowed.clone())
            .unwrap_or_else(|| "the settings' default".into());
        facets.push(AssetFacet {
            practice: Practice::Vulnerabilities,
            title: "Exposure".into(),
            summary: Some(format!(
                "Allowed ports: {allowed}; {} not allowed",
                count(exposed.len(), "open port", "open ports")
            )),
            columns: ["Port", "Finding", "Since"].map(String::from).to_vec(),
            rows: exposed
                .iter()
                .take(ROWS)
                .map(|f| FacetRow {
                    cells: vec![
                        f.package.clone(),
                        f.summary.clone(),
                        f.first_seen.date_naive().to_string(),
                    ],
                    link: Some(format!("/vulns/findings/{}", f.id)),
                    tone: Tone::Bad,
                })
                .collect(),
            empty: "Every open port is allowed.".into(),
            more_link: Some("/vulns/policy".into()),
        });
    }
    Ok(facets)
}
