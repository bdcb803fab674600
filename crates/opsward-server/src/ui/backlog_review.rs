//! The backlog review page (the review list with a decision per item, applied and recorded
//! as evidence) and the report page with the backlog's charts as server-drawn SVG.

use super::{
    describe, error_response, render_with,
    svg::{self, Column, Segment, Series},
    Nav, UiForm,
};
use crate::{
    api::{
        backlog_more::{chart_data, review_params, ReviewQuery},
        Caller,
    },
    AppState,
};
use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_backlog::{
    charts::Charts,
    review::{
        apply_decisions, review_activity, review_list, Decision, DecisionKind, Decisions,
        ReviewList,
    },
};
use std::collections::BTreeMap;

#[derive(Template)]
#[template(path = "backlog/review.html")]
struct ReviewPage {
    nav: Nav,
    list: ReviewList,
    /// The review activity, when there is one: (id, title).
    activity: Option<(i64, String)>,
    error: Option<String>,
    done: Option<String>,
}

async fn review_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    q: &ReviewQuery,
    status: StatusCode,
    error: Option<String>,
    done: Option<String>,
) -> Response {
    let (stale_days, top) = match review_params(q) {
        Ok(p) => p,
        Err(e) => return error_response(e),
    };
    let items = match state.backlog.all_items().await {
        Ok(i) => i,
        Err(e) => return error_response(e.into()),
    };
    let activity = review_activity(&state.ops, None)
        .await
        .ok()
        .map(|a| (a.id, a.title));
    render_with(
        status,
        &ReviewPage {
            nav: Nav::new(caller, "backlog"),
            list: review_list(&items, Utc::now(), stale_days, top),
            activity,
            error,
            done,
        },
    )
}

#[derive(serde::Deserialize)]
pub struct ReviewPageQuery {
    stale_days: Option<i64>,
    top: Option<usize>,
    /// The evidence a review just recorded, to point at.
    evidence: Option<i64>,
}

pub async fn review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ReviewPageQuery>,
) -> Response {
    let done = q
        .evidence
        .map(|e| format!("Decisions applied and recorded as evidence #{e}."));
    let q = ReviewQuery {
        stale_days: q.stale_days,
        top: q.top,
    };
    review_page(&state, &caller, &q, StatusCode::OK, None, done).await
}

/// The decision form: `decision_<id>` per item (empty: no decision), with `impact_<id>`,
/// `urgency_<id>`, `into_<id>` and `note_<id>` where the decision needs them.
fn decisions_of(pairs: &[(String, String)]) -> Result<Vec<Decision>, String> {
    let mut fields: BTreeMap<i64, BTreeMap<&str, &str>> = BTreeMap::new();
    for (key, value) in pairs {
        let Some((name, id)) = key.rsplit_once('_') else {
            continue;
        };
        let Ok(id) = id.parse::<i64>() else {
            continue;
        };
        fields.entry(id).or_default().insert(name, value.trim());
    }
    let mut out = Vec::new();
    for (id, f) in fields {
        let kind = match f.get("decision").copied().unwrap_or("") {
            "" => continue,
            "keep" => DecisionKind::Keep,
            "close" => DecisionKind::Close,
            "reprioritise" => DecisionKind::Reprioritise,
            "merge" => DecisionKind::Merge,
            other => return Err(format!("#{id}: {other:?} is not a decision")),
        };
        let number = |name: &str| -> Result<Option<i64>, String> {
            match f.get(name).copied().unwrap_or("").trim_start_matches('#') {
                "" => Ok(None),
                v => v
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("#{id}: {name} must be a number")),
            }
        };
        out.push(Decision {
            item_id: id,
            decision: kind,
            impact: number("impact")?.map(|v| v as i32),
            urgency: number("urgency")?.map(|v| v as i32),
            into: number("into")?,
            note: f.get("note").copied().unwrap_or("").to_string(),
        });
    }
    if out.is_empty() {
        return Err("choose a decision for at least one item".into());
    }
    Ok(out)
}

pub async fn apply(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(pairs): UiForm<Vec<(String, String)>>,
) -> Response {
    let q = ReviewQuery {
        stale_days: None,
        top: None,
    };
    let decisions = match decisions_of(&pairs) {
        Ok(d) => d,
        Err(e) => {
            return review_page(
                &state,
                &caller,
                &q,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
                None,
            )
            .await
        }
    };
    let req = Decisions {
        activity_id: None,
        decisions,
    };
    match apply_decisions(
        &state.backlog,
        &state.ops,
        &caller.actor(),
        &req,
        Utc::now(),
    )
    .await
    {
        Ok(outcome) => Redirect::to(&format!("/backlog/review?evidence={}", outcome.evidence_id))
            .into_response(),
        Err(e) => {
            let e: crate::error::ApiError = e.into();
            review_page(&state, &caller, &q, e.status, Some(describe(&e)), None).await
        }
    }
}

