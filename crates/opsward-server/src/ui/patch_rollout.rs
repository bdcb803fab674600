//! The rollout page: rings in order with their window, soak and hosts; each approval's
//! state; the recent runs (the evidence); and, for operators, forms to approve a patch set
//! for a ring, to add, change or delete rings and to assign hosts (in `patch_ring_forms`).

use super::{describe, error_response, render_with, Nav, UiForm};
use crate::{api::Caller, auth::Principal, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_core::validation::ValidationError;
use opsward_patches::{
    reboot::RebootPolicy,
    store::rollout::{Approval, Ring, RunRecord},
};
use serde::Deserialize;

pub struct RingRow {
    pub ring: Ring,
    /// The edit form's values: the ring's, or what was sent when a change was refused.
    pub form: RingFields,
    /// The edit form is open (a change to this ring was refused).
    pub editing: bool,
    /// The next window start in the ring's own time zone.
    pub next_window: String,
    /// The window's schedule in words; none when only the raw rule says it exactly.
    pub words: Option<String>,
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
    drafts: Drafts,
    /// Enrolled hosts in no ring.
    unassigned: Vec<String>,
}

/// A ring form's fields as text, as the page shows and sends them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RingFields {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub rrule: String,
    /// Local start, `2026-12-01T02:00` (what `datetime-local` inputs send).
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    pub minutes: String,
    #[serde(default)]
    pub soak_hours: String,
    /// `never` or `if-required`.
    #[serde(default)]
    pub reboot_policy: String,
}

impl RingFields {
    pub fn of(ring: &Ring) -> Self {
        RingFields {
            name: ring.name.clone(),
            position: ring.position.to_string(),
            rrule: ring.window.rrule.clone(),
            start: ring
                .window
                .starts_local
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
            timezone: ring.window.timezone.clone(),
            minutes: ring.window.minutes.to_string(),
            soak_hours: ring.soak_hours.to_string(),
            reboot_policy: ring.reboot_policy.to_string(),
        }
    }

    /// A fresh ring's suggestion: weekly on Tuesday at 02:00 UTC for two hours, 24 h soak.
    pub fn new_ring() -> Self {
        RingFields {
            rrule: "FREQ=WEEKLY;BYDAY=TU".into(),
            start: "2026-01-06T02:00".into(),
            timezone: "UTC".into(),
            minutes: "120".into(),
            soak_hours: "24".into(),
            reboot_policy: "never".into(),
            ..Default::default()
        }
    }
}

/// What the forms show again after a refused submission.
pub struct Drafts {
    pub packages: String,
    pub new_ring: RingFields,
    /// A ring whose change was refused, with what was sent.
    pub edit: Option<(i64, RingFields)>,
    pub assign_hosts: String,
}

impl Default for Drafts {
    fn default() -> Self {
        Drafts {
            packages: String::new(),
            new_ring: RingFields::new_ring(),
            edit: None,
            assign_hosts: String::new(),
        }
    }
}

pub(super) async fn page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    error: Option<String>,
    mut drafts: Drafts,
) -> Response {
    let now = Utc::now();
    let (rings, members, approvals, runs, hosts) = match tokio::try_join!(
        state.patches.list_rings(),
        state.patches.ring_members(),
        state.patches.list_approvals(),
        state.patches.runs(None),
        state.patches.list_hosts(now),
    ) {
        Ok(all) => all,
        Err(e) => return error_response(e.into()),
    };
    let unassigned = hosts
        .into_iter()
        .map(|h| h.host.hostname)
        .filter(|name| !members.iter().any(|m| &m.hostname == name))
        .collect();
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
            let (form, editing) = match drafts.edit.take() {
                Some((id, fields)) if id == ring.id => (fields, true),
                other => {
                    drafts.edit = other;
                    (RingFields::of(&ring), false)
                }
            };
            RingRow {
                words: opsward_ops::schedule_words::rule_in_words(
                    &ring.window.rrule,
                    ring.window.starts_local,
                    &ring.window.timezone,
                ),
                form,
                editing,
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
            drafts,
            unassigned,
        },
    )
}

pub async fn rollout(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    page(&state, &caller, StatusCode::OK, None, Drafts::default()).await
}

#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    ring_id: i64,
    /// Package names separated by spaces, commas or lines.
    #[serde(default)]
    packages: String,
    /// `never`, `if-required`, or empty for the ring's policy.
    #[serde(default)]
    reboot_policy: String,
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
    let reboot = match form.reboot_policy.trim() {
        "" => Ok(None),
        p => p.parse::<RebootPolicy>().map(Some).map_err(|e| {
            opsward_store::StoreError::from(ValidationError::single("reboot policy", &e))
        }),
    };
    let result = match reboot {
        Ok(reboot) => {
            state
                .patches
                .approve(&caller.actor(), form.ring_id, &packages, reboot)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/patches/rollout").into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            let drafts = Drafts {
                packages: form.packages,
                ..Drafts::default()
            };
            page(&state, &caller, e.status, Some(describe(&e)), drafts).await
        }
    }
}
