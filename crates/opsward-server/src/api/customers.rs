//! Customer engagement: customers and contacts, the items they raised, surveys and their
//! settings, satisfaction figures, service reviews, review packs and review actions.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use chrono::{Duration, NaiveDate, Utc};
use opsward_customers::{
    reviews::{self, ReviewPack, Satisfaction},
    surveys::{self, RunReport, SurveyError},
    Answer, Contact, ContactInput, Customer, CustomerInput, ItemLink, ReviewAction, ReviewInput,
    ReviewSchedule, ServiceReview, Survey, SurveySettings, SurveyState,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

impl From<SurveyError> for ApiError {
    fn from(err: SurveyError) -> Self {
        use opsward_customers::link::LinkError;
        match err {
            SurveyError::Store(e) => e.into(),
            SurveyError::AlreadyAnswered => {
                ApiError::new(StatusCode::CONFLICT, "already_answered", err.to_string())
            }
            SurveyError::Link(LinkError::Expired) => {
                ApiError::new(StatusCode::GONE, "link_expired", err.to_string())
            }
            SurveyError::Link(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "invalid_link", err.to_string())
            }
        }
    }
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    responses((status = 200, body = Vec<Customer>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<Customer>>> {
    Ok(Json(state.customers.customers().await?))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerInput,
    responses((status = 201, body = Customer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    let customer = state
        .customers
        .create_customer(&caller.actor(), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

/// A customer with contacts, the items they raised, reviews and recent surveys.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerDetail {
    pub customer: Customer,
    pub contacts: Vec<Contact>,
    /// Ids of the backlog items the customer raised.
    pub item_ids: Vec<i64>,
    pub reviews: Vec<ServiceReview>,
    pub surveys: Vec<Survey>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CustomerDetail>> {
    let c = &state.customers;
    let customer = c.customer(id).await?;
    Ok(Json(CustomerDetail {
        contacts: c.contacts(id).await?,
        item_ids: c.items_of(id).await?.into_iter().map(|i| i.0).collect(),
        reviews: c.reviews(id).await?,
        surveys: c.surveys(Some(id), None, None, 50).await?,
        customer,
    }))
}

#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = CustomerInput,
    responses((status = 200, body = Customer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<Json<Customer>> {
    Ok(Json(
        state
            .customers
            .update_customer(&caller.actor(), id, &input)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "customers", params(("id" = i64, Path)), request_body = ContactInput,
    responses((status = 201, body = Contact), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_contact(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    let contact = state
        .customers
        .add_contact(&caller.actor(), id, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

/// Which backlog item the customer raised (and through which contact): its resolution is
/// what a CSAT survey asks about.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SurveyLinkInput)]
pub struct LinkInput {
    pub item_id: i64,
    #[serde(default)]
    pub contact_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/items", tag = "customers", params(("id" = i64, Path)), request_body = LinkInput,
    responses((status = 200, body = ItemLink), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn link_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LinkInput>,
) -> ApiResult<Json<ItemLink>> {
    let link = ItemLink {
        item_id: input.item_id,
        customer_id: id,
        contact_id: input.contact_id,
    };
    Ok(Json(
        state.customers.link_item(&caller.actor(), &link).await?,
    ))
}

/// Put the customer's recurring service review in the calendar, or move it.
#[utoipa::path(put, path = "/api/v1/customers/{id}/review-schedule", tag = "customers", params(("id" = i64, Path)), request_body = ReviewSchedule,
    responses((status = 200, body = Customer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn schedule_review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReviewSchedule>,
) -> ApiResult<Json<Customer>> {
    let customer =
        reviews::schedule(&state.customers, &state.ops, &caller.actor(), id, &input).await?;
    Ok(Json(customer))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (default: 90 days ago).
    pub from: Option<NaiveDate>,
    /// Last day (default: today).
    pub to: Option<NaiveDate>,
}

impl PeriodQuery {
    pub fn period(&self) -> Result<(NaiveDate, NaiveDate), ApiError> {
        let to = self.to.unwrap_or_else(|| Utc::now().date_naive());
        let from = self.from.unwrap_or(to - Duration::days(90));
        if from > to || (to - from).num_days() > 3660 {
            return Err(ApiError::bad_request(
                "from must not be after to, and the period at most ten years",
            ));
        }
        Ok((from, to))
    }
}

/// What the service review looks at: items raised and resolved, resolution against target,
/// CSAT/NPS and their trend, latest comments, open actions.
#[utoipa::path(get, path = "/api/v1/customers/{id}/review-pack", tag = "customers", params(("id" = i64, Path), PeriodQuery),
    responses((status = 200, body = ReviewPack), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn review_pack(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<ReviewPack>> {
    let (from, to) = q.period()?;
    Ok(Json(
        reviews::pack(&state.customers, &state.backlog, id, from, to).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/reviews", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ServiceReview>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_reviews(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ServiceReview>>> {
    state.customers.customer(id).await?;
    Ok(Json(state.customers.reviews(id).await?))
}

/// Record a held service review. It completes the nearest open occurrence of the customer's
/// review activity as evidence.
#[utoipa::path(post, path = "/api/v1/customers/{id}/reviews", tag = "customers", params(("id" = i64, Path)), request_body = ReviewInput,
    responses((status = 201, body = ServiceReview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> ApiResult<(StatusCode, Json<ServiceReview>)> {
    let review = reviews::record(&state.customers, &state.ops, &caller.actor(), id, &input).await?;
    Ok((StatusCode::CREATED, Json(review)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionDone {
    pub done: bool,
}

/// Mark a review action done (or open again).
#[utoipa::path(put, path = "/api/v1/review-actions/{id}", tag = "customers", params(("id" = i64, Path)), request_body = ActionDone,
    responses((status = 200, body = ReviewAction), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_action(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ActionDone>,
) -> ApiResult<Json<ReviewAction>> {
    Ok(Json(
        state
            .customers
            .set_action_done(&caller.actor(), id, input.done)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurveyQuery {
    /// Customer id.
    pub customer: Option<i64>,
    pub state: Option<SurveyState>,
    /// At most this many, newest first (1-1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/surveys", tag = "customers", params(SurveyQuery),
    responses((status = 200, body = Vec<Survey>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_surveys(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SurveyQuery>,
) -> ApiResult<Json<Vec<Survey>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1-1000"));
    }
    Ok(Json(
        state
            .customers
            .surveys(q.customer, q.state, None, limit)
            .await?,
    ))
}

/// Decide and queue every survey that is due now (the scheduler does this every five
/// minutes).
#[utoipa::path(post, path = "/api/v1/surveys/run", tag = "customers",
    responses((status = 200, body = RunReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn run_surveys(State(state): State<AppState>) -> ApiResult<Json<RunReport>> {
    Ok(Json(
        surveys::run(&state.customers, &state.backlog, Utc::now()).await?,
    ))
}

/// An answer through a survey link; the link's token is the only credential.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkAnswer {
    pub token: String,
    pub score: i32,
    #[serde(default)]
    pub comment: String,
}

/// Answer a survey. 403 for a link that was changed or never issued, 410 when it expired,
/// 409 when it was already answered.
#[utoipa::path(post, path = "/api/v1/surveys/answer", tag = "customers", security(()), request_body = LinkAnswer,
    responses((status = 200, body = Survey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<LinkAnswer>,
) -> ApiResult<Json<Survey>> {
    let answer = Answer {
        score: input.score,
        comment: input.comment,
    };
    let survey = surveys::answer(
        &state.customers,
        &state.backlog,
        &input.token,
        &answer,
        Utc::now(),
    )
    .await?;
    Ok(Json(survey))
}

#[utoipa::path(get, path = "/api/v1/surveys/settings", tag = "customers",
    responses((status = 200, body = SurveySettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn settings(State(state): State<AppState>) -> ApiResult<Json<SurveySettings>> {
    Ok(Json(state.customers.settings().await?.0))
}

#[utoipa::path(put, path = "/api/v1/surveys/settings", tag = "customers", request_body = SurveySettings,
    responses((status = 200, body = SurveySettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<SurveySettings>,
) -> ApiResult<Json<SurveySettings>> {
    Ok(Json(
        state
            .customers
            .save_settings(&caller.actor(), &input)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SatisfactionQuery {
    /// Customer id; all customers when absent.
    pub customer: Option<i64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// CSAT %, NPS, response rate, monthly trend and latest comments, per customer or overall.
#[utoipa::path(get, path = "/api/v1/satisfaction", tag = "customers", params(SatisfactionQuery),
    responses((status = 200, body = Satisfaction), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn satisfaction(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SatisfactionQuery>,
) -> ApiResult<Json<Satisfaction>> {
    let period = PeriodQuery {
        from: q
            .from
            .or_else(|| Some(Utc::now().date_naive() - Duration::days(365))),
        to: q.to,
    };
    let (from, to) = period.period()?;
    if let Some(id) = q.customer {
        state.customers.customer(id).await?;
    }
    let surveys = reviews::surveys_in(&state.customers, q.customer, from, to).await?;
    Ok(Json(reviews::satisfaction(&surveys, from, to)))
}