#[derive(Template)]
#[template(path = "backlog/report.html")]
struct ReportPage {
    nav: Nav,
    data: Charts,
    size_chart: String,
    flow_chart: String,
    age_chart: String,
    throughput_chart: String,
    sla_chart: String,
}

const FLOW: [(&str, &str); 6] = [
    ("new", "#8fa3bf"),
    ("triaged", "#5b8def"),
    ("in progress", "#2b59c3"),
    ("waiting", "#e0a100"),
    ("resolved", "#3c9d5d"),
    ("closed", "#5b6475"),
];

/// The five charts of the report page.
pub fn draw(data: &Charts) -> [String; 5] {
    let labels: Vec<String> = data
        .weeks
        .iter()
        .map(|w| w.week_start.format("%m-%d").to_string())
        .collect();
    let every = (labels.len() / 6).max(1);
    let max_open = data.weeks.iter().map(|w| w.open).max().unwrap_or(0).max(1) as f64;
    let size = svg::line_chart(
        "backlog-size",
        "Open items at the end of each week",
        &labels,
        &[Series {
            name: "open".into(),
            stroke: "#2b59c3",
            points: data.weeks.iter().map(|w| Some(w.open as f64)).collect(),
        }],
        0.0,
        max_open,
    );
    let flow_columns: Vec<Column> = data
        .weeks
        .iter()
        .zip(&labels)
        .map(|(w, label)| {
            let s = &w.states;
            let values = [
                s.new,
                s.triaged,
                s.in_progress,
                s.waiting,
                s.resolved,
                s.closed,
            ];
            Column {
                label: label.clone(),
                segments: values
                    .iter()
                    .zip(FLOW)
                    .map(|(v, (_, fill))| Segment {
                        value: u32::try_from(*v).unwrap_or(u32::MAX),
                        fill,
                    })
                    .collect(),
            }
        })
        .collect();
    let flow = svg::stacked_columns(
        "backlog-flow",
        "Cumulative flow: items by state at the end of each week",
        &flow_columns,
        &FLOW,
        every,
    );
    let a = &data.ages;
    let ages: Vec<Column> = [
        ("0-7 days", a.days_0_7),
        ("8-30", a.days_8_30),
        ("31-90", a.days_31_90),
        ("90+", a.days_over_90),
    ]
    .into_iter()
    .map(|(label, n)| Column {
        label: label.into(),
        segments: vec![Segment {
            value: u32::try_from(n).unwrap_or(u32::MAX),
            fill: "#5b8def",
        }],
    })
    .collect();
    let age = svg::stacked_columns(
        "backlog-ages",
        "Open items by age",
        &ages,
        &[("open items", "#5b8def")],
        1,
    );
    let resolved: Vec<Column> = data
        .weeks
        .iter()
        .zip(&labels)
        .map(|(w, label)| Column {
            label: label.clone(),
            segments: vec![Segment {
                value: u32::try_from(w.resolved).unwrap_or(u32::MAX),
                fill: "#3c9d5d",
            }],
        })
        .collect();
    let throughput = svg::stacked_columns(
        "backlog-throughput",
        "Throughput: items resolved per week",
        &resolved,
        &[("resolved", "#3c9d5d")],
        every,
    );
    let sla = svg::line_chart(
        "backlog-sla",
        "SLA compliance: percent of the week's resolved items resolved in time",
        &labels,
        &[Series {
            name: "% within target".into(),
            stroke: "#3c9d5d",
            points: data.weeks.iter().map(|w| w.sla_percent).collect(),
        }],
        0.0,
        100.0,
    );
    [size, flow, age, throughput, sla]
}

#[derive(serde::Deserialize)]
pub struct ReportQuery {
    weeks: Option<usize>,
}

pub async fn report(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ReportQuery>,
) -> Response {
    let data = match chart_data(&state, q.weeks.unwrap_or(12)).await {
        Ok(d) => d,
        Err(e) => return error_response(e),
    };
    let [size_chart, flow_chart, age_chart, throughput_chart, sla_chart] = draw(&data);
    render_with(
        StatusCode::OK,
        &ReportPage {
            nav: Nav::new(&caller, "backlog"),
            data,
            size_chart,
            flow_chart,
            age_chart,
            throughput_chart,
            sla_chart,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_form_reads_one_decision_per_item() {
        let pairs: Vec<(String, String)> = [
            ("csrf_token", "x"),
            ("decision_4", "merge"),
            ("into_4", "#9"),
            ("note_4", "same outage"),
            ("decision_5", ""),
            ("decision_6", "reprioritise"),
            ("impact_6", "1"),
            ("urgency_6", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let d = decisions_of(&pairs).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].item_id, d[0].decision, d[0].into),
            (4, DecisionKind::Merge, Some(9))
        );
        assert_eq!(d[0].note, "same outage");
        assert_eq!((d[1].impact, d[1].urgency), (Some(1), None));
        let none: Vec<(String, String)> = vec![("decision_5".into(), String::new())];
        assert!(decisions_of(&none).is_err());
    }
}
