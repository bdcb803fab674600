//! The add and edit form of a resilience measure: plain HTML, one step of the procedure per
//! line, the schedule as a recurrence rule with a local start and time zone.

use super::{
    describe, error_response, non_empty, render_with,
    schedule_editor::{ScheduleFields, ScheduleView},
    Choice, Nav, UiForm,
};
use crate::{api::Caller, auth::Principal, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::NaiveDateTime;
use opsward_core::{asset::AssetFilter, page::PageRequest};
use opsward_resilience::register::{CheckKind, MeasureInput, MeasureKind, TestSchedule};
use serde::Deserialize;

/// Most assets offered in the form's list; the register is for servers and services, not
/// for every endpoint.
const ASSET_CHOICES: u32 = 500;

/// The form's fields as text, so a rejected form comes back as it was typed.
#[derive(Debug, Default, Deserialize)]
pub struct MeasureForm {
    #[serde(default)]
    asset_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    procedure: String,
    #[serde(default)]
    owner_team_id: String,
    #[serde(default)]
    owner_person_id: String,
    #[serde(default)]
    check: String,
    /// The schedule editor's fields, which write the RRULE.
    #[serde(flatten)]
    schedule: ScheduleFields,
    #[serde(default)]
    starts_local: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    duration_minutes: String,
}

impl MeasureForm {
    fn blank() -> Self {
        let tomorrow = chrono::Utc::now()
            .date_naive()
            .succ_opt()
            .unwrap_or_default();
        MeasureForm {
            kind: "raid".into(),
            schedule: ScheduleFields::from_rule("FREQ=MONTHLY", tomorrow),
            starts_local: tomorrow
                .and_hms_opt(10, 0, 0)
                .unwrap_or_default()
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
            timezone: "UTC".into(),
            duration_minutes: "60".into(),
            ..MeasureForm::default()
        }
    }

    fn of(input: &MeasureInput) -> Self {
        let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        MeasureForm {
            asset_id: input.asset_id.to_string(),
            kind: input.kind.to_string(),
            title: input.title.clone(),
            description: input.description.clone(),
            procedure: input.procedure.join("\n"),
            owner_team_id: id(input.owner_team_id),
            owner_person_id: id(input.owner_person_id),
            check: input.check.map(|c| c.to_string()).unwrap_or_default(),
            schedule: ScheduleFields::from_rule(
                &input.schedule.rrule,
                input.schedule.starts_local.date(),
            ),
            starts_local: input
                .schedule
                .starts_local
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
            timezone: input.schedule.timezone.clone(),
            duration_minutes: input.schedule.duration_minutes.to_string(),
        }
    }

    /// The input, or the first field that is not even the right type (the store checks
    /// the rest and names every problem).
    fn parse(&self) -> Result<MeasureInput, String> {
        let id = |field: &str, v: &str| -> Result<Option<i64>, String> {
            non_empty(v)
                .map(|v| {
                    v.parse()
                        .map_err(|_| format!("{field}: {v:?} is not an id"))
                })
                .transpose()
        };
        let starts = self.starts_local.trim();
        let starts_local = NaiveDateTime::parse_from_str(starts, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(starts, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| format!("starts_local: {starts:?} is not a date and time"))?;
        Ok(MeasureInput {
            asset_id: id("asset_id", &self.asset_id)?.ok_or("asset_id: choose an asset")?,
            kind: self.kind.parse().map_err(|e| format!("kind: {e}"))?,
            title: self.title.clone(),
            description: self.description.clone(),
            procedure: self.procedure.lines().map(str::to_string).collect(),
            owner_team_id: id("owner_team_id", &self.owner_team_id)?,
            owner_person_id: id("owner_person_id", &self.owner_person_id)?,
            check: non_empty(&self.check)
                .map(|c| c.parse::<CheckKind>().map_err(|e| format!("check: {e}")))
                .transpose()?,
            schedule: TestSchedule {
                rrule: self.schedule.rule().map_err(|e| format!("schedule: {e}"))?,
                starts_local,
                timezone: self.timezone.clone(),
                duration_minutes: self
                    .duration_minutes
                    .trim()
                    .parse()
                    .map_err(|_| "duration_minutes: not a number of minutes".to_string())?,
            },
        })
    }
}

#[derive(Template)]
#[template(path = "resilience/form.html")]
struct FormPage {
    nav: Nav,
    /// The measure being edited; none when adding one.
    id: Option<i64>,
    form: MeasureForm,
    assets: Vec<Choice>,
    kinds: Vec<Choice>,
    checks: Vec<Choice>,
    teams: Vec<Choice>,
    people: Vec<Choice>,
    schedule: ScheduleView,
    error: Option<String>,
}

/// Options for an id `<select>`: `(id, label)` pairs with the current one selected.
fn id_choices(items: impl IntoIterator<Item = (i64, String)>, current: &str) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(id, label)| Choice {
            selected: id.to_string() == current.trim(),
            value: id.to_string(),
            label,
        })
        .collect()
}

