//! The rollout page: rings in order with their window, soak and hosts; each approval's
//! state; the recent runs (the evidence); and, for operators, a form to approve a patch set
//! for a ring.

use super::{describe, error_response, render_with, Nav, UiForm};
use crate::{api::Caller, auth::Principal, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_patches::store::rollout::{Approval, Ring, RunRecord};
use serde::Deserialize;

pub struct RingRow {
    pub ring: Ring,
    /// The next window start in the ring's own time zone.
    pub next_window: String,
    pub open_now: bool,
    pub hosts: Vec<String>,
}

pub struct ApprovalRow {
    pub approval: Approval,
    pub ring: String,
}

pub struct RunRow {
    pub run: RunRecord,
    pub exit_code: String,
    pub upgraded: Vec<String>,
}

#[derive(Template)]
#[template(path = "patches/rollout.html")]
struct RolloutPage {
    nav: Nav,
    rings: Vec<RingRow>,
    approvals: Vec<ApprovalRow>,
    runs: Vec<RunRow>,
    error: Option<String>,
    packages: String,
}

async fn page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    error: Option<String>,
    packages: String,
) -> Response {
    let now = Utc::now();
    let (rings, members, approvals, runs) = match tokio::try_join!(
        state.patches.list_rings(),
        state.patches.ring_members(),
        state.patches.list_approvals(),
        state.patches.runs(None),
    ) {
        Ok(all) => all,
        Err(e) => return error_response(e.into()),
    };
    let ring_name = |id: i64| {
        rings
            .iter()
            .find(|r| r.id == id)
            .map_or_else(|| id.to_string(), |r| r.name.clone())
    };
    let approvals = approvals
        .into_iter()
        .take(50)
        .map(|a| ApprovalRow {
            ring: ring_name(a.ring_id),
            approval: a,
        })
        .collect();
    let runs = runs
        .into_iter()
        .take(50)
        .map(|r| RunRow {
            exit_code: r
                .run
                .exit_code
                .map_or_else(|| "killed".into(), |c| c.to_string()),
            upgraded: r
                .run
                .upgraded
                .iter()
                .map(|u| format!("{} {} → {}", u.name, u.from_version, u.to_version))
                .collect(),
            run: r,
        })
        .collect();
    let rings = rings
        .into_iter()
        .map(|ring| {
            let next_window = match (
                ring.window.next_start(now),
                opsward_ops::recurrence::parse_timezone(&ring.window.timezone),
            ) {
                (Ok(Some(t)), Ok(tz)) => {
                    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
                }
                _ => "none within a year".into(),
            };
            RingRow {
                open_now: matches!(ring.window.open_until(now), Ok(Some(_))),
                hosts: members
                    .iter()
                    .filter(|m| m.ring_id == ring.id)
                    .map(|m| m.hostname.clone())
                    .collect(),
                next_window,
                ring,
            }
        })
        .collect();
    render_with(
        status,
        &RolloutPage {
            nav: Nav::new(caller, "patches"),
            rings,
            approvals,
            runs,
            error,
            packages,
        },
    )
}

pub async fn rollout(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    page(&state, &caller, StatusCode::OK, None, String::new()).await
}

#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    ring_id: i64,
    /// Package names separated by spaces, commas or lines.
    #[serde(default)]
    packages: String,
}

pub async fn approve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<ApproveForm>,
) -> Response {
    let packages: Vec<String> = form
        .packages
        .split([' ', ',', '\n', '\r', '\t'])
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    match state
        .patches
        .approve(&caller.actor(), form.ring_id, &packages)
        .await
    {
        Ok(_) => Redirect::to("/patches/rollout").into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            page(&state, &caller, e.status, Some(describe(&e)), form.packages).await
        }
    }
}
