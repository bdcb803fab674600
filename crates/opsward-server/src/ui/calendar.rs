//! Calendar pages: agenda, week and month views, activity pages with the evidence form,
//! the evidence list and report, and iCal feed management.

use super::{
    describe, error_response, non_empty, render, render_with,
    schedule_editor::{ScheduleFields, ScheduleText, ScheduleView},
    Choice, Nav, UiForm,
};
use crate::{
    api::{
        calendar::{
            complete_and_notify, create_feed_for, evidence_from_request, query_evidence,
            revoke_feed_checked, window, EvidenceQuery,
        },
        Caller,
    },
    auth::Principal,
    error::ApiError,
    AppState,
};
use askama::Template;
use axum::{
    extract::{Path, Query, Request, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Utc, Weekday};
use opsward_core::{practice::Practice, FieldError};
use opsward_ops::{
    templates::TEMPLATES, Activity, ActivityInput, CalendarFilter, Evidence, IcalFeed, Occurrence,
    OccurrenceState,
};
use opsward_store::StoreError;
use serde::{Deserialize, Serialize};

fn practice_choices(current: &str) -> Vec<Choice> {
    Choice::labelled(
        Practice::ALL.iter().map(|p| (p.as_str(), p.label())),
        current,
    )
}

async fn team_choices(state: &AppState, current: &str) -> Result<Vec<Choice>, StoreError> {
    Ok(state
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| Choice {
            selected: t.id.to_string() == current,
            value: t.id.to_string(),
            label: t.name,
        })
        .collect())
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct CalendarParams {
    #[serde(default)]
    view: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    practice: String,
    #[serde(default)]
    owner_team_id: String,
    #[serde(default)]
    owner_person_id: String,
}

pub struct DayCell {
    label: String,
    in_range: bool,
    today: bool,
    items: Vec<CellItem>,
    /// Occurrences of the day not listed in `items` (the month view lists a few per day).
    more: usize,
    /// The day's occurrences by state ("3 done, 40 overdue"), shown when some are not listed.
    counts: String,
    /// The agenda from this day, where every occurrence is listed.
    agenda_link: String,
}

/// Occurrences listed per day in the month view; the rest are counted by state with a link
/// to the day's agenda. At 10,000 activities a month holds ~30,000 occurrences (7 MiB of
/// HTML when every one was listed).
pub const MONTH_CELL_LIMIT: usize = 6;

/// The grid of days `[from, to)` in weeks, each day with its first `cell_limit`
/// occurrences and the counts of all of them. One pass over the occurrences, grouped by
/// their local date.
fn month_grid(
    occurrences: &[Occurrence],
    from: NaiveDate,
    to: NaiveDate,
    cell_limit: usize,
    in_range: impl Fn(NaiveDate) -> bool,
    day_link: impl Fn(NaiveDate) -> String,
) -> Vec<Vec<DayCell>> {
    let mut by_day: std::collections::HashMap<&str, Vec<&Occurrence>> =
        std::collections::HashMap::new();
    for o in occurrences {
        if let Some(local_date) = o.starts_local.get(..10) {
            by_day.entry(local_date).or_default().push(o);
        }
    }
    let today = Utc::now().date_naive();
    let mut weeks = Vec::new();
    let mut day = from;
    while day < to {
        let mut week = Vec::new();
        for _ in 0..7 {
            let key = day.format("%Y-%m-%d").to_string();
            let of_day = by_day.get(key.as_str()).map_or(&[][..], Vec::as_slice);
            let counts = [
                OccurrenceState::Done,
                OccurrenceState::Overdue,
                OccurrenceState::Upcoming,
            ]
            .into_iter()
            .filter_map(|s| {
                let n = of_day.iter().filter(|o| o.state == s).count();
                (n > 0).then(|| format!("{n} {}", s.as_str()))
            })
            .collect::<Vec<_>>()
            .join(", ");
            week.push(DayCell {
                label: day.format("%-d %b").to_string(),
                in_range: in_range(day),
                today: day == today,
                items: of_day
                    .iter()
                    .take(cell_limit)
                    .map(|o| CellItem {
                        activity_id: o.activity_id,
                        title: o.title.clone(),
                        time: o.starts_local.get(11..).unwrap_or_default().to_string(),
                        state: o.state,
                        result: o.result,
                    })
                    .collect(),
                more: of_day.len().saturating_sub(cell_limit),
                counts,
                agenda_link: day_link(day),
            });
            day += Duration::days(1);
        }
        weeks.push(week);
    }
    weeks
}

pub struct CellItem {
    activity_id: i64,
    title: String,
    time: String,
    state: OccurrenceState,
    result: Option<opsward_ops::model::EvidenceResult>,
}

#[derive(Template)]
#[template(path = "calendar/index.html")]
struct CalendarPage {
    nav: Nav,
    views: Vec<Choice>,
    date: String,
    practices: Vec<Choice>,
    teams: Vec<Choice>,
    people: Vec<Choice>,
    heading: String,
    prev_link: String,
    next_link: String,
    overdue: usize,
    /// Today as the occurrences' local dates start, to mark its rows.
    today: String,
    occurrences: Vec<Occurrence>,
    grid: Vec<Vec<DayCell>>,
    weekdays: [&'static str; 7],
}

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

pub async fn page(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(p): Query<CalendarParams>,
) -> Response {
    let today = Utc::now().date_naive();
    let date = match non_empty(&p.date) {
        None => today,
        Some(d) => match NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => return error_response(ApiError::bad_request("date must be YYYY-MM-DD")),
        },
    };
    let view = match p.view.as_str() {
        "month" | "week" | "overdue" => p.view.clone(),
        _ => "agenda".to_string(),
    };
    let practice = match non_empty(&p.practice).map(|s| s.parse::<Practice>()) {
        Some(Err(e)) => return error_response(ApiError::bad_request(e)),
        Some(Ok(pr)) => Some(pr),
        None => None,
    };
    let team = non_empty(&p.owner_team_id).and_then(|t| t.parse::<i64>().ok());
    let person = non_empty(&p.owner_person_id).and_then(|t| t.parse::<i64>().ok());
    // The window each view shows, and how far "earlier"/"later" move.
    let (from, to, step, heading) = match view.as_str() {
        "month" => {
            let first =
                NaiveDate::from_ymd_opt(date.year(), date.month(), 1).expect("first of month");
            let next = if date.month() == 12 {
                NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
            }
            .expect("first of next month");
            (
                monday_of(first),
                monday_of(next - Duration::days(1)) + Duration::days(7),
                (next - first).num_days(),
                first.format("%B %Y").to_string(),
            )
        }
        "week" => {
            let start = monday_of(date);
            (
                start,
                start + Duration::days(7),
                7,
                format!("week of {}", start.format("%Y-%m-%d")),
            )
        }
        // What is still owed: the 90 days up to and including `date`, overdue only.
        "overdue" => (
            date - Duration::days(90),
            date + Duration::days(1),
            90,
            format!("overdue in the 90 days to {}", date.format("%Y-%m-%d")),
        ),
        _ => (
            date,
            date + Duration::days(30),
            30,
            format!(
                "{} to {}",
                date.format("%Y-%m-%d"),
                (date + Duration::days(29)).format("%Y-%m-%d")
            ),
        ),
    };
    let (start, end) = match window(Some(from), Some(to), 30) {
        Ok(w) => w,
        Err(e) => return error_response(e),
    };
    let filter = CalendarFilter {
        practice,
        owner_team_id: team,
        owner_person_id: person,
        activity_id: None,
        asset_id: None,
    };
    let mut occurrences = match state.ops.occurrences(&filter, start, end, Utc::now()).await {
        Ok(o) => o,
        Err(e) => return error_response(e.into()),
    };
    if view == "overdue" {
        occurrences.retain(|o| o.state == OccurrenceState::Overdue);
    }
    // The agenda starts with what is still owed from the 90 days before it, so overdue
    // work is in the default view, above what is coming.
    if view == "agenda" {
        let owed_from = start - Duration::days(90);
        match state
            .ops
            .occurrences(&filter, owed_from, start, Utc::now())
            .await
        {
            Ok(earlier) => {
                let mut owed: Vec<_> = earlier
                    .into_iter()
                    .filter(|o| o.state == OccurrenceState::Overdue)
                    .collect();
                owed.append(&mut occurrences);
                occurrences = owed;
            }
            Err(e) => return error_response(e.into()),
        }
    }
    let grid = if view == "agenda" || view == "overdue" {
        Vec::new()
    } else {
        let day_link = |d: NaiveDate| {
            let params = CalendarParams {
                view: "agenda".into(),
                date: d.format("%Y-%m-%d").to_string(),
                practice: p.practice.clone(),
                owner_team_id: p.owner_team_id.clone(),
                owner_person_id: p.owner_person_id.clone(),
            };
            format!(
                "/calendar?{}",
                serde_urlencoded::to_string(&params).unwrap_or_default()
            )
        };
        let cell_limit = if view == "month" {
            MONTH_CELL_LIMIT
        } else {
            usize::MAX
        };
        let in_month = |d: NaiveDate| view == "week" || d.month() == date.month();
        month_grid(&occurrences, from, to, cell_limit, in_month, day_link)
    };
    let teams = match team_choices(&state, &p.owner_team_id).await {
        Ok(t) => t,
        Err(e) => return error_response(e.into()),
    };
    let people = match state.store.list_people().await {
        Ok(people) => people
            .into_iter()
            .map(|x| Choice {
                selected: x.id.to_string() == p.owner_person_id,
                value: x.id.to_string(),
                label: x.name,
            })
            .collect(),
        Err(e) => return error_response(e.into()),
    };
    let link = |d: NaiveDate| {
        let params = CalendarParams {
            view: view.clone(),
            date: d.format("%Y-%m-%d").to_string(),
            practice: p.practice.clone(),
            owner_team_id: p.owner_team_id.clone(),
            owner_person_id: p.owner_person_id.clone(),
        };
        format!(
            "/calendar?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    };
    let step = Duration::days(step);
    let prev_date = if view == "month" {
        NaiveDate::from_ymd_opt(date.year(), date.month(), 1).expect("month") - Duration::days(1)
    } else {
        date - step
    };
    let next_date = if view == "month" {
        NaiveDate::from_ymd_opt(date.year(), date.month(), 1).expect("month") + Duration::days(32)
    } else {
        date + step
    };
    render(&CalendarPage {
        nav: Nav::new(&caller, "calendar"),
        views: Choice::list(["agenda", "week", "month", "overdue"], &view),
        date: date.format("%Y-%m-%d").to_string(),
        practices: practice_choices(practice.map_or("", |p| p.as_str())),
        teams,
        people,
        heading,
        prev_link: link(prev_date),
        next_link: link(next_date),
        today: Utc::now().date_naive().format("%Y-%m-%d").to_string(),
        overdue: occurrences
            .iter()
            .filter(|o| o.state == OccurrenceState::Overdue)
            .count(),
        occurrences,
        grid,
        weekdays: [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .map(weekday_name),
    })
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

#[derive(Template)]
#[template(path = "calendar/activity.html")]
struct ActivityPage {
    nav: Nav,
    activity: Activity,
    /// The schedule in words (or the raw rule when there are none).
    schedule: ScheduleText,
    owner: String,
    /// Each occurrence with whether it was missed (see `opsward_ops::model::missed`).
    occurrences: Vec<(Occurrence, bool)>,
    evidence: Vec<Evidence>,
    error: Option<String>,
    notice: Option<String>,
}

async fn activity_page(
    state: &AppState,
    caller: &Principal,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let load = async {
        let activity = state.ops.get_activity(id).await?;
        let now = Utc::now();
        let filter = CalendarFilter {
            activity_id: Some(id),
            ..Default::default()
        };
        let occurrences = state
            .ops
            .occurrences(
                &filter,
                now - Duration::days(90),
                now + Duration::days(90),
                now,
            )
            .await?;
        let evidence = state
            .ops
            .list_evidence(None, Some(id), None, None, 200)
            .await?;
        let owner = match (activity.owner_team_id, activity.owner_person_id) {
            (Some(t), _) => state
                .store
                .get_team(t)
                .await
                .map(|t| format!("team {}", t.name))
                .unwrap_or_default(),
            (_, Some(p)) => state
                .store
                .get_person(p)
                .await
                .map(|p| p.name)
                .unwrap_or_default(),
            _ => "nobody".into(),
        };
        Ok::<_, StoreError>((activity, occurrences, evidence, owner))
    };
    match load.await {
        Ok((activity, occurrences, evidence, owner)) => render_with(
            status,
            &ActivityPage {
                nav: Nav::new(caller, "calendar"),
                schedule: ScheduleText::new(
                    &activity.rrule,
                    activity.starts_local,
                    &activity.timezone,
                ),
                activity,
                owner,
                occurrences: {
                    let missed = opsward_ops::model::missed(&occurrences, Utc::now());
                    occurrences.into_iter().zip(missed).collect()
                },
                evidence,
                error,
                notice,
            },
        ),
        Err(e) => error_response(e.into()),
    }
}

pub async fn activity(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    activity_page(&state, &caller, id, StatusCode::OK, None, None).await
}

/// The evidence form (multipart, with files) for one occurrence.
pub async fn complete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let outcome = async {
        let (input, files) = evidence_from_request(&state, req).await?;
        complete_and_notify(&state, &caller, id, &input, &files).await
    };
    match outcome.await {
        Ok(e) => {
            let notice = format!(
                "Evidence #{} recorded ({}, {} file(s)).",
                e.id,
                e.result,
                e.attachments.len()
            );
            super::flash::redirect(&format!("/calendar/activities/{id}"), notice)
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => super::error_response(e),
        Err(e) => {
            let message = describe(&e);
            activity_page(&state, &caller, id, e.status, Some(message), None).await
        }
    }
}

/// The activity form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActivityForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    practice: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    starts_local: String,
    #[serde(default)]
    timezone: String,
    /// The schedule editor's fields, which write the RRULE.
    #[serde(flatten)]
    schedule: ScheduleFields,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    asset_id: String,
    #[serde(default)]
    active: Option<String>,
}

struct FormView {
    title: String,
    template: String,
    duration_minutes: String,
    description: String,
    active: bool,
}

impl ActivityForm {
    fn view(&self) -> FormView {
        FormView {
            title: self.title.clone(),
            template: self.template.clone(),
            duration_minutes: self.duration_minutes.clone(),
            description: self.description.clone(),
            active: self.active.is_some(),
        }
    }

    fn from_activity(a: &Activity) -> Self {
        ActivityForm {
            title: a.title.clone(),
            practice: a.practice.to_string(),
            template: a.template.clone().unwrap_or_default(),
            starts_local: a.starts_local.format("%Y-%m-%dT%H:%M").to_string(),
            timezone: a.timezone.clone(),
            schedule: ScheduleFields::from_rule(&a.rrule, a.starts_local.date()),
            duration_minutes: a.duration_minutes.to_string(),
            owner: match (a.owner_team_id, a.owner_person_id) {
                (Some(t), _) => format!("team:{t}"),
                (_, Some(p)) => format!("person:{p}"),
                _ => String::new(),
            },
            description: a.description.clone(),
            asset_id: a.asset_id.map(|i| i.to_string()).unwrap_or_default(),
            active: a.active.then(|| "true".into()),
        }
    }

    fn to_input(&self) -> Result<ActivityInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.into(),
                message,
            })
        };
        let practice = self
            .practice
            .parse::<Practice>()
            .map_err(|e| err("practice", e))
            .ok();
        let text = self.starts_local.trim();
        let starts = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
            .map_err(|_| err("starts_local", "must look like 2026-01-14T22:00".into()))
            .ok();
        let duration = self
            .duration_minutes
            .trim()
            .parse::<i32>()
            .map_err(|_| err("duration_minutes", "must be a number".into()))
            .ok();
        let (mut team, mut person) = (None, None);
        match self.owner.split_once(':') {
            None if self.owner.is_empty() => {}
            Some(("team", id)) => team = id.parse().ok(),
            Some(("person", id)) => person = id.parse().ok(),
            _ => err("owner", "choose an owner from the list".into()),
        }
        let rrule = self.schedule.rule().map_err(|e| err("schedule", e)).ok();
        let (Some(practice), Some(starts_local), Some(duration_minutes), Some(rrule)) =
            (practice, starts, duration, rrule)
        else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let input = ActivityInput {
            title: self.title.clone(),
            practice,
            template: non_empty(&self.template),
            description: self.description.clone(),
            rrule,
            starts_local,
            timezone: self.timezone.clone(),
            duration_minutes,
            owner_team_id: team,
            owner_person_id: person,
            asset_id: non_empty(&self.asset_id).and_then(|i| i.parse().ok()),
            active: self.active.is_some(),
        }
        .normalize();
        input.validate().map_err(|e| e.errors)?;
        Ok(input)
    }
}

