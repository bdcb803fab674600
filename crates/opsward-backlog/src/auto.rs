//! Automatic items: conditions other practices report (a certificate expiring without an
//! owner, an overdue KEV finding, a failed resilience test, a badly scored supplier) each
//! keep exactly one linked backlog item.
//!
//! Each practice proposes an item on the conditions it reports (a
//! [`BacklogProposal`] with a source and a stable `source_key`); [`run_auto_items`] reads
//! every practice's conditions once, takes the proposals of each enabled source and
//! [`sync`]s them with the stored links:
//!
//! - a new key opens an item and its link in one transaction; the link is unique per
//!   (source, key), so a rerun or a second server racing on the same key finds it instead of
//!   filing a duplicate;
//! - a known key whose severity changed re-prioritises the item once (while it is open), so
//!   a person's own change of priority stands until the source's severity moves;
//! - a key no longer reported marks the link cleared and comments on the item, once;
//! - a cleared key that comes back comments once more and marks it active again; the job
//!   never reopens an item a person resolved or closed.

use crate::{
    model::{Item, ItemFields, ItemInput, ItemPatch, ItemType},
    store::{BacklogError, BacklogStore},
};
use chrono::{DateTime, Utc};
use opsward_core::{
    contract::{self, BacklogProposal, ConditionSource, ProposedItemType},
    Actor, ValidationError,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

opsward_core::text_enum!(
    /// The practice condition an automatic item stands for.
    AutoItemSource {
        /// A certificate in use expiring within the certificates' first threshold, with no
        /// owner to renew it.
        Certificate => "certificate",
        /// A finding in CISA's KEV catalog, still open after its due date.
        KevFinding => "kev_finding" as "KEV finding",
        /// A resilience measure whose last test failed (or passed only partly).
        ResilienceTest => "resilience_test",
        /// A supplier whose latest review scored below the threshold.
        SupplierReview => "supplier_review",
    }
);

/// One condition as the source practice sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Stable identity of the source object, e.g. `certificate:12`.
    pub source_key: String,
    pub title: String,
    pub description: String,
    pub item_type: ItemType,
    /// ITIL impact and urgency, 1 (high) to 3 (low), from the source's severity.
    pub impact: i32,
    pub urgency: i32,
    pub team_id: Option<i64>,
    pub asset_ids: Vec<i64>,
    /// Path of the source object's page, e.g. `/certificates/12`.
    pub link: String,
    /// What the link shows, e.g. `certificate www.example.com`.
    pub label: String,
}

/// The link between a source object and the item opened for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogAutoItem)]
pub struct AutoItem {
    pub id: i64,
    pub source: AutoItemSource,
    pub source_key: String,
    pub item_id: i64,
    /// Path of the source object's page.
    pub link: String,
    pub label: String,
    /// The severity last applied to the item.
    pub impact: i32,
    pub urgency: i32,
    /// Whether the condition held at the last run.
    pub active: bool,
    pub opened_at: DateTime<Utc>,
    pub changed_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
}

/// What one run did for one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogAutoSourceRun)]
pub struct SourceRun {
    pub source: Option<AutoItemSource>,
    /// Conditions the source reports now.
    pub conditions: usize,
    /// Items opened for new conditions.
    pub opened: usize,
    /// Items whose priority followed a change of the source's severity.
    pub reprioritised: usize,
    /// Conditions that cleared (a comment on each item).
    pub cleared: usize,
    /// Cleared conditions that came back (a comment on each item).
    pub returned: usize,
    /// Why the source could not be checked; the other sources still ran.
    pub error: Option<String>,
}

/// What a run of the automatic-items job did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogAutoRun)]
pub struct AutoRun {
    pub at: Option<DateTime<Utc>>,
    /// One entry per enabled source.
    pub sources: Vec<SourceRun>,
}

impl AutoRun {
    /// Conditions reported by all sources together.
    pub fn conditions(&self) -> usize {
        self.sources.iter().map(|s| s.conditions).sum()
    }

