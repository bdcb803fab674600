//! The practice contract: what every practice tells the rest of opsward, so the dashboard,
//! the asset page, hygiene scores, `/metrics`, notifications and automatic backlog items all
//! read one picture instead of naming each practice.
//!
//! A practice crate implements [`PracticeContract`] once, holding whatever store handle it
//! needs; the server registers it in a [`Registry`] and iterates that. The trait does no I/O
//! of its own and this module stays pure: implementations query their own tables.
//!
//! - [`Condition`]: something at risk now, that a person can act on ("TLS certificate for
//!   www.example.com expires in 9 days; no renewal in progress"), with severity, asset,
//!   entity link, since when and when it is due.
//! - [`Deduction`]: hygiene points lost, computed from the practice's live data, each
//!   explained in a sentence and linked to the list that shows it.
//! - [`AssetFacet`]: what the practice knows about one asset, as a small table.
//! - [`JobSpec`]: the background jobs the practice runs.

use crate::{job::JobSpec, practice::Practice};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, sync::Arc};
use utoipa::ToSchema;

crate::text_enum!(
    /// How bad a condition is. Ordered from the worst: `Critical < High < Medium < Low`, so
    /// sorting ascending puts the worst first.
    Severity {
        /// Broken or about to break: an expired certificate, a failed failover test, a
        /// known-exploited vulnerability past its due date.
        Critical => "critical",
        /// Will break soon or is past a deadline.
        High => "high",
        /// Needs attention within the normal planning cycle.
        Medium => "medium",
        /// Worth knowing; no deadline at risk.
        Low => "low",
    }
);

/// The record a condition is about, with the page that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EntityRef {
    /// What kind of record: `certificate`, `finding`, `host`, `measure`, `item`, ...
    pub kind: String,
    pub id: i64,
    /// What a person calls it: `www.example.com`, `CVE-2024-1234 in openssl 3.0.1`.
    pub label: String,
    /// Path of its page on this server, e.g. `/certificates/12`.
    pub link: String,
}

/// What a practice proposes as an automatic backlog item for a condition. The backlog
/// practice files one item per `(source, source_key)` and keeps it in line with the
/// condition; practices never write to the backlog themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogProposal {
    /// The automatic-item source this belongs to (`certificate`, `kev_finding`,
    /// `resilience_test`, `supplier_review`), which the backlog settings switch on and off.
    pub source: &'static str,
    /// Stable identity of the source object within the source, e.g. `certificate:12`.
    pub source_key: String,
    pub item_type: ProposedItemType,
    /// Title of the item (may differ from the condition's, which is shorter).
    pub title: String,
    /// Markdown description.
    pub description: String,
    /// ITIL impact and urgency, 1 (high) to 3 (low).
    pub impact: i32,
    pub urgency: i32,
    pub team_id: Option<i64>,
    pub asset_ids: Vec<i64>,
    /// What the item's source link shows, e.g. `certificate www.example.com`.
    pub label: String,
}

crate::text_enum!(
    /// The kind of backlog item a practice may propose.
    ProposedItemType {
        Problem => "problem",
        Risk => "risk",
        Incident => "incident",
        Improvement => "improvement",
    }
);

/// Something at risk now that a person can act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Condition {
    /// Stable identity across runs: `<practice>:<kind>:<entity kind>:<entity id>`.
    pub key: String,
    pub practice: Practice,
    /// What is wrong, as a snake_case word: `certificate_expiring`, `finding_overdue`, ...
    pub kind: String,
    pub severity: Severity,
    /// A sentence a person can act on.
    pub title: String,
    pub entity: EntityRef,
    /// The asset it concerns, if any.
    pub asset_id: Option<i64>,
    /// The asset's name; the registry fills it in when the practice leaves it empty.
    pub asset_name: Option<String>,
    /// Who should act: the owner of the entity, else of its asset.
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// Since when the condition holds, where the practice knows.
    pub since: Option<DateTime<Utc>>,
    /// When it must be dealt with; in the past means overdue.
    pub due: Option<DateTime<Utc>>,
    /// How many things it stands for (e.g. "12 overdue findings on db-1" is one condition of
    /// count 12), so overdue counts stay true when a practice groups.
    pub count: u32,
    /// The automatic backlog item this condition should keep open, if any.
    #[serde(skip)]
    pub backlog: Option<BacklogProposal>,
}

impl Condition {
    /// A condition of `count` 1 with no asset, owner, times or backlog proposal; fill in the
    /// rest with struct update syntax or the `with_*` helpers.
    pub fn new(
        practice: Practice,
        kind: &str,
        severity: Severity,
        entity: EntityRef,
        title: impl Into<String>,
    ) -> Self {
        Condition {
            key: format!("{practice}:{kind}:{}:{}", entity.kind, entity.id),
            practice,
            kind: kind.to_string(),
            severity,
            title: title.into(),
            entity,
            asset_id: None,
            asset_name: None,
            owner_team_id: None,
            owner_person_id: None,
            since: None,
            due: None,
            count: 1,
            backlog: None,
        }
    }

