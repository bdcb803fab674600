//! Prometheus metrics, served as text at `/metrics`.

use crate::picture::RiskPicture;
use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use chrono::{DateTime, Utc};
use opsward_core::{contract::Severity, job::JobState, practice::Practice};
use opsward_ops::notifications::OutboxBacklog;
use opsward_ops::summary::Summary;
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route pattern (`/api/v1/assets/{id}`), never the raw path, to bound cardinality.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabels {
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PracticeLabels {
    pub practice: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionKindLabels {
    pub practice: String,
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    pub practice: String,
    pub severity: String,
}

pub struct Metrics {
    registry: Registry,
    /// Set from the kept picture of operational risk on each scrape (see
    /// [`Metrics::record_picture`]).
    pub hygiene_score: Family<PracticeLabels, Gauge>,
    pub conditions: Family<ConditionLabels, Gauge>,
    /// Conditions per kind, for alerts on one kind (silent agents, say). Only kinds that
    /// hold now are present: the family is rebuilt on each scrape.
    pub condition_kinds: Family<ConditionKindLabels, Gauge>,
    /// Jobs per state, counted in the database on each scrape.
    pub job_queue: Family<StateLabels, Gauge>,
    /// Outbox messages waiting (`pending`, `digest`) or given up on (`dead`).
    pub outbox_messages: Family<StateLabels, Gauge>,
    /// Age of the oldest message still to send (0 when none waits).
    pub outbox_oldest_pending: Gauge,
    /// Seconds since the picture the gauges show was computed.
    pub picture_age: Gauge,
    pub occurrences_overdue: Family<PracticeLabels, Gauge>,
    pub occurrences_upcoming_30d: Family<PracticeLabels, Gauge>,
    pub assets_total: Gauge,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<HttpLabels, Histogram>,
    pub jobs: Family<JobLabels, Counter>,
    pub logins: Family<LoginLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("opsward");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
        });
        let jobs = Family::<JobLabels, Counter>::default();
        let logins = Family::<LoginLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests handled",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            http_duration.clone(),
        );
        registry.register("jobs", "Background jobs finished, by outcome", jobs.clone());
        registry.register("logins", "Sign-in attempts, by outcome", logins.clone());
        let hygiene_score = Family::<PracticeLabels, Gauge>::default();
        let occurrences_overdue = Family::<PracticeLabels, Gauge>::default();
        let occurrences_upcoming_30d = Family::<PracticeLabels, Gauge>::default();
        let assets_total = Gauge::default();
        let conditions = Family::<ConditionLabels, Gauge>::default();
        let picture_age = Gauge::default();
        let condition_kinds = Family::<ConditionKindLabels, Gauge>::default();
        let job_queue = Family::<StateLabels, Gauge>::default();
        let outbox_messages = Family::<StateLabels, Gauge>::default();
        let outbox_oldest_pending = Gauge::default();
        registry.register(
            "condition_kinds",
            "Conditions at risk now, per practice and kind",
            condition_kinds.clone(),
        );
        registry.register(
            "job_queue",
            "Background jobs in the queue, per state (queued, running, succeeded, dead)",
            job_queue.clone(),
        );
        registry.register(
            "outbox_messages",
            "Notifications waiting to be sent (pending), waiting for their digest, or given up on (dead)",
            outbox_messages.clone(),
        );
        registry.register(
            "outbox_oldest_pending_seconds",
            "Age of the oldest notification still to be sent, 0 when none waits",
            outbox_oldest_pending.clone(),
        );
        registry.register(
            "conditions",
            "Conditions at risk now, per practice and severity (list at /api/v1/conditions)",
            conditions.clone(),
        );
        registry.register(
            "picture_age_seconds",
            "Seconds since the conditions and hygiene gauges were computed",
            picture_age.clone(),
        );
        registry.register(
            "practice_hygiene_score",
            "Hygiene score per practice, 0-100 (reasons at /api/v1/summary)",
            hygiene_score.clone(),
        );
        registry.register(
            "occurrences_overdue",
            "Occurrences of the last 90 days without evidence, per practice",
            occurrences_overdue.clone(),
        );
        registry.register(
            "occurrences_upcoming_30d",
            "Occurrences still to do in the next 30 days, per practice",
            occurrences_upcoming_30d.clone(),
        );
        registry.register("assets", "Assets in the register", assets_total.clone());
        Metrics {
            registry,
            hygiene_score,
            occurrences_overdue,
            occurrences_upcoming_30d,
            assets_total,
            conditions,
            condition_kinds,
            job_queue,
            outbox_messages,
            outbox_oldest_pending,
            picture_age,
            http_requests,
            http_duration,
            jobs,
            logins,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// Set the hygiene and condition gauges from the kept picture. Every practice and
    /// severity is set, zeros included, so a condition that cleared reads 0, not its old value.
    pub fn record_picture(&self, picture: &RiskPicture) {
        self.record_summary(&picture.summary);
        for practice in Practice::ALL {
            for severity in Severity::ALL {
                let count = picture
                    .summary
                    .conditions
                    .iter()
                    .find(|c| c.practice == practice && c.severity == *severity)
                    .map_or(0, |c| c.count);
                self.conditions
                    .get_or_create(&ConditionLabels {
                        practice: practice.as_str().into(),
                        severity: severity.as_str().into(),
                    })
                    .set(count as i64);
            }
        }
        self.picture_age.set(picture.age_seconds() as i64);
        let mut kinds: HashMap<(Practice, &str), i64> = HashMap::new();
        for c in &picture.conditions {
            *kinds.entry((c.practice, c.kind.as_str())).or_default() += 1;
        }
        self.condition_kinds.clear();
        for ((practice, kind), n) in kinds {
            self.condition_kinds
                .get_or_create(&ConditionKindLabels {
                    practice: practice.as_str().into(),
                    kind: kind.into(),
                })
                .set(n);
        }
    }

    /// Set the job queue gauges: every state, zeros included.
    pub fn record_jobs(&self, counts: &[(JobState, i64)]) {
        for state in JobState::ALL {
            let n = counts
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            self.job_queue
                .get_or_create(&StateLabels {
                    state: state.as_str().into(),
                })
                .set(n);
        }
    }

    /// Set the outbox gauges.
    pub fn record_outbox(&self, backlog: &OutboxBacklog, now: DateTime<Utc>) {
        for (state, n) in [
            ("pending", backlog.pending),
            ("digest", backlog.digest),
            ("dead", backlog.dead),
        ] {
            self.outbox_messages
                .get_or_create(&StateLabels {
                    state: state.into(),
                })
                .set(n);
        }
        self.outbox_oldest_pending.set(
            backlog
                .oldest_pending
                .map_or(0, |t| (now - t).num_seconds().max(0)),
        );
    }

    /// Set the hygiene gauges from a summary.
    fn record_summary(&self, summary: &Summary) {
        for p in &summary.practices {
            let labels = PracticeLabels {
                practice: p.practice.as_str().into(),
            };
            self.hygiene_score
                .get_or_create(&labels)
                .set(i64::from(p.score));
            self.occurrences_overdue
                .get_or_create(&labels)
                .set(p.overdue as i64);
            self.occurrences_upcoming_30d
                .get_or_create(&labels)
                .set(p.upcoming_30d as i64);
        }
        self.assets_total.set(summary.assets.total);
    }

    pub fn job_finished(&self, kind: &str, outcome: &str) {
        self.jobs
            .get_or_create(&JobLabels {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn login(&self, outcome: &str) {
        self.logins
            .get_or_create(&LoginLabels {
                outcome: outcome.into(),
            })
            .inc();
    }
}

/// The content type of the OpenMetrics text format.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of Prometheus's classic text format (0.0.4).
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether a scraper's `Accept` header asks for OpenMetrics (Prometheus does; curl and
/// `promtool check metrics` read the classic format).
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|part| {
            let mut fields = part.split(';').map(str::trim);
            let kind = fields.next().unwrap_or_default();
            let refused = fields.any(|f| f.replace(' ', "") == "q=0");
            kind.eq_ignore_ascii_case("application/openmetrics-text") && !refused
        })
    })
}

