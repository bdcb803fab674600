//! Survey pages: the settings (administrators) and the public page a survey link opens.

use super::{describe, error_page, error_response, non_empty, render_with, Nav, UiForm};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::Utc;
use opsward_customers::{
    surveys::{self, SurveyError},
    Answer, Survey, SurveyKind, SurveySettings,
};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "customers/settings.html")]
struct SettingsPage {
    nav: Nav,
    settings: SurveySettings,
    /// (id, name, selected) of the email channels.
    channels: Vec<(i64, String, bool)>,
    message: Option<String>,
    error: Option<String>,
}

async fn settings_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    status: StatusCode,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let load = async {
        let settings = state.customers.settings().await?.0;
        let channels = state.notifier.list_channels().await?;
        Ok::<_, opsward_store::StoreError>((settings, channels))
    };
    match load.await {
        Ok((settings, channels)) => render_with(
            status,
            &SettingsPage {
                nav: Nav::new(caller, "customers"),
                channels: channels
                    .into_iter()
                    .filter(|c| c.kind == "email")
                    .map(|c| (c.id, c.name, settings.channel_id == Some(c.id)))
                    .collect(),
                settings,
                message,
                error,
            },
        ),
        Err(e) => error_response(e.into()),
    }
}

pub async fn settings(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    settings_page(&state, &caller, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    csat_delay_minutes: String,
    #[serde(default)]
    sampling_percent: String,
    #[serde(default)]
    throttle_days: String,
    #[serde(default)]
    link_valid_days: String,
    #[serde(default)]
    nps_interval_days: String,
    #[serde(default)]
    sampling_seed: String,
}

pub async fn save_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<SettingsForm>,
) -> Response {
    let int = |field: &str, v: &str| {
        v.trim()
            .parse::<i32>()
            .map_err(|_| format!("{field} must be a whole number"))
    };
    let parsed = (|| -> Result<SurveySettings, String> {
        Ok(SurveySettings {
            channel_id: match non_empty(&form.channel_id) {
                Some(c) => Some(c.parse().map_err(|_| "channel is not valid".to_string())?),
                None => None,
            },
            base_url: form.base_url.trim().into(),
            csat_delay_minutes: int("delay", &form.csat_delay_minutes)?,
            sampling_percent: int("sampling", &form.sampling_percent)?,
            throttle_days: int("throttle", &form.throttle_days)?,
            link_valid_days: int("link validity", &form.link_valid_days)?,
            nps_interval_days: int("NPS interval", &form.nps_interval_days)?,
            sampling_seed: form.sampling_seed.trim().into(),
        })
    })();
    let result = match parsed {
        Ok(s) => state
            .customers
            .save_settings(&caller.actor(), &s)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::bad_request(e)),
    };
    match result {
        Ok(_) => super::flash::redirect("/customers/settings", "Survey settings saved."),
        Err(e) => settings_page(&state, &caller, e.status, None, Some(describe(&e))).await,
    }
}

/// The public survey page. It has no account behind it: the signed token in the address is
/// the only credential, so there is no session for a cross-site request to ride on and no
/// CSRF token to check.
#[derive(Template)]
#[template(path = "customers/survey.html")]
struct SurveyPage {
    nav: Nav,
    token: String,
    question: String,
    /// (score, selected) for the radio buttons.
    scale: Vec<(i32, bool)>,
    low_label: &'static str,
    high_label: &'static str,
    thanks: bool,
    error: Option<String>,
}

fn survey_page(
    status: StatusCode,
    token: &str,
    survey: &Survey,
    preselect: Option<i32>,
    thanks: bool,
    error: Option<String>,
) -> Response {
    let (question, low_label, high_label) = match survey.kind {
        SurveyKind::Csat => (
            "How satisfied are you with how we handled your request?",
            "very dissatisfied",
            "very satisfied",
        ),
        SurveyKind::Nps => (
            "How likely is it that you would recommend our service to a colleague?",
            "not at all likely",
            "extremely likely",
        ),
    };
    let mut response = render_with(
        status,
        &SurveyPage {
            nav: Nav::anonymous(),
            token: token.into(),
            question: question.into(),
            scale: survey
                .kind
                .scale()
                .map(|s| (s, Some(s) == preselect))
                .collect(),
            low_label,
            high_label,
            thanks,
            error,
        },
    );
    // The token is a credential: keep it out of Referer headers and shared caches.
    let headers = response.headers_mut();
    headers.insert(
        "referrer-policy",
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cache-control",
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

fn survey_error(e: SurveyError) -> Response {
    let e: ApiError = e.into();
    error_page(e.status, &e.message)
}

#[derive(Deserialize)]
pub struct SurveyQuery {
    score: Option<i32>,
}

/// Opening the link shows the question; it never answers by itself, because mail scanners
/// follow links in messages.
pub async fn survey_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<SurveyQuery>,
) -> Response {
    match surveys::open(&state.customers, &token, Utc::now()).await {
        Ok(s) if s.answered_at.is_some() => {
            survey_page(StatusCode::OK, &token, &s, None, true, None)
        }
        Ok(s) => survey_page(StatusCode::OK, &token, &s, q.score, false, None),
        Err(e) => survey_error(e),
    }
}

#[derive(Deserialize)]
pub struct SurveyForm {
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

pub async fn survey_answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    UiForm(form): UiForm<SurveyForm>,
) -> Response {
    let now = Utc::now();
    let survey = match surveys::open(&state.customers, &token, now).await {
        Ok(s) => s,
        Err(e) => return survey_error(e),
    };
    let Ok(score) = form.score.trim().parse::<i32>() else {
        return survey_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &survey,
            None,
            false,
            Some("Please choose a score.".into()),
        );
    };
    match surveys::answer(
        &state.customers,
        &state.backlog,
        &token,
        &Answer {
            score,
            comment: form.comment,
        },
        now,
    )
    .await
    {
        Ok(answered) => survey_page(StatusCode::OK, &token, &answered, None, true, None),
        Err(SurveyError::AlreadyAnswered) => survey_page(
            StatusCode::CONFLICT,
            &token,
            &survey,
            None,
            true,
            Some("This survey was already answered; thank you.".into()),
        ),
        Err(SurveyError::Store(opsward_store::StoreError::Invalid(v))) => {
            let e: ApiError = opsward_store::StoreError::Invalid(v).into();
            survey_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &token,
                &survey,
                Some(score),
                false,
                Some(describe(&e)),
            )
        }
        Err(e) => survey_error(e),
    }
}