    pub fn with_asset(mut self, id: Option<i64>, name: Option<String>) -> Self {
        self.asset_id = id;
        self.asset_name = name;
        self
    }

    pub fn with_owner(mut self, team: Option<i64>, person: Option<i64>) -> Self {
        self.owner_team_id = team;
        self.owner_person_id = person;
        self
    }

    pub fn with_times(mut self, since: Option<DateTime<Utc>>, due: Option<DateTime<Utc>>) -> Self {
        self.since = since;
        self.due = due;
        self
    }

    pub fn with_count(mut self, count: u32) -> Self {
        self.count = count.max(1);
        self
    }

    pub fn with_backlog(mut self, proposal: BacklogProposal) -> Self {
        self.backlog = Some(proposal);
        self
    }

    /// Past its due time at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.due.is_some_and(|due| due < now)
    }
}

/// The order of the "at risk now" list: worst severity first, then the earliest due (no due
/// time last), then the oldest, then by key so the order is stable.
pub fn sort_at_risk(conditions: &mut [Condition]) {
    conditions.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| match (a.due, b.due) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.since.cmp(&b.since))
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// Hygiene points lost for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deduction {
    pub points: u8,
    /// A concrete sentence with numbers, e.g. "1 of 4 occurrences in the last 90 days failed".
    pub reason: String,
    /// The list that shows what the sentence counts, e.g. `/certificates?expiring=30`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Deduction {
    pub fn new(points: u32, reason: impl Into<String>, link: Option<&str>) -> Self {
        Deduction {
            points: u8::try_from(points.min(100)).unwrap_or(100),
            reason: reason.into(),
            link: link.map(str::to_string),
        }
    }
}

/// `weight × part / whole`, rounded up, so any share costs at least a point.
pub fn share_points(weight: u32, part: usize, whole: usize) -> u32 {
    if whole == 0 {
        return 0;
    }
    let (part, whole) = (part.min(whole) as u32, whole as u32);
    (weight * part).div_ceil(whole)
}

/// `n` things, singular or plural: `count(1, "host", "hosts")` is "1 host".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The verb for "n of m things has/have ...", agreeing with `n`.
pub fn has(n: usize) -> &'static str {
    if n == 1 {
        "has"
    } else {
        "have"
    }
}

/// How a facet row reads at a glance; the UI colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    Good,
    Warning,
    Bad,
    Neutral,
}

impl Tone {
    pub fn as_str(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Warning => "warning",
            Tone::Bad => "bad",
            Tone::Neutral => "neutral",
        }
    }
}

/// One row of a facet: its cells as text, the first linking to the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FacetRow {
    pub cells: Vec<String>,
    /// Page of the record the row shows.
    pub link: Option<String>,
    pub tone: Tone,
}

/// What one practice knows about one asset, as a small table for the asset page and
/// `opsward asset show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssetFacet {
    pub practice: Practice,
    /// Section heading: "Certificates", "Patch state", ...
    pub title: String,
    /// One line above the table: "2 certificates, 1 expiring within 30 days".
    pub summary: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<FacetRow>,
    /// What to say when there are no rows.
    pub empty: String,
    /// The practice's full list for this asset.
    pub more_link: Option<String>,
}

/// Why a practice could not report.
#[derive(Debug, thiserror::Error)]
#[error("{practice}: {source}")]
pub struct PracticeError {
    pub practice: Practice,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl PracticeError {
    pub fn new(
        practice: Practice,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        PracticeError {
            practice,
            source: source.into(),
        }
    }
}

/// A practice's reading of its live data at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assessment {
    pub conditions: Vec<Condition>,
    /// Hygiene deductions from live data, in the order the practice wants them applied;
    /// each already capped by the practice's own rule.
    pub deductions: Vec<Deduction>,
    /// Prometheus series only this practice knows (`# HELP`, `# TYPE` and samples, in the
    /// text exposition format), rendered from the same pass over its tables. `/metrics`
    /// serves them from the kept picture: a scrape then costs no query however large the
    /// estate (15,000 certificate series took 370 ms per scrape when read at scrape time).
    pub metric_series: String,
}

/// Where a job that needs the whole picture (automatic backlog items, condition
/// notifications) reads the conditions of every practice.
#[async_trait]
pub trait ConditionSource: Send + Sync + 'static {
    async fn conditions(&self, now: DateTime<Utc>) -> Result<Vec<Condition>, PracticeError>;

    /// Whether conditions of `kind` in `practice` are already announced by a more specific
    /// event of their own (see [`PracticeContract::announced_kinds`]), so that the generic
    /// condition notifications leave them out and nobody hears of one thing twice.
    fn announced_elsewhere(&self, _practice: Practice, _kind: &str) -> bool {
        false
    }
}

