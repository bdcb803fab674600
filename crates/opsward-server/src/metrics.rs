//! Prometheus metrics, served as text at `/metrics`.

use crate::picture::RiskPicture;
use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use opsward_core::{contract::Severity, practice::Practice};
use opsward_ops::summary::Summary;
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
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
        registry.register(
            "assets_total",
            "Assets in the register",
            assets_total.clone(),
        );
        Metrics {
            registry,
            hygiene_score,
            occurrences_overdue,
            occurrences_upcoming_30d,
            assets_total,
            conditions,
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
