//! Patch pages: the host list with each host's patch state and the fleet's compliance
//! (numbers and a 30-day trend), and one host with its packages, pending updates and history.

use super::{error_response, non_empty, render, Nav};
use crate::{
    api::{patches::filter_hosts, Caller},
    ui::svg::{self, Series},
    AppState,
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    response::Response,
};
use chrono::Utc;
use opsward_patches::{
    policy::{FleetCompliance, PatchPolicy},
    store::{HostDetail, HostSummary},
};
use serde::Deserialize;

fn when(t: Option<chrono::DateTime<Utc>>) -> String {
    super::resilience::when(t)
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    host: String,
    #[serde(default)]
    overdue: Option<String>,
}

pub struct HostRow {
    pub summary: HostSummary,
    pub last_report: String,
}

#[derive(Template)]
#[template(path = "patches/list.html")]
struct ListPage {
    nav: Nav,
    host: String,
    overdue: bool,
    rows: Vec<HostRow>,
    fleet: FleetCompliance,
    mean_days: String,
    policy: PatchPolicy,
    current_chart: String,
    overdue_chart: String,
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListQuery>,
) -> Response {
    let now = Utc::now();
    let overdue = query
        .overdue
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "false");
    let hosts = match state.patches.list_hosts(now).await {
        Ok(h) => h,
        Err(e) => return error_response(e.into()),
    };
    let (fleet, trend) = match state.patches.compliance(now).await {
        Ok(c) => c,
        Err(e) => return error_response(e.into()),
    };
    let policy = match state.patches.policy().await {
        Ok(p) => p,
        Err(e) => return error_response(e.into()),
    };
    let labels: Vec<String> = trend
        .iter()
        .map(|p| p.day.format("%m-%d").to_string())
        .collect();
    let percent = trend
        .iter()
        .map(|p| (p.hosts > 0).then(|| 100.0 * p.current_hosts as f64 / p.hosts as f64))
        .collect();
    let current_chart = svg::line_chart(
        "patch-current-trend",
        "Hosts current, % by day",
        &labels,
        &[Series {
            name: "% current".into(),
            stroke: "#2f7d32",
            points: percent,
        }],
        0.0,
        100.0,
    );
    let max_overdue = trend
        .iter()
        .map(|p| p.overdue_updates)
        .max()
        .unwrap_or(0)
        .max(1);
    let overdue_chart = svg::line_chart(
        "patch-overdue-trend",
        "Overdue updates by day",
        &labels,
        &[Series {
            name: "overdue".into(),
            stroke: "#b3261e",
            points: trend
                .iter()
                .map(|p| Some(p.overdue_updates as f64))
                .collect(),
        }],
        0.0,
        max_overdue as f64,
    );
    let rows = filter_hosts(hosts, non_empty(&query.host).as_deref(), overdue)
        .into_iter()
        .map(|summary| HostRow {
            last_report: when(summary.host.last_report_at),
            summary,
        })
        .collect();
    render(&ListPage {
        nav: Nav::new(&caller, "patches"),
        host: query.host,
        overdue,
        rows,
        mean_days: fleet
            .mean_hours_to_patch
            .map(|h| format!("{:.1} days", h / 24.0))
            .unwrap_or_else(|| "no updates installed yet".into()),
        fleet,
        policy,
        current_chart,
        overdue_chart,
    })
}

pub struct PendingView {
    pub row: opsward_patches::store::PendingRow,
    pub first_seen: String,
    pub due: String,
    /// `critical` .. `low`, or `unknown`.
    pub severity: String,
    /// "closes 3 findings, 1 in KEV", or empty.
    pub closes: String,
}

#[derive(Template)]
#[template(path = "patches/host.html")]
struct HostPage {
    nav: Nav,
    detail: HostDetail,
    last_report: String,
    enrolled: String,
    pending: Vec<PendingView>,
    uptime: String,
    /// The last match of its inventory against the vulnerability advisories.
    vuln_match: Option<opsward_vulns::hosts::HostScan>,
}

fn posture(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

pub async fn host(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    let detail = match opsward_vulns::hosts::host_detail(state.store.as_ref(), id, Utc::now()).await
    {
        Ok(found) => found,
        Err(e) => return error_response(e.into()),
    };
    let (detail, vuln_match) = detail;
    let pending = detail
        .pending
        .iter()
        .map(|row| PendingView {
            first_seen: when(Some(row.first_seen_at)),
            due: when(Some(row.due_at)),
            severity: row
                .severity
                .map_or_else(|| "unknown".to_string(), |s| s.to_string()),
            closes: match row.fixes.findings.len() {
                0 => String::new(),
                n => format!(
                    "closes {n} finding{}, {} in KEV",
                    if n == 1 { "" } else { "s" },
                    row.fixes.kev
                ),
            },
            row: row.clone(),
        })
        .collect();
    let uptime = detail
        .summary
        .host
        .uptime_seconds
        .map(|s| format!("{}d {}h", s / 86_400, s % 86_400 / 3600))
        .unwrap_or_else(|| "unknown".into());
    render(&HostPage {
        nav: Nav::new(&caller, "patches"),
        last_report: when(detail.summary.host.last_report_at),
        enrolled: when(Some(detail.summary.host.enrolled_at)),
        pending,
        uptime,
        detail,
        vuln_match,
    })
}

mod filters {
    pub fn yes_no(v: &Option<bool>, _: &dyn askama::Values) -> askama::Result<&'static str> {
        Ok(super::posture(*v))
    }
}