/// What a practice's jobs may use besides the practice's own store.
#[derive(Clone)]
pub struct JobContext {
    pub conditions: Arc<dyn ConditionSource>,
    /// Where people reach opsward (`public_url`), for links a job sends out; `None` when not
    /// configured, and then links stay paths.
    pub public_url: Option<String>,
}

/// What every practice implements. Implementations hold their store handle; the trait
/// itself does no I/O.
#[async_trait]
pub trait PracticeContract: Send + Sync + 'static {
    fn practice(&self) -> Practice;

    /// Conditions now and hygiene deductions from live data, from one pass over the
    /// practice's tables.
    async fn assess(&self, now: DateTime<Utc>) -> Result<Assessment, PracticeError>;

    /// What the practice knows about one asset, for the asset page; empty when nothing.
    async fn asset_facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError>;

    /// The practice's background jobs.
    fn jobs(&self, _context: &JobContext) -> Vec<JobSpec> {
        Vec::new()
    }

    /// Condition kinds that already raise a notification event of their own, with wording
    /// and thresholds specific to them (a certificate's expiry thresholds, a backlog item's
    /// SLA clock, the calendar's overdue occurrence). The generic `condition.opened`
    /// notifications skip these; every other condition is announced through them.
    fn announced_kinds(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Every registered practice, in registration order. The one place a practice is added.
#[derive(Clone, Default)]
pub struct Registry {
    practices: Vec<Arc<dyn PracticeContract>>,
}

/// Every practice's assessment at one moment; a practice that failed is listed with its
/// error and contributes nothing else.
#[derive(Debug, Default)]
pub struct Picture {
    pub computed_at: Option<DateTime<Utc>>,
    pub conditions: Vec<Condition>,
    pub deductions: BTreeMap<Practice, Vec<Deduction>>,
    /// Every practice's own series, in registration order.
    pub metric_series: String,
    pub failures: Vec<PracticeError>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, practice: impl PracticeContract) -> &mut Self {
        self.practices.push(Arc::new(practice));
        self
    }

    pub fn practices(&self) -> &[Arc<dyn PracticeContract>] {
        &self.practices
    }

    /// Assess every practice one after another (they share one connection pool, so running
    /// them at once only makes them queue), conditions sorted worst first.
    pub async fn assess(&self, now: DateTime<Utc>) -> Picture {
        let mut picture = Picture {
            computed_at: Some(now),
            ..Picture::default()
        };
        for practice in &self.practices {
            match practice.assess(now).await {
                Ok(assessment) => {
                    picture.conditions.extend(assessment.conditions);
                    picture
                        .deductions
                        .entry(practice.practice())
                        .or_default()
                        .extend(assessment.deductions);
                    picture.metric_series.push_str(&assessment.metric_series);
                }
                Err(e) => picture.failures.push(e),
            }
        }
        sort_at_risk(&mut picture.conditions);
        picture
    }

    /// Every practice's facets of one asset, in registration order; a failing practice is
    /// returned as an error beside the others' facets. Unlike [`Registry::assess`], the
    /// practices are asked at once: each reads a few rows of one asset, so a person waiting
    /// for the asset page waits for the slowest practice, not for the sum of them.
    pub async fn asset_facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> (Vec<AssetFacet>, Vec<PracticeError>) {
        let answers = futures_util::future::join_all(
            self.practices
                .iter()
                .map(|practice| practice.asset_facets(asset_id, now)),
        )
        .await;
        let mut facets = Vec::new();
        let mut failures = Vec::new();
        for answer in answers {
            match answer {
                Ok(found) => facets.extend(found),
                Err(e) => failures.push(e),
            }
        }
        (facets, failures)
    }

    /// Every practice's jobs.
    pub fn jobs(&self, context: &JobContext) -> Vec<JobSpec> {
        self.practices
            .iter()
            .flat_map(|p| p.jobs(context))
            .collect()
    }
}

#[async_trait]
impl ConditionSource for Registry {
    /// Every practice's conditions; fails when any practice fails, so that a job acting on
    /// the whole picture (closing items whose condition cleared) never acts on half of it.
    async fn conditions(&self, now: DateTime<Utc>) -> Result<Vec<Condition>, PracticeError> {
        let mut picture = self.assess(now).await;
        match picture.failures.pop() {
            Some(e) => Err(e),
            None => Ok(picture.conditions),
        }
    }

