//! The home page: hygiene score per practice with every deduction explained, overdue work,
//! the next 30 days, evidence of the last 30 days and the asset register, as numbers and as
//! server-drawn SVG charts. Also the placeholder page of each practice.

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
use chrono::Utc;
use opsward_ops::{
    hygiene::{Deduction, PracticeScore, ScoreBand},
    summary::{DayLoad, Summary},
    Occurrence,
};

/// Occurrences listed on the dashboard; the calendar has the rest.
const AGENDA_LENGTH: usize = 15;

const DONE: &str = "#1e7d32";
const OVERDUE: &str = "#b3261e";
const UPCOMING: &str = "#1f5fbf";

/// A practice's score as the page shows it.
struct ScoreRow {
    key: &'static str,
    title: &'static str,
    score: u8,
    band: &'static str,
    deductions: Vec<Deduction>,
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
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let summary = match state.ops.summary(Utc::now(), &Default::default()).await {
        Ok(s) => s,
        Err(e) => return error_response(e.into()),
    };
    let overdue = opsward_vulns::findings::FindingFilter {
        overdue: true,
        ..Default::default()
    };
    let vulns_overdue = match state.vulns.findings(&overdue).await {
        Ok(f) => f.len(),
        Err(e) => return error_response(e.into()),
    };
    let scores: Vec<ScoreRow> = summary.practices.iter().map(score_row).collect();
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
        more_upcoming: summary.next_30_days.count - agenda.len(),
        scores,
        scores_chart,
        days_chart,
        agenda,
        summary,
        vulns_overdue,
    })
}

fn score_row(p: &PracticeScore) -> ScoreRow {
    let key = p.practice.as_str();
    ScoreRow {
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
}

pub async fn practice(Caller(caller): Caller, Path(key): Path<String>) -> Response {
    match PRACTICES.iter().find(|p| p.key == key) {
        Some(practice) => render(&PracticePage {
            nav: Nav::new(&caller, practice.key),
            practice,
        }),
        None => error_response(ApiError::not_found("practice")),
    }
}