/// The classic text format (0.0.4) of an OpenMetrics exposition. The two differ, for what
/// opsward exposes, in two places: a counter's family is named without `_total` in
/// OpenMetrics and with it in the classic format (its samples carry `_total` in both), and
/// only OpenMetrics ends with `# EOF`.
pub fn classic_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|prefix| line.strip_prefix(prefix).map(|rest| (prefix, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) && !name.ends_with("_total") {
                    out.push_str(&format!("{prefix}{name}_total {tail}"));
                } else {
                    out.push_str(line);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

pub async fn track_http(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let labels = HttpLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    metrics.http_requests.get_or_create(&labels).inc();
    metrics
        .http_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_with_total_in_the_classic_format() {
        let om = "# HELP opsward_jobs Jobs.\n# TYPE opsward_jobs counter\n\
                  opsward_jobs_total{kind=\"a\"} 1\n# HELP opsward_assets Assets.\n\
                  # TYPE opsward_assets gauge\nopsward_assets 3\n# EOF\n";
        assert_eq!(
            classic_text(om),
            "# HELP opsward_jobs_total Jobs.\n# TYPE opsward_jobs_total counter\n\
             opsward_jobs_total{kind=\"a\"} 1\n# HELP opsward_assets Assets.\n\
             # TYPE opsward_assets gauge\nopsward_assets 3\n"
        );
    }

    #[test]
    fn prometheus_gets_openmetrics_and_curl_the_classic_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
            version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(Some(prometheus)));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(!wants_openmetrics(None));
        assert!(!wants_openmetrics(Some("application/openmetrics-text;q=0")));
    }
}
