//! Customer pages: the satisfaction dashboard with the customer list, a customer's page
//! (contacts, items, surveys, reviews and actions) and the printable review pack. Survey
//! settings and the public survey page are in `ui::surveys`.

use super::{
    describe, error_response, non_empty, render_with,
    schedule_editor::ScheduleView,
    svg::{self, Series},
    Nav, UiForm,
};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{Duration, NaiveDate, Utc};
use opsward_customers::{
    reviews::{self, ReviewPack, Satisfaction},
    surveys, ActionInput, Contact, ContactInput, Customer, CustomerInput, ItemLink, ReviewInput,
    ServiceReview, Survey,
};
use serde::Deserialize;

const CSAT_COLOUR: &str = "#1f6feb";
const NPS_COLOUR: &str = "#b35900";

/// The CSAT and NPS trend as a line chart (NPS runs -100..100, CSAT 0..100 on the same axis).
fn trend_chart(id: &str, s: &Satisfaction) -> String {
    let labels: Vec<String> = s.trend.iter().map(|p| p.month.clone()).collect();
    let series = [
        Series {
            name: "CSAT %".into(),
            stroke: CSAT_COLOUR,
            points: s.trend.iter().map(|p| p.csat_percent).collect(),
        },
        Series {
            name: "NPS".into(),
            stroke: NPS_COLOUR,
            points: s.trend.iter().map(|p| p.nps).collect(),
        },
    ];
    svg::line_chart(id, "Satisfaction by month", &labels, &series, -100.0, 100.0)
}

/// `83%`, or a dash when there is nothing to measure.
fn percent(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}%"))
}
fn number(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}"))
}

/// One row of the customer list.
struct Row {
    customer: Customer,
    csat: String,
    nps: String,
    answers: usize,
}

#[derive(Template)]
#[template(path = "customers/list.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<Row>,
    csat: String,
    nps: String,
    response_rate: String,
    satisfaction: Satisfaction,
    chart: String,
    error: Option<String>,
    message: Option<String>,
}

async fn list_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    status: StatusCode,
    error: Option<String>,
    message: Option<String>,
) -> Response {
    let to = Utc::now().date_naive();
    let from = to - Duration::days(365);
    let load = async {
        let customers = state.customers.customers().await?;
        let all = reviews::surveys_in(&state.customers, None, from, to).await?;
        Ok::<_, opsward_store::StoreError>((customers, all))
    };
    let (customers, all) = match load.await {
        Ok(v) => v,
        Err(e) => return error_response(e.into()),
    };
    let rows = customers
        .into_iter()
        .map(|customer| {
            let own: Vec<Survey> = all
                .iter()
                .filter(|s| s.customer_id == customer.id)
                .cloned()
                .collect();
            let s = reviews::satisfaction(&own, from, to);
            Row {
                csat: percent(s.csat_percent),
                nps: number(s.nps),
                answers: s.answers,
                customer,
            }
        })
        .collect();
    let satisfaction = reviews::satisfaction(&all, from, to);
    render_with(
        status,
        &ListPage {
            nav: Nav::new(caller, "customers"),
            rows,
            csat: percent(satisfaction.csat_percent),
            nps: number(satisfaction.nps),
            response_rate: percent(satisfaction.response_rate),
            chart: trend_chart("satisfaction-trend", &satisfaction),
            satisfaction,
            error,
            message,
        },
    )
}

pub async fn list(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    list_page(&state, &caller, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct CustomerForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    notes: String,
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<CustomerForm>,
) -> Response {
    let input = CustomerInput {
        name: form.name.trim().into(),
        notes: form.notes,
        owner_team_id: None,
        owner_person_id: None,
        asset_ids: Vec::new(),
    };
    match state
        .customers
        .create_customer(&caller.actor(), &input)
        .await
    {
        Ok(c) => Redirect::to(&format!("/customers/{}", c.id)).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            list_page(&state, &caller, e.status, Some(describe(&e)), None).await
        }
    }
}