async fn form_page(
    state: &AppState,
    caller: &Principal,
    id: Option<i64>,
    form: MeasureForm,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let assets = state
        .store
        .list_assets(&AssetFilter::default(), PageRequest::first(ASSET_CHOICES))
        .await;
    let (assets, teams, people) = match (
        assets,
        state.store.list_teams().await,
        state.store.list_people().await,
    ) {
        (Ok(a), Ok(t), Ok(p)) => (a.items, t, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return error_response(e.into()),
    };
    render_with(
        status,
        &FormPage {
            nav: Nav::new(caller, "resilience"),
            id,
            assets: id_choices(assets.into_iter().map(|a| (a.id, a.name)), &form.asset_id),
            kinds: Choice::labelled(
                MeasureKind::ALL.iter().map(|k| (k.as_str(), k.label())),
                &form.kind,
            ),
            checks: Choice::labelled(
                CheckKind::ALL.iter().map(|c| (c.as_str(), c.label())),
                &form.check,
            ),
            teams: id_choices(
                teams.into_iter().map(|t| (t.id, t.name)),
                &form.owner_team_id,
            ),
            people: id_choices(
                people.into_iter().map(|p| (p.id, p.name)),
                &form.owner_person_id,
            ),
            schedule: form.schedule.view(&form.starts_local, &form.timezone, true),
            form,
            error,
        },
    )
}

pub async fn new_form(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    form_page(
        &state,
        &caller,
        None,
        MeasureForm::blank(),
        StatusCode::OK,
        None,
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<MeasureForm>,
) -> Response {
    if form.schedule.is_preview() {
        return form_page(&state, &caller, None, form, StatusCode::OK, None).await;
    }
    let input = match form.parse() {
        Ok(i) => i,
        Err(e) => {
            return form_page(
                &state,
                &caller,
                None,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await
        }
    };
    match state.resilience.create(&caller.actor(), &input).await {
        Ok(s) => Redirect::to(&format!("/resilience/{}", s.measure.id)).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            form_page(&state, &caller, None, form, e.status, Some(describe(&e))).await
        }
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    let status = match state.resilience.status(id).await {
        Ok(s) => s,
        Err(e) => return error_response(e.into()),
    };
    let m = status.measure;
    let input = MeasureInput {
        asset_id: m.asset_id,
        kind: m.kind,
        title: m.title,
        description: m.description,
        procedure: m.procedure,
        owner_team_id: m.owner_team_id,
        owner_person_id: m.owner_person_id,
        check: m.check,
        schedule: status.schedule,
    };
    form_page(
        &state,
        &caller,
        Some(id),
        MeasureForm::of(&input),
        StatusCode::OK,
        None,
    )
    .await
}

pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<MeasureForm>,
) -> Response {
    if form.schedule.is_preview() {
        return form_page(&state, &caller, Some(id), form, StatusCode::OK, None).await;
    }
    let input = match form.parse() {
        Ok(i) => i,
        Err(e) => {
            return form_page(
                &state,
                &caller,
                Some(id),
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await
        }
    };
    match state.resilience.update(&caller.actor(), id, &input).await {
        Ok(_) => Redirect::to(&format!("/resilience/{id}")).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            form_page(
                &state,
                &caller,
                Some(id),
                form,
                e.status,
                Some(describe(&e)),
            )
            .await
        }
    }
}
