//! The rollout page's ring forms, for operators: add a ring, change or delete one, and put
//! hosts in a ring (or in none). A refused form shows the page again with the message and
//! what was sent. The store writes the audit log.

use super::{
    describe,
    patch_rollout::{page, Drafts, RingFields},
    UiForm,
};
use crate::{api::Caller, error::ApiError, extract::ApiPath, AppState};
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use chrono::NaiveDateTime;
use opsward_core::validation::{ValidationError, Validator};
use opsward_patches::{store::rollout::RingInput, window::MaintenanceWindow};
use serde::Deserialize;

fn invalid(field: &str, message: &str) -> ApiError {
    ValidationError::single(field, message).into()
}

/// The form's text as a ring, or the fields that are not numbers or times.
fn ring_input(f: &RingFields) -> Result<RingInput, ApiError> {
    let mut v = Validator::new();
    let number = |v: &mut Validator, field: &str, text: &str| {
        text.trim().parse::<i64>().unwrap_or_else(|_| {
            v.error(field, "must be a whole number");
            0
        })
    };
    let position = number(&mut v, "order", &f.position);
    let minutes = number(&mut v, "window minutes", &f.minutes);
    let soak_hours = number(&mut v, "soak hours", &f.soak_hours);
    let start = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(f.start.trim(), fmt).ok());
    let reboot_policy: opsward_patches::reboot::RebootPolicy = match f.reboot_policy.trim() {
        "" => Default::default(),
        p => p.parse().unwrap_or_else(|e: String| {
            v.error("reboot policy", e);
            Default::default()
        }),
    };
    if start.is_none() {
        v.error(
            "first window",
            "must be a local date and time like 2026-12-01T02:00",
        );
    }
    v.finish()?;
    Ok(RingInput {
        name: f.name.trim().to_string(),
        position,
        soak_hours,
        window: MaintenanceWindow {
            rrule: f.rrule.trim().to_string(),
            starts_local: start.unwrap_or_default(),
            timezone: f.timezone.trim().to_string(),
            minutes,
        },
        reboot_policy,
    })
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<RingFields>,
) -> Response {
    let result = match ring_input(&form) {
        Ok(input) => state
            .patches
            .create_ring(&caller.actor(), &input)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/patches/rollout").into_response(),
        Err(e) => {
            let drafts = Drafts {
                new_ring: form,
                ..Drafts::default()
            };
            page(&state, &caller, e.status, Some(describe(&e)), drafts).await
        }
    }
}

pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    UiForm(form): UiForm<RingFields>,
) -> Response {
    let result = match ring_input(&form) {
        Ok(input) => state
            .patches
            .update_ring(&caller.actor(), id, &input)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(ring) => Redirect::to(&format!("/patches/rollout#ring-{}", ring.id)).into_response(),
        Err(e) => {
            let drafts = Drafts {
                edit: Some((id, form)),
                ..Drafts::default()
            };
            page(&state, &caller, e.status, Some(describe(&e)), drafts).await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        let ring = match state.patches.list_rings().await {
            Ok(rings) => rings.into_iter().find(|r| r.id == id),
            Err(e) => return super::error_response(e.into()),
        };
        let Some(ring) = ring else {
            return super::error_response(ApiError::not_found("patch ring"));
        };
        let deletion = super::confirm::Deletion::new(
            format!("the ring {}", ring.name),
            format!("/patches/rollout/rings/{id}/delete"),
            "/patches/rollout",
        );
        let deletion = deletion.counting(&state, "patch_rings", id).await;
        return super::confirm::page(&caller, "patches", deletion);
    }
    match state.patches.delete_ring(&caller.actor(), id).await {
        Ok(_) => Redirect::to("/patches/rollout").into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            page(
                &state,
                &caller,
                e.status,
                Some(describe(&e)),
                Drafts::default(),
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    /// A ring id, or empty for no ring.
    #[serde(default)]
    ring_id: String,
    /// Hostnames separated by spaces, commas or lines.
    #[serde(default)]
    hosts: String,
}

pub async fn assign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<AssignForm>,
) -> Response {
    let refused = |e: ApiError| {
        let drafts = Drafts {
            assign_hosts: form.hosts.clone(),
            ..Drafts::default()
        };
        let state = state.clone();
        let caller = caller.clone();
        async move { page(&state, &caller, e.status, Some(describe(&e)), drafts).await }
    };
    let ring = match form.ring_id.trim() {
        "" => None,
        id => match id.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return refused(invalid("ring", "unknown ring")).await,
        },
    };
    let names: Vec<&str> = form
        .hosts
        .split([' ', ',', '\n', '\r', '\t'])
        .filter(|h| !h.is_empty())
        .collect();
    if names.is_empty() {
        return refused(invalid("hosts", "name at least one host")).await;
    }
    let known = match state.patches.list_hosts(chrono::Utc::now()).await {
        Ok(h) => h,
        Err(e) => return refused(e.into()).await,
    };
    // Every name is checked before the first change: a typo changes nothing.
    let mut ids = Vec::new();
    for name in &names {
        match known.iter().find(|h| h.host.hostname == *name) {
            Some(h) => ids.push(h.host.id),
            None => {
                return refused(invalid(
                    "hosts",
                    &format!("no enrolled host named {name:?}"),
                ))
                .await
            }
        }
    }
    for id in ids {
        if let Err(e) = state.patches.assign_ring(&caller.actor(), id, ring).await {
            return refused(e.into()).await;
        }
    }
    Redirect::to("/patches/rollout").into_response()
}
