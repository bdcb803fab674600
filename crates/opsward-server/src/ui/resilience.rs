//! Resilience pages: the register of measures with their state, and one measure with its
//! procedure, schedule, evidence history and the form to record a test result.

use super::{describe, error_response, non_empty, render_with, Choice, Nav, UiForm};
use crate::{api::Caller, auth::Principal, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use opsward_core::page::PageRequest;
use opsward_ops::{Evidence, EvidenceResult};
use opsward_resilience::register::{
    MeasureFilter, MeasureKind, MeasureState, MeasureStatus, TestResultInput,
};
use serde::{Deserialize, Serialize};

const UI_PAGE_SIZE: u32 = 50;

/// A time as the pages show it.
pub(super) fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    asset: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// A measure as a row of the register.
pub struct Row {
    pub status: MeasureStatus,
    /// The measure's asset by name, linked.
    pub asset: super::names::NamedLink,
    pub last_tested: String,
    pub next_test: String,
    pub overdue_since: String,
}

#[derive(Template)]
#[template(path = "resilience/list.html")]
struct ListPage {
    nav: Nav,
    /// The asset filter's choices by name, the filtered one selected.
    assets: Vec<Choice>,
    kinds: Vec<Choice>,
    states: Vec<Choice>,
    rows: Vec<Row>,
    error: Option<String>,
    next_link: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut error = None;
    let kind = non_empty(&query.kind)
        .and_then(|k| k.parse::<MeasureKind>().map_err(|e| error = Some(e)).ok());
    let wanted_state = non_empty(&query.state)
        .and_then(|s| s.parse::<MeasureState>().map_err(|e| error = Some(e)).ok());
    let asset_id = non_empty(&query.asset).and_then(|a| {
        a.parse::<i64>()
            .map_err(|_| error = Some(format!("asset: {a:?} is not an asset id")))
            .ok()
    });
    let filter = MeasureFilter {
        asset_id,
        kind,
        state: wanted_state,
    };
    let page = match PageRequest::from_params(Some(UI_PAGE_SIZE), query.cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return error_response(ApiError::bad_request(e)),
    };
    let measures = match state.resilience.list(&filter, page).await {
        Ok(m) => m,
        Err(e) => return error_response(e.into()),
    };
    let names = match super::names::Names::load(&state).await {
        Ok(n) => n,
        Err(e) => return error_response(e.into()),
    };
    let base = serde_urlencoded::to_string(ListQuery {
        cursor: None,
        ..query
    })
    .unwrap_or_default();
    let next_link = measures.next_cursor.as_ref().map(|c| {
        let sep = if base.is_empty() { "" } else { "&" };
        format!("/resilience?{base}{sep}cursor={c}")
    });
    let rows = measures
        .items
        .into_iter()
        .map(|status| Row {
            asset: names.asset(status.measure.asset_id),
            last_tested: when(status.last_tested_at),
            next_test: when(status.next_test_at),
            overdue_since: when(status.overdue_since),
            status,
        })
        .collect();
    render_with(
        StatusCode::OK,
        &ListPage {
            nav: Nav::new(&caller, "resilience"),
            assets: names.asset_choices(asset_id),
            kinds: Choice::labelled(
                MeasureKind::ALL.iter().map(|k| (k.as_str(), k.label())),
                kind.map(|k| k.as_str()).unwrap_or(""),
            ),
            states: Choice::labelled(
                MeasureState::ALL.iter().map(|s| (s.as_str(), s.label())),
                wanted_state.map(|s| s.as_str()).unwrap_or(""),
            ),
            rows,
            error,
            next_link,
        },
    )
}

#[derive(Template)]
#[template(path = "resilience/detail.html")]
struct DetailPage {
    nav: Nav,
    row: Row,
    /// The test schedule in words (or the raw rule when there are none).
    schedule: super::schedule_editor::ScheduleText,
    /// The measure's owning team or person by name, linked.
    owner: Option<super::names::NamedLink>,
    evidence: Vec<(Evidence, String)>,
    results: Vec<EvidenceResult>,
    error: Option<String>,
}

async fn detail_page(
    state: &AppState,
    caller: &Principal,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let detail = match state.resilience.detail(id).await {
        Ok(d) => d,
        Err(e) => return error_response(e.into()),
    };
    let names = match super::names::Names::load(state).await {
        Ok(n) => n,
        Err(e) => return error_response(e.into()),
    };
    let owner = names.owner(
        detail.status.measure.owner_team_id,
        detail.status.measure.owner_person_id,
    );
    let s = detail.status;
    render_with(
        status,
        &DetailPage {
            nav: Nav::new(caller, "resilience"),
            schedule: super::schedule_editor::ScheduleText::new(
                &s.schedule.rrule,
                s.schedule.starts_local,
                &s.schedule.timezone,
            ),
            row: Row {
                asset: names.asset(s.measure.asset_id),
                last_tested: when(s.last_tested_at),
                next_test: when(s.next_test_at),
                overdue_since: when(s.overdue_since),
                status: s,
            },
            owner,
            evidence: detail
                .evidence
                .into_iter()
                .map(|e| {
                    let at = when(Some(e.recorded_at));
                    (e, at)
                })
                .collect(),
            results: EvidenceResult::ALL.to_vec(),
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
pub struct ResultForm {
    #[serde(default)]
    result: String,
    #[serde(default)]
    notes: String,
}

pub async fn record_result(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<ResultForm>,
) -> Response {
    let result = match form.result.parse::<EvidenceResult>() {
        Ok(r) => r,
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
    let input = TestResultInput {
        result,
        notes: form.notes,
        links: Vec::new(),
        occurrence_at: None,
    };
    match state
        .resilience
        .record_result(&caller.actor(), id, &input)
        .await
    {
        Ok(_) => Redirect::to(&format!("/resilience/{id}")).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            detail_page(&state, &caller, id, e.status, Some(describe(&e))).await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match state.resilience.measure(id).await {
            Ok(measure) => {
                let deletion = super::confirm::Deletion::new(
                    format!("the measure {}", measure.title),
                    format!("/resilience/{id}/delete"),
                    format!("/resilience/{id}"),
                )
                .effect("its calendar activity is paused; its evidence is kept");
                let deletion = deletion.counting(&state, "resilience_measures", id).await;
                super::confirm::page(&caller, "resilience", deletion)
            }
            Err(e) => error_response(e.into()),
        };
    }
    match state.resilience.delete(&caller.actor(), id).await {
        Ok(()) => Redirect::to("/resilience").into_response(),
        Err(e) => error_response(e.into()),
    }
}
