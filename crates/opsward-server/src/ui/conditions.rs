//! `/conditions`: everything at risk now across practices, worst first, filterable by
//! practice, severity, asset and overdue; from the kept picture of operational risk.

use super::{error_response, non_empty, render, Nav, PRACTICES};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Query, State},
    response::Response,
};
use chrono::{DateTime, Utc};
use opsward_core::{
    contract::{Condition, Severity},
    practice::Practice,
};
use serde::Deserialize;

/// Most rows on one page; the API lists every one.
const PAGE_LENGTH: usize = 500;

/// The filter form; empty fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct ConditionForm {
    #[serde(default)]
    practice: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    asset_id: String,
    #[serde(default)]
    overdue: String,
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "conditions.html")]
struct ConditionsPage {
    nav: Nav,
    conditions: Vec<Condition>,
    total: usize,
    practices: Vec<Choice>,
    severities: Vec<Choice>,
    overdue_only: bool,
    computed_at: String,
    now: DateTime<Utc>,
}

pub async fn page(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(form): Query<ConditionForm>,
) -> Response {
    let practice = match non_empty(&form.practice).map(|p| p.parse::<Practice>()) {
        Some(Err(e)) => return error_response(ApiError::bad_request(e)),
        other => other.and_then(Result::ok),
    };
    let severity = match non_empty(&form.severity).map(|s| s.parse::<Severity>()) {
        Some(Err(e)) => return error_response(ApiError::bad_request(e)),
        other => other.and_then(Result::ok),
    };
    let asset_id = match non_empty(&form.asset_id).map(|a| a.parse::<i64>()) {
        Some(Err(_)) => return error_response(ApiError::bad_request("asset_id must be a number")),
        other => other.and_then(Result::ok),
    };
    let overdue_only = matches!(form.overdue.as_str(), "1" | "true" | "on");
    let picture = match state.picture.get().await {
        Ok(p) => p,
        Err(e) => return error_response(e.into()),
    };
    let now = Utc::now();
    let matching: Vec<&Condition> = picture
        .conditions
        .iter()
        .filter(|c| practice.is_none_or(|p| c.practice == p))
        .filter(|c| severity.is_none_or(|s| c.severity <= s))
        .filter(|c| asset_id.is_none_or(|a| c.asset_id == Some(a)))
        .filter(|c| !overdue_only || c.is_overdue(now))
        .collect();
    render(&ConditionsPage {
        nav: Nav::new(&caller, "dashboard"),
        total: matching.len(),
        conditions: matching.into_iter().take(PAGE_LENGTH).cloned().collect(),
        practices: PRACTICES
            .iter()
            .map(|p| Choice {
                value: p.key,
                label: p.title,
                selected: practice.is_some_and(|chosen| chosen.as_str() == p.key),
            })
            .collect(),
        severities: Severity::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str(),
                label: s.label(),
                selected: severity == Some(*s),
            })
            .collect(),
        overdue_only,
        computed_at: picture
            .computed_at()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        now,
    })
}