#[derive(Template)]
#[template(path = "customers/detail.html")]
struct DetailPage {
    nav: Nav,
    customer: Customer,
    contacts: Vec<Contact>,
    /// (id, title, state) of the items the customer raised.
    items: Vec<(i64, String, String)>,
    surveys: Vec<Survey>,
    reviews: Vec<ServiceReview>,
    csat: String,
    nps: String,
    response_rate: String,
    chart: String,
    today: NaiveDate,
    quarter_ago: NaiveDate,
    /// The asset ids as the edit form shows them.
    asset_list: String,
    error: Option<String>,
    /// The service-review schedule editor.
    schedule: ScheduleView,
}

/// The customer's page; `schedule` is the review schedule editor as sent (a preview or a
/// refused form), else the stored schedule is shown.
pub(super) async fn detail_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    schedule: Option<ScheduleView>,
) -> Response {
    let to = Utc::now().date_naive();
    let from = to - Duration::days(365);
    let c = &state.customers;
    let load = async {
        Ok::<_, opsward_store::StoreError>((
            c.customer(id).await?,
            c.contacts(id).await?,
            c.items_of(id).await?,
            c.surveys(Some(id), None, None, 50).await?,
            c.reviews(id).await?,
            reviews::surveys_in(c, Some(id), from, to).await?,
        ))
    };
    let (customer, contacts, items, surveys, reviews, period) = match load.await {
        Ok(v) => v,
        Err(e) => return error_response(e.into()),
    };
    let satisfaction = reviews::satisfaction(&period, from, to);
    let schedule = match schedule {
        Some(view) => view,
        None => super::customer_review_schedule::stored_view(state, &customer).await,
    };
    render_with(
        status,
        &DetailPage {
            nav: Nav::new(caller, "customers"),
            asset_list: customer
                .asset_ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            customer,
            contacts,
            items: items
                .into_iter()
                .map(|(id, title, state, _, _)| (id, title, state))
                .collect(),
            surveys,
            reviews,
            csat: percent(satisfaction.csat_percent),
            nps: number(satisfaction.nps),
            response_rate: percent(satisfaction.response_rate),
            chart: trend_chart("customer-trend", &satisfaction),
            today: to,
            quarter_ago: to - Duration::days(90),
            error,
            schedule,
        },
    )
}

pub async fn detail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    detail_page(&state, &caller, id, StatusCode::OK, None, None).await
}

/// After a change on a customer's page: back to it, or the page again with the problem.
pub(super) async fn after(
    state: &AppState,
    caller: &crate::auth::Principal,
    id: i64,
    result: Result<(), ApiError>,
    schedule: Option<ScheduleView>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND => error_response(e),
        Err(e) => detail_page(state, caller, id, e.status, Some(describe(&e)), schedule).await,
    }
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    notes: String,
    /// Asset ids the customer uses, separated by commas or spaces.
    #[serde(default)]
    asset_ids: String,
}

