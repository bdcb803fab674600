//! The home page, from the kept picture of operational risk: what is at risk now across every
//! practice (worst first, each linked), hygiene score per practice with every deduction
//! explained and each practice's live conditions, everything overdue, the next 30 days,
//! evidence of the last 30 days and the asset register, as numbers and as server-drawn SVG
//! charts, and when the numbers were computed. Also the page of each practice.

use super::getting_started::Checklist;
use super::{
    error_response, render,
    svg::{self, Bar, Column, Segment},
    Nav, Practice, PRACTICES,
};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, State},
    response::Response,
};
use chrono::{DateTime, Utc};
use opsward_core::{
    contract::{Condition, Severity},
    Role,
};
use opsward_ops::{
    hygiene::{Deduction, PracticeScore, ScoreBand},
    summary::{DayLoad, Summary},
    Occurrence,
};

/// Occurrences listed on the dashboard; the calendar has the rest.
const AGENDA_LENGTH: usize = 15;
/// Conditions listed in the "at risk now" table; `/conditions` has the rest.
const AT_RISK_LENGTH: usize = 25;
/// Conditions listed on each practice's card.
const CARD_CONDITIONS: usize = 5;

const DONE: &str = "#1e7d32";
const OVERDUE: &str = "#b3261e";
const UPCOMING: &str = "#1f5fbf";

/// A practice's score as the page shows it, with its live conditions.
struct ScoreRow {
    key: &'static str,
    /// The practice's page, or its calendar for general operations work.
    page: String,
    title: &'static str,
    score: u8,
    band: &'static str,
    deductions: Vec<Deduction>,
    /// The practice's worst conditions now, at most five.
    conditions: Vec<Condition>,
    /// All its conditions.
    conditions_total: usize,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    summary: Summary,
    scores: Vec<ScoreRow>,
    scores_chart: String,
    days_chart: String,
    agenda: Vec<Occurrence>,
    more_upcoming: usize,
    /// Vulnerability findings open or acknowledged past their due date.
    vulns_overdue: usize,
    /// The worst conditions across practices.
    at_risk: Vec<Condition>,
    /// Conditions of severity critical or high.
    urgent: usize,
    computed_at: String,
    age_seconds: u64,
    now: DateTime<Utc>,
    /// Shown to operators and admins until every step is done.
    getting_started: Option<Checklist>,
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let picture = match state.picture.get().await {
        Ok(p) => p,
        Err(e) => return error_response(e.into()),
    };
    let summary = picture.summary.clone();
    let overdue = opsward_vulns::findings::FindingFilter {
        overdue: true,
        ..Default::default()
    };
    let vulns_overdue = match state.vulns.findings(&overdue).await {
        Ok(f) => f.len(),
        Err(e) => return error_response(e.into()),
    };
    let getting_started = if caller.role().allows(Role::Operator) {
        match Checklist::gather(&state).await {
            Ok(list) => Some(list).filter(|l| !l.all_done()),
            Err(e) => return error_response(e.into()),
        }
    } else {
        None
    };
    let scores: Vec<ScoreRow> = summary
        .practices
        .iter()
        .map(|p| score_row(p, &picture.conditions))
        .collect();
    let scores_chart = svg::horizontal_bars(
        "hygiene-chart",
        "Hygiene score per practice (0-100)",
        &scores
            .iter()
            .map(|s| Bar {
                label: s.title.into(),
                value: s.score,
                fill: band_colour(ScoreBand::of(s.score)),
            })
            .collect::<Vec<_>>(),
    );
    let days_chart = svg::stacked_columns(
        "days-chart",
        "Occurrences per day, next 30 days",
        &summary.days.iter().map(day_column).collect::<Vec<_>>(),
        &[("done", DONE), ("overdue", OVERDUE), ("upcoming", UPCOMING)],
        7,
    );
    let agenda: Vec<Occurrence> = summary
        .next_30_days
        .occurrences
        .iter()
        .take(AGENDA_LENGTH)
        .cloned()
        .collect();
    render(&DashboardPage {
        nav: Nav::new(&caller, "dashboard"),
        at_risk: picture
            .conditions
            .iter()
            .take(AT_RISK_LENGTH)
            .cloned()
            .collect(),
        urgent: picture
            .conditions
            .iter()
            .filter(|c| c.severity <= Severity::High)
            .count(),
        computed_at: picture
            .computed_at()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        age_seconds: picture.age_seconds(),
        now: Utc::now(),
        getting_started,
        more_upcoming: summary.next_30_days.count - agenda.len(),
        scores,
        scores_chart,
        days_chart,
        agenda,
        summary,
        vulns_overdue,
    })
}

fn score_row(p: &PracticeScore, conditions: &[Condition]) -> ScoreRow {
    let key = p.practice.as_str();
    let mine = conditions.iter().filter(|c| c.practice == p.practice);
    let known = PRACTICES.iter().any(|known| known.key == key);
    ScoreRow {
        page: if known {
            format!("/practices/{key}")
        } else {
            format!("/calendar?practice={key}")
        },
        conditions: mine.clone().take(CARD_CONDITIONS).cloned().collect(),
        conditions_total: mine.count(),
        key,
        title: PRACTICES
            .iter()
            .find(|known| known.key == key)
            .map_or("General", |known| known.title),
        score: p.score,
        band: p.band.as_str(),
        deductions: p.deductions.clone(),
    }
}

fn band_colour(band: ScoreBand) -> &'static str {
    match band {
        ScoreBand::Good => DONE,
        ScoreBand::Fair => "#a15c00",
        ScoreBand::Poor => OVERDUE,
    }
}

fn day_column(day: &DayLoad) -> Column {
    Column {
        label: day.date.format("%-d %b").to_string(),
        segments: vec![
            Segment {
                value: day.done as u32,
                fill: DONE,
            },
            Segment {
                value: day.overdue as u32,
                fill: OVERDUE,
            },
            Segment {
                value: day.upcoming as u32,
                fill: UPCOMING,
            },
        ],
    }
}

#[derive(Template)]
#[template(path = "practice.html")]
struct PracticePage {
    nav: Nav,
    practice: &'static Practice,
    score: ScoreRow,
    conditions: Vec<Condition>,
    computed_at: String,
    now: DateTime<Utc>,
}

/// One practice: its hygiene score with every deduction, and all its conditions now.
pub async fn practice(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(key): Path<String>,
) -> Response {
    let Some(practice) = PRACTICES.iter().find(|p| p.key == key) else {
        return error_response(ApiError::not_found("practice"));
    };
    let picture = match state.picture.get().await {
        Ok(p) => p,
        Err(e) => return error_response(e.into()),
    };
    let Some(score) = picture
        .summary
        .practices
        .iter()
        .find(|p| p.practice.as_str() == key)
        .map(|p| score_row(p, &picture.conditions))
    else {
        return error_response(ApiError::not_found("practice"));
    };
    render(&PracticePage {
        nav: Nav::new(&caller, practice.key),
        conditions: picture
            .conditions
            .iter()
            .filter(|c| c.practice.as_str() == key)
            .take(500)
            .cloned()
            .collect(),
        score,
        computed_at: picture
            .computed_at()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        now: Utc::now(),
        practice,
    })
}