#[derive(Template)]
#[template(path = "calendar/form.html")]
struct FormPage {
    nav: Nav,
    id: Option<i64>,
    form: FormView,
    schedule: ScheduleView,
    templates: Vec<Choice>,
    practices: Vec<Choice>,
    owners: Vec<Choice>,
    assets: Vec<Choice>,
    errors: Vec<FieldError>,
}

async fn form_page(
    state: &AppState,
    caller: &Principal,
    id: Option<i64>,
    form: &ActivityForm,
    errors: Vec<FieldError>,
) -> Response {
    let owners = async {
        let teams = state.store.list_teams().await?;
        let people = state.store.list_people().await?;
        let teams = teams
            .into_iter()
            .map(|t| (format!("team:{}", t.id), format!("Team: {}", t.name)));
        let people = people.into_iter().map(|p| {
            (
                format!("person:{}", p.id),
                format!("{} <{}>", p.name, p.email),
            )
        });
        Ok::<_, StoreError>(
            teams
                .chain(people)
                .map(|(value, label)| Choice {
                    selected: value == form.owner,
                    value,
                    label,
                })
                .collect::<Vec<_>>(),
        )
    };
    let owners = match owners.await {
        Ok(o) => o,
        Err(e) => return error_response(e.into()),
    };
    // The asset list is bounded: a register with more assets is linked through the API.
    let assets = match state
        .store
        .list_assets(
            &Default::default(),
            opsward_core::page::PageRequest::first(500),
        )
        .await
    {
        Ok(page) => page
            .items
            .into_iter()
            .map(|a| Choice {
                selected: a.id.to_string() == form.asset_id,
                value: a.id.to_string(),
                label: a.name,
            })
            .collect(),
        Err(e) => return error_response(e.into()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let templates = TEMPLATES
        .iter()
        .map(|t| Choice {
            value: t.key.into(),
            label: t.title.into(),
            selected: t.key == form.template,
        })
        .collect();
    render_with(
        status,
        &FormPage {
            nav: Nav::new(caller, "calendar"),
            id,
            form: form.view(),
            schedule: form.schedule.view(&form.starts_local, &form.timezone, true),
            templates,
            practices: practice_choices(&form.practice),
            owners,
            assets,
            errors,
        },
    )
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    template: String,
}

pub async fn new_form(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<NewQuery>,
) -> Response {
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let mut form = ActivityForm {
        practice: "general".into(),
        starts_local: format!("{}T09:00", tomorrow.format("%Y-%m-%d")),
        timezone: "UTC".into(),
        schedule: ScheduleFields::from_rule("", tomorrow),
        duration_minutes: "60".into(),
        active: Some("true".into()),
        ..Default::default()
    };
    if let Some(t) = TEMPLATES.iter().find(|t| t.key == q.template) {
        form.title = t.title.into();
        form.practice = t.practice.to_string();
        form.template = t.key.into();
        form.schedule = ScheduleFields::from_rule(t.rrule, tomorrow);
        form.duration_minutes = t.duration_minutes.to_string();
        form.description = t.description.into();
    }
    form_page(&state, &caller, None, &form, Vec::new()).await
}

fn form_errors(e: StoreError) -> Result<Vec<FieldError>, StoreError> {
    match e {
        StoreError::Invalid(v) => Ok(v.errors),
        other => Err(other),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<ActivityForm>,
) -> Response {
    if form.schedule.is_preview() {
        return form_page(&state, &caller, None, &form, Vec::new()).await;
    }
    let input = match form.to_input() {
        Ok(i) => i,
        Err(errors) => return form_page(&state, &caller, None, &form, errors).await,
    };
    match state.ops.create_activity(&caller.actor(), &input).await {
        Ok(a) => Redirect::to(&format!("/calendar/activities/{}", a.id)).into_response(),
        Err(e) => match form_errors(e) {
            Ok(errors) => form_page(&state, &caller, None, &form, errors).await,
            Err(e) => error_response(e.into()),
        },
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    match state.ops.get_activity(id).await {
        Ok(a) => {
            form_page(
                &state,
                &caller,
                Some(id),
                &ActivityForm::from_activity(&a),
                Vec::new(),
            )
            .await
        }
        Err(e) => error_response(e.into()),
    }
}

pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<ActivityForm>,
) -> Response {
    if form.schedule.is_preview() {
        return form_page(&state, &caller, Some(id), &form, Vec::new()).await;
    }
    let input = match form.to_input() {
        Ok(i) => i,
        Err(errors) => return form_page(&state, &caller, Some(id), &form, errors).await,
    };
    match state.ops.update_activity(&caller.actor(), id, &input).await {
        Ok(a) => Redirect::to(&format!("/calendar/activities/{}", a.id)).into_response(),
        Err(e) => match form_errors(e) {
            Ok(errors) => form_page(&state, &caller, Some(id), &form, errors).await,
            Err(e) => error_response(e.into()),
        },
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match state.ops.get_activity(id).await {
            Ok(activity) => {
                let deletion = super::confirm::Deletion::new(
                    format!("the activity {}", activity.title),
                    format!("/calendar/activities/{id}/delete"),
                    format!("/calendar/activities/{id}"),
                );
                let deletion = deletion.counting(&state, "activities", id).await;
                super::confirm::page(&caller, "calendar", deletion)
            }
            Err(e) => error_response(e.into()),
        };
    }
    match state.ops.delete_activity(&caller.actor(), id).await {
        Ok(()) => Redirect::to("/calendar").into_response(),
        Err(e) => error_response(e.into()),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct EvidenceParams {
    #[serde(default)]
    practice: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl EvidenceParams {
    fn query(&self) -> Result<EvidenceQuery, ApiError> {
        let day = |s: &str, field: &str| -> Result<Option<NaiveDate>, ApiError> {
            non_empty(s)
                .map(|d| {
                    NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| ApiError::bad_request(format!("{field} must be YYYY-MM-DD")))
                })
                .transpose()
        };
        Ok(EvidenceQuery {
            practice: non_empty(&self.practice)
                .map(|p| p.parse::<Practice>())
                .transpose()
                .map_err(ApiError::bad_request)?,
            activity_id: None,
            from: day(&self.from, "from")?,
            to: day(&self.to, "to")?,
            limit: Some(10_000),
        })
    }
}

#[derive(Template)]
#[template(path = "calendar/evidence.html")]
struct EvidencePage {
    nav: Nav,
    practices: Vec<Choice>,
    from: String,
    to: String,
    query: String,
    evidence: Vec<Evidence>,
}

pub async fn evidence(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(p): Query<EvidenceParams>,
) -> Response {
    let q = match p.query() {
        Ok(q) => q,
        Err(e) => return error_response(e),
    };
    match query_evidence(&state, &q).await {
        Ok(evidence) => render(&EvidencePage {
            nav: Nav::new(&caller, "calendar"),
            practices: practice_choices(&p.practice),
            query: serde_urlencoded::to_string(&q).unwrap_or_default(),
            from: p.from,
            to: p.to,
            evidence,
        }),
        Err(e) => error_response(e),
    }
}

#[derive(Template)]
#[template(path = "calendar/report.html")]
struct ReportPage {
    period: String,
    practice: String,
    generated: String,
    occurrences: Vec<Occurrence>,
    evidence: Vec<Evidence>,
    done: usize,
    overdue: usize,
    total: usize,
}

/// A printable page an auditor can keep: what was scheduled in the period, whether each
/// occurrence has evidence, and every evidence record with its attachments' checksums.
pub async fn report(State(state): State<AppState>, Query(p): Query<EvidenceParams>) -> Response {
    let mut q = match p.query() {
        Ok(q) => q,
        Err(e) => return error_response(e),
    };
    let today = Utc::now().date_naive();
    let to = q.to.unwrap_or(today + Duration::days(1));
    let from = q.from.unwrap_or(to - Duration::days(90));
    (q.from, q.to) = (Some(from), Some(to));
    let (start, end) = match window(Some(from), Some(to), 90) {
        Ok(w) => w,
        Err(e) => return error_response(e),
    };
    let filter = CalendarFilter {
        practice: q.practice,
        ..Default::default()
    };
    let loaded = async {
        let occurrences = state
            .ops
            .occurrences(&filter, start, end, Utc::now())
            .await?;
        let evidence = query_evidence(&state, &q).await?;
        Ok::<_, ApiError>((occurrences, evidence))
    };
    match loaded.await {
        Ok((occurrences, evidence)) => render(&ReportPage {
            period: format!("{from} to {}", to - Duration::days(1)),
            practice: q.practice.map(|p| p.to_string()).unwrap_or_default(),
            generated: Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            done: occurrences
                .iter()
                .filter(|o| o.state == OccurrenceState::Done)
                .count(),
            overdue: occurrences
                .iter()
                .filter(|o| o.state == OccurrenceState::Overdue)
                .count(),
            total: occurrences.len(),
            occurrences,
            evidence,
        }),
        Err(e) => error_response(e),
    }
}

#[derive(Template)]
#[template(path = "calendar/feeds.html")]
struct FeedsPage {
    nav: Nav,
    feeds: Vec<(IcalFeed, String)>,
    teams: Vec<Choice>,
    new_url: Option<String>,
    error: Option<String>,
}

async fn feeds_page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    new_url: Option<String>,
    error: Option<String>,
) -> Response {
    let load = async {
        let teams = state.store.list_teams().await?;
        let feeds = state.ops.list_feeds(caller.user.id).await?;
        Ok::<_, StoreError>((teams, feeds))
    };
    match load.await {
        Ok((teams, feeds)) => {
            let feeds = feeds
                .into_iter()
                .map(|f| {
                    let of = f
                        .team_id
                        .and_then(|id| teams.iter().find(|t| t.id == id))
                        .map_or("me".to_string(), |t| format!("team {}", t.name));
                    (f, of)
                })
                .collect();
            let teams = teams
                .into_iter()
                .map(|t| Choice {
                    value: t.id.to_string(),
                    label: t.name,
                    selected: false,
                })
                .collect();
            render_with(
                status,
                &FeedsPage {
                    nav: Nav::new(caller, "calendar"),
                    feeds,
                    teams,
                    new_url,
                    error,
                },
            )
        }
        Err(e) => error_response(e.into()),
    }
}

pub async fn feeds(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let minted = caller.secret.clone();
    feeds_page(&state, &caller, StatusCode::OK, minted, None).await
}

#[derive(Deserialize)]
pub struct FeedForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    team_id: String,
}

pub async fn create_feed(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: axum::http::HeaderMap,
    UiForm(form): UiForm<FeedForm>,
) -> Response {
    let team = non_empty(&form.team_id).and_then(|t| t.parse::<i64>().ok());
    match create_feed_for(&state, &caller, &form.name, team).await {
        Ok(created) => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let url = format!("http://{host}{}", created.path);
            // The address is the secret: shown once after the redirect, never in a URL.
            super::flash::redirect_with_secret(
                "/calendar/feeds",
                format!("Calendar feed {} created.", form.name.trim()),
                url,
            )
        }
        Err(e) => feeds_page(&state, &caller, e.status, None, Some(e.message)).await,
    }
}

pub async fn revoke_feed(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match state.ops.get_feed(id).await {
            Ok(feed)
                if feed.user_id == caller.user.id || caller.role() == opsward_core::Role::Admin =>
            {
                let deletion = super::confirm::Deletion::new(
                    format!("the calendar feed {}", feed.name),
                    format!("/calendar/feeds/{id}/revoke"),
                    "/calendar/feeds",
                )
                .verb("Revoke")
                .effect("calendar apps subscribed to its address stop receiving updates");
                super::confirm::page(&caller, "calendar", deletion)
            }
            Ok(_) => error_response(ApiError::not_found("iCal feed")),
            Err(e) => error_response(e.into()),
        };
    }
    match revoke_feed_checked(&state, &caller, id).await {
        Ok(_) => Redirect::to("/calendar/feeds").into_response(),
        Err(e) => error_response(e),
    }
}