/// Change name, notes and the assets the customer uses; owners stay as they are.
pub async fn edit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<EditForm>,
) -> Response {
    let result = async {
        let current = state.customers.customer(id).await?;
        let asset_ids = form
            .asset_ids
            .split([',', ' '])
            .filter(|a| !a.trim().is_empty())
            .map(|a| {
                a.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("{a:?} is not an asset id")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let input = CustomerInput {
            name: form.name.trim().into(),
            notes: form.notes,
            owner_team_id: current.owner_team_id,
            owner_person_id: current.owner_person_id,
            asset_ids,
        };
        state
            .customers
            .update_customer(&caller.actor(), id, &input)
            .await?;
        Ok::<_, ApiError>(())
    };
    let result = result.await;
    after(&state, &caller, id, result, None).await
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn add_contact(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<ContactForm>,
) -> Response {
    let input = ContactInput {
        name: form.name.trim().into(),
        email: form.email.trim().into(),
        role: form.role.trim().into(),
        surveys_opt_out: false,
    };
    let result = state
        .customers
        .add_contact(&caller.actor(), id, &input)
        .await
        .map(drop)
        .map_err(ApiError::from);
    after(&state, &caller, id, result, None).await
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    contact_id: String,
}

pub async fn link_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<LinkForm>,
) -> Response {
    let result = async {
        let item_id = form
            .item_id
            .trim()
            .trim_start_matches('#')
            .parse()
            .map_err(|_| ApiError::bad_request("item must be a backlog item number"))?;
        let contact_id = match non_empty(&form.contact_id) {
            Some(c) => Some(
                c.parse()
                    .map_err(|_| ApiError::bad_request("contact is not valid"))?,
            ),
            None => None,
        };
        state
            .customers
            .link_item(
                &caller.actor(),
                &ItemLink {
                    item_id,
                    customer_id: id,
                    contact_id,
                },
            )
            .await?;
        Ok(())
    };
    let result = result.await;
    after(&state, &caller, id, result, None).await
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    period_start: String,
    #[serde(default)]
    period_end: String,
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    attendees: String,
    #[serde(default)]
    notes: String,
    /// One action per line.
    #[serde(default)]
    actions: String,
}

fn date(field: &str, value: &str) -> Result<NaiveDate, ApiError> {
    value
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{field} must be a date (YYYY-MM-DD)")))
}

pub async fn record_review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<ReviewForm>,
) -> Response {
    let result = async {
        let input = ReviewInput {
            period_start: date("period start", &form.period_start)?,
            period_end: date("period end", &form.period_end)?,
            held_on: date("held on", &form.held_on)?,
            attendees: form
                .attendees
                .split([',', '\n'])
                .filter_map(non_empty)
                .collect(),
            notes: form.notes,
            actions: form
                .actions
                .lines()
                .filter_map(non_empty)
                .map(|title| ActionInput {
                    title,
                    owner_person_id: None,
                    due_on: None,
                })
                .collect(),
        };
        reviews::record(&state.customers, &state.ops, &caller.actor(), id, &input).await?;
        Ok(())
    };
    let result = result.await;
    after(&state, &caller, id, result, None).await
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    done: String,
    #[serde(default)]
    customer_id: i64,
}

pub async fn set_action(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(action): Path<i64>,
    UiForm(form): UiForm<ActionForm>,
) -> Response {
    let result = state
        .customers
        .set_action_done(&caller.actor(), action, form.done == "true")
        .await
        .map(drop)
        .map_err(ApiError::from);
    after(&state, &caller, form.customer_id, result, None).await
}

#[derive(Template)]
#[template(path = "customers/pack.html")]
struct PackPage {
    nav: Nav,
    pack: ReviewPack,
    csat: String,
    nps: String,
    response_rate: String,
    sla: String,
    chart: String,
}

#[derive(Deserialize)]
pub struct PeriodForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub async fn pack(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    Query(q): Query<PeriodForm>,
) -> Response {
    let query = crate::api::customers::PeriodQuery {
        from: q.from.trim().parse().ok(),
        to: q.to.trim().parse().ok(),
    };
    let (from, to) = match query.period() {
        Ok(p) => p,
        Err(e) => return error_response(e),
    };
    match reviews::pack(&state.customers, &state.backlog, id, from, to).await {
        Ok(pack) => render_with(
            StatusCode::OK,
            &PackPage {
                nav: Nav::new(&caller, "customers"),
                csat: percent(pack.satisfaction.csat_percent),
                nps: number(pack.satisfaction.nps),
                response_rate: percent(pack.satisfaction.response_rate),
                sla: percent(pack.sla_percent),
                chart: trend_chart("pack-trend", &pack.satisfaction),
                pack,
            },
        ),
        Err(e) => error_response(e.into()),
    }
}

pub async fn run_surveys(State(state): State<AppState>, Caller(_caller): Caller) -> Response {
    match surveys::run(&state.customers, &state.backlog, Utc::now()).await {
        Ok(r) => {
            let message = format!(
                "Surveys: {} sent, {} not sampled, {} throttled, {} without contact, {} opted out, {} without a channel; {} follow-ups opened.",
                r.sent, r.not_sampled, r.throttled, r.no_contact, r.opted_out, r.no_channel, r.followups_opened
            );
            super::flash::redirect("/customers", message)
        }
        Err(e) => error_response(e.into()),
    }
}