    pub fn failed(&self) -> bool {
        self.sources.iter().any(|s| s.error.is_some())
    }
}

/// Which sources run, how often, and the supplier threshold. Read from the configuration
/// file (`[backlog_auto]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = BacklogAutoSettings)]
pub struct AutoSettings {
    /// Minutes between scheduled runs (1-1440).
    pub interval_minutes: u32,
    pub certificates: bool,
    pub kev_findings: bool,
    pub resilience_tests: bool,
    pub supplier_reviews: bool,
    /// A supplier whose latest review's weighted score (1-5) is below this opens an item.
    pub supplier_score_below: f64,
}

impl Default for AutoSettings {
    fn default() -> Self {
        AutoSettings {
            interval_minutes: 15,
            certificates: true,
            kev_findings: true,
            resilience_tests: true,
            supplier_reviews: true,
            supplier_score_below: 3.0,
        }
    }
}

impl AutoSettings {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(1..=1440).contains(&self.interval_minutes) {
            return Err(ValidationError::single(
                "interval_minutes",
                "must be 1 to 1440",
            ));
        }
        if !(1.0..=5.0).contains(&self.supplier_score_below) {
            return Err(ValidationError::single(
                "supplier_score_below",
                "must be 1 to 5",
            ));
        }
        Ok(())
    }

    pub fn enabled(&self, source: AutoItemSource) -> bool {
        match source {
            AutoItemSource::Certificate => self.certificates,
            AutoItemSource::KevFinding => self.kev_findings,
            AutoItemSource::ResilienceTest => self.resilience_tests,
            AutoItemSource::SupplierReview => self.supplier_reviews,
        }
    }
}

/// The item a new condition opens: tagged `auto` and with its source, so lists can find them.
pub(crate) fn fields_for(source: AutoItemSource, c: &Condition) -> ItemFields {
    ItemFields::from_input(&ItemInput {
        item_type: c.item_type,
        title: c.title.chars().take(200).collect(),
        description: format!("{}\n\nSource: [{}]({})", c.description, c.label, c.link),
        impact: c.impact,
        urgency: c.urgency,
        wsjf: None,
        team_id: c.team_id,
        assignee_person_id: None,
        tags: vec!["auto".into(), source.as_str().replace('_', "-")],
        asset_ids: c.asset_ids.clone(),
    })
}

/// Bring the items of one source in line with the conditions it reports now.
pub async fn sync(
    backlog: &BacklogStore,
    actor: &Actor,
    source: AutoItemSource,
    conditions: &[Condition],
) -> Result<SourceRun, BacklogError> {
    let links: HashMap<String, AutoItem> = backlog
        .auto_items(Some(source), None)
        .await?
        .into_iter()
        .map(|l| (l.source_key.clone(), l))
        .collect();
    let mut run = SourceRun {
        source: Some(source),
        ..SourceRun::default()
    };
    let mut seen = HashSet::new();
    for c in conditions {
        if !seen.insert(c.source_key.as_str()) {
            continue;
        }
        run.conditions += 1;
        let Some(link) = links.get(&c.source_key) else {
            if backlog.open_auto_item(actor, source, c).await?.is_some() {
                run.opened += 1;
            }
            continue;
        };
        if !link.active {
            let note = format!(
                "Automatic check: the condition is back ({}). This item is not reopened by the check; reopen it if the work is needed again.",
                c.label
            );
            if backlog.set_auto_active(actor, link, true, &note).await? {
                run.returned += 1;
            }
        }
        if (link.impact, link.urgency) != (c.impact, c.urgency) {
            if reprioritise(backlog, actor, link, c).await? {
                run.reprioritised += 1;
            }
        } else if link.link != c.link || link.label != c.label {
            backlog.update_auto_link(actor, link, c).await?;
        }
    }
    for link in links.values() {
        if link.active && !seen.contains(link.source_key.as_str()) {
            let note = format!(
                "Automatic check: the condition has cleared ({}). Resolve this item when the follow-up work is done.",
                link.label
            );
            if backlog.set_auto_active(actor, link, false, &note).await? {
                run.cleared += 1;
            }
        }
    }
    Ok(run)
}

