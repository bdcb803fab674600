//! Vulnerability pages: the findings list with filters, and a finding's page showing its
//! vulnerability (every id, severity, KEV, EPSS, the fix) with the assets it affects and the
//! lifecycle forms.

use super::{describe, error_response, non_empty, render_with, svg, Choice, Nav, UiForm};
use crate::{api::Caller, auth::Principal, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{NaiveDate, Utc};
use opsward_vulns::findings::{Finding, FindingFilter, FindingKind, FindingState, Transition};
use opsward_vulns::Severity;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    asset: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    kev: String,
    #[serde(default)]
    overdue: String,
}

/// A finding as a row, with its asset's name and whether it is overdue.
pub struct Row {
    pub finding: Finding,
    pub asset: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "vulns/list.html")]
struct ListPage {
    nav: Nav,
    asset: String,
    kinds: Vec<Choice>,
    severities: Vec<Choice>,
    states: Vec<Choice>,
    kev: bool,
    overdue: bool,
    rows: Vec<Row>,
    open: usize,
    overdue_count: usize,
    burndown_chart: String,
    error: Option<String>,
}

/// Days the burn-down chart covers, today included.
const BURNDOWN_DAYS: u64 = 30;

/// Open (or acknowledged) findings at the end of each of the last 30 days, as an SVG line.
async fn burndown_chart(state: &AppState) -> Result<String, ApiError> {
    let events = state.vulns.state_events().await?;
    let today = Utc::now().date_naive();
    let from = today - chrono::Days::new(BURNDOWN_DAYS - 1);
    let days = opsward_vulns::burndown::open_per_day(&events, from, today);
    let peak = days.iter().map(|(_, n)| *n).max().unwrap_or(0);
    // A scale with a whole middle grid line, never flat.
    let top = (peak.max(1).div_ceil(2) * 2) as f64;
    Ok(svg::line_chart(
        "burndown-chart",
        "Open findings at the end of each day, last 30 days",
        &days
            .iter()
            .map(|(d, _)| d.format("%-d %b").to_string())
            .collect::<Vec<_>>(),
        &[svg::Series {
            name: "open findings".into(),
            stroke: "#b3261e",
            points: days.iter().map(|(_, n)| Some(*n as f64)).collect(),
        }],
        0.0,
        top,
    ))
}

async fn rows(state: &AppState, findings: Vec<Finding>) -> Result<Vec<Row>, ApiError> {
    let today = Utc::now().date_naive();
    let mut rows = Vec::with_capacity(findings.len());
    let mut names = std::collections::HashMap::new();
    for finding in findings {
        let asset = match names.get(&finding.asset_id) {
            Some(name) => String::clone(name),
            None => {
                let name = state.store.get_asset(finding.asset_id).await?.name;
                names.insert(finding.asset_id, name.clone());
                name
            }
        };
        rows.push(Row {
            overdue: finding.is_overdue(today),
            asset,
            finding,
        });
    }
    Ok(rows)
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut error = None;
    let severity = non_empty(&query.severity)
        .and_then(|s| s.parse::<Severity>().map_err(|e| error = Some(e)).ok());
    let kind = non_empty(&query.kind)
        .and_then(|s| s.parse::<FindingKind>().map_err(|e| error = Some(e)).ok());
    let wanted_state = non_empty(&query.state)
        .and_then(|s| s.parse::<FindingState>().map_err(|e| error = Some(e)).ok());
    let asset_id = match non_empty(&query.asset) {
        None => None,
        Some(name) => match state.store.get_asset_by_name(&name).await {
            Ok(asset) => Some(asset.id),
            Err(_) => {
                error = Some(format!("asset: no asset named {name:?}"));
                Some(-1)
            }
        },
    };
    let filter = FindingFilter {
        asset_id,
        kind,
        state: wanted_state,
        severity,
        kev: !query.kev.is_empty(),
        overdue: !query.overdue.is_empty(),
        vulnerability_id: None,
    };
    let findings = match state.vulns.findings(&filter).await {
        Ok(f) => f,
        Err(e) => return error_response(e.into()),
    };
    let rows = match rows(&state, findings).await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let burndown_chart = match burndown_chart(&state).await {
        Ok(c) => c,
        Err(e) => return error_response(e),
    };
    let active = |r: &&Row| {
        matches!(
            r.finding.state,
            FindingState::Open | FindingState::Acknowledged
        )
    };
    render_with(
        StatusCode::OK,
        &ListPage {
            nav: Nav::new(&caller, "vulnerabilities"),
            asset: query.asset.clone(),
            kinds: Choice::labelled(
                FindingKind::ALL.iter().map(|s| (s.as_str(), s.label())),
                kind.map(|s| s.as_str()).unwrap_or(""),
            ),
            severities: Choice::labelled(
                Severity::ALL.iter().map(|s| (s.as_str(), s.label())),
                severity.map(|s| s.as_str()).unwrap_or(""),
            ),
            states: Choice::labelled(
                FindingState::ALL.iter().map(|s| (s.as_str(), s.label())),
                wanted_state.map(|s| s.as_str()).unwrap_or(""),
            ),
            kev: filter.kev,
            overdue: filter.overdue,
            open: rows.iter().filter(active).count(),
            overdue_count: rows.iter().filter(|r| r.overdue).count(),
            rows,
            burndown_chart,
            error,
        },
    )
}

#[derive(Template)]
#[template(path = "vulns/finding.html")]
struct DetailPage {
    nav: Nav,
    row: Row,
    affected: Vec<Row>,
    error: Option<String>,
}

async fn detail_page(
    state: &AppState,
    caller: &Principal,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let finding = match state.vulns.finding(id).await {
        Ok(f) => f,
        Err(e) => return error_response(e.into()),
    };
    let filter = FindingFilter {
        vulnerability_id: Some(finding.vulnerability_id.clone()),
        ..Default::default()
    };
    let same = match state.vulns.findings(&filter).await {
        Ok(f) => f,
        Err(e) => return error_response(e.into()),
    };
    let (mut row, affected) = match (rows(state, vec![finding]).await, rows(state, same).await) {
        (Ok(row), Ok(affected)) => (row, affected),
        (Err(e), _) | (_, Err(e)) => return error_response(e),
    };
    render_with(
        status,
        &DetailPage {
            nav: Nav::new(caller, "vulnerabilities"),
            row: row.remove(0),
            affected,
            error,
        },
    )
}

pub async fn detail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    detail_page(&state, &caller, id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    approver: String,
    #[serde(default)]
    until: String,
}

pub async fn transition(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<TransitionForm>,
) -> Response {
    let change = match form.action.as_str() {
        "acknowledge" => Ok(Transition::Acknowledge),
        "reopen" => Ok(Transition::Reopen),
        "false_positive" => Ok(Transition::FalsePositive {
            reason: form.reason,
        }),
        "accept_risk" => form
            .until
            .parse::<NaiveDate>()
            .map(|until| Transition::AcceptRisk {
                reason: form.reason,
                approver: form.approver,
                until,
            })
            .map_err(|_| format!("until: {:?} is not a date (YYYY-MM-DD)", form.until)),
        other => Err(format!(
            "action: {other:?} is not acknowledge, accept_risk, false_positive or reopen"
        )),
    };
    let change = match change {
        Ok(c) => c,
        Err(e) => {
            return detail_page(
                &state,
                &caller,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await
        }
    };
    match state.vulns.transition(&caller.actor(), id, &change).await {
        Ok(_) => Redirect::to(&format!("/vulns/findings/{id}")).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            detail_page(&state, &caller, id, e.status, Some(describe(&e))).await
        }
    }
}