    fn announced_elsewhere(&self, practice: Practice, kind: &str) -> bool {
        self.practices
            .iter()
            .filter(|p| p.practice() == practice)
            .any(|p| p.announced_kinds().contains(&kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entity(id: i64) -> EntityRef {
        EntityRef {
            kind: "thing".into(),
            id,
            label: format!("thing {id}"),
            link: format!("/things/{id}"),
        }
    }

    #[test]
    fn at_risk_orders_by_severity_then_due_then_age() {
        let t = |d| Utc.with_ymd_and_hms(2026, 12, d, 0, 0, 0).unwrap();
        let c = |id, severity, due: Option<DateTime<Utc>>| {
            Condition::new(Practice::Certificates, "k", severity, entity(id), "t")
                .with_times(None, due)
        };
        let mut list = vec![
            c(1, Severity::Low, Some(t(1))),
            c(2, Severity::High, None),
            c(3, Severity::High, Some(t(9))),
            c(4, Severity::Critical, Some(t(20))),
            c(5, Severity::High, Some(t(2))),
        ];
        sort_at_risk(&mut list);
        let ids: Vec<i64> = list.iter().map(|c| c.entity.id).collect();
        assert_eq!(ids, vec![4, 5, 3, 2, 1]);
    }

    #[test]
    fn key_names_practice_kind_and_entity() {
        let c = Condition::new(
            Practice::Patches,
            "host_silent",
            Severity::High,
            entity(7),
            "t",
        );
        assert_eq!(c.key, "patches:host_silent:thing:7");
        assert_eq!(c.count, 1);
        assert_eq!(
            c.with_count(0).count,
            1,
            "a condition stands for at least one thing"
        );
    }

    #[test]
    fn overdue_is_strictly_after_due() {
        let due = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let c = Condition::new(Practice::Backlog, "k", Severity::Low, entity(1), "t")
            .with_times(None, Some(due));
        assert!(!c.is_overdue(due));
        assert!(c.is_overdue(due + chrono::Duration::seconds(1)));
        let undated = Condition::new(Practice::Backlog, "k", Severity::Low, entity(1), "t");
        assert!(!undated.is_overdue(due));
    }

    #[test]
    fn share_points_round_up() {
        assert_eq!(share_points(20, 1, 3), 7);
        assert_eq!(share_points(20, 0, 3), 0);
        assert_eq!(
            share_points(20, 5, 3),
            20,
            "a part larger than the whole is capped"
        );
        assert_eq!(share_points(20, 1, 0), 0);
    }

    struct Fixed(Practice, Result<Assessment, &'static str>);

    #[async_trait]
    impl PracticeContract for Fixed {
        fn practice(&self) -> Practice {
            self.0
        }
        async fn assess(&self, _now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
            self.1
                .clone()
                .map_err(|e| PracticeError::new(self.0, e.to_string()))
        }
        async fn asset_facets(
            &self,
            _asset_id: i64,
            _now: DateTime<Utc>,
        ) -> Result<Vec<AssetFacet>, PracticeError> {
            Ok(Vec::new())
        }
        fn announced_kinds(&self) -> &'static [&'static str] {
            &["certificate_expiring"]
        }
    }

    #[test]
    fn announced_kinds_are_per_practice() {
        let mut registry = Registry::new();
        registry.register(Fixed(Practice::Certificates, Err("unused")));
        assert!(registry.announced_elsewhere(Practice::Certificates, "certificate_expiring"));
        assert!(!registry.announced_elsewhere(Practice::Certificates, "certificate_unowned"));
        assert!(
            !registry.announced_elsewhere(Practice::Suppliers, "certificate_expiring"),
            "a kind is announced only by the practice that owns it"
        );
    }

    #[tokio::test]
    async fn a_failing_practice_is_reported_and_the_others_still_count() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
        let mut registry = Registry::new();
        registry
            .register(Fixed(
                Practice::Certificates,
                Ok(Assessment {
                    conditions: vec![Condition::new(
                        Practice::Certificates,
                        "k",
                        Severity::Low,
                        entity(1),
                        "t",
                    )],
                    deductions: vec![Deduction::new(5, "r", None)],
                    metric_series: "# TYPE a gauge\na 1\n".into(),
                }),
            ))
            .register(Fixed(Practice::Suppliers, Err("database gone")));
        let picture = registry.assess(now).await;
        assert_eq!(picture.conditions.len(), 1);
        assert_eq!(picture.deductions[&Practice::Certificates].len(), 1);
        assert_eq!(picture.metric_series, "# TYPE a gauge\na 1\n");
        assert_eq!(picture.failures.len(), 1);
        assert_eq!(
            picture.failures[0].to_string(),
            "suppliers: database gone",
            "the error names the practice"
        );
        let whole = ConditionSource::conditions(&registry, now).await;
        assert!(whole.is_err(), "a job never acts on half the picture");
    }
}