/// Follow a change of the source's severity: the open item takes the new impact and
/// urgency; a resolved or closed one stays as it is. `false` when another writer changed
/// the item meanwhile (the next run tries again).
async fn reprioritise(
    backlog: &BacklogStore,
    actor: &Actor,
    link: &AutoItem,
    c: &Condition,
) -> Result<bool, BacklogError> {
    let item: Item = backlog.get_item(link.item_id).await?;
    let mut changed = false;
    if item.state.is_open() && (item.impact, item.urgency) != (c.impact, c.urgency) {
        let patch = ItemPatch {
            version: Some(item.version),
            impact: Some(c.impact),
            urgency: Some(c.urgency),
            ..ItemPatch::default()
        };
        match backlog.update_item(actor, item.id, &patch).await {
            Ok(_) => changed = true,
            Err(BacklogError::VersionConflict { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    backlog.update_auto_link(actor, link, c).await?;
    Ok(changed)
}

/// The backlog item type a practice's proposal asks for.
pub fn item_type_of(proposed: ProposedItemType) -> ItemType {
    match proposed {
        ProposedItemType::Problem => ItemType::Problem,
        ProposedItemType::Risk => ItemType::Risk,
        ProposedItemType::Incident => ItemType::Incident,
        ProposedItemType::Improvement => ItemType::Improvement,
    }
}

/// The automatic-item condition of a practice's proposal; the source link is the page of
/// the condition's entity.
pub fn from_proposal(proposal: &BacklogProposal, link: &str) -> Condition {
    Condition {
        source_key: proposal.source_key.clone(),
        title: proposal.title.clone(),
        description: proposal.description.clone(),
        item_type: item_type_of(proposal.item_type),
        impact: proposal.impact,
        urgency: proposal.urgency,
        team_id: proposal.team_id,
        asset_ids: proposal.asset_ids.clone(),
        link: link.to_string(),
        label: proposal.label.clone(),
    }
}

/// The proposals of one source among every practice's conditions.
pub fn proposals_for(source: AutoItemSource, conditions: &[contract::Condition]) -> Vec<Condition> {
    conditions
        .iter()
        .filter_map(|c| {
            let proposal = c.backlog.as_ref()?;
            (proposal.source == source.as_str()).then(|| from_proposal(proposal, &c.entity.link))
        })
        .collect()
}

/// Read every practice's conditions once and bring the items of each enabled source in
/// line with the proposals on them. When the conditions cannot be read, no source is
/// synced and each reports the error: a practice that fails must not clear the items its
/// conditions keep open. A source whose sync fails is reported; the others still run.
pub async fn run_auto_items(
    backlog: &BacklogStore,
    conditions: &dyn ConditionSource,
    settings: &AutoSettings,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AutoRun {
    let enabled: Vec<AutoItemSource> = AutoItemSource::ALL
        .iter()
        .copied()
        .filter(|s| settings.enabled(*s))
        .collect();
    let mut out = AutoRun {
        at: Some(now),
        sources: Vec::new(),
    };
    let failed = |source: AutoItemSource, e: String| {
        tracing::warn!(source = %source, error = %e, "automatic backlog items: source failed");
        SourceRun {
            source: Some(source),
            error: Some(format!("{source}: {e}")),
            ..SourceRun::default()
        }
    };
    if enabled.is_empty() {
        return out;
    }
    let all = match conditions.conditions(now).await {
        Ok(all) => all,
        Err(e) => {
            let e = format!("conditions could not be read, nothing synced ({e})");
            out.sources = enabled.into_iter().map(|s| failed(s, e.clone())).collect();
            return out;
        }
    };
    for source in enabled {
        let proposed = proposals_for(source, &all);
        let run = sync(backlog, actor, source, &proposed)
            .await
            .unwrap_or_else(|e| failed(source, e.to_string()));
        out.sources.push(run);
    }
    out
}
