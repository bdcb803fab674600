//! Notification channels and rules, the outbox, and snoozing.

use super::Caller;
use crate::{
    auth::Principal,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{extract::State, http::StatusCode, Json};
use chrono::{DateTime, Utc};
use opsward_core::Role;
use opsward_notify::{ChannelConfig, Notification, Severity};
use opsward_ops::notifications::{Channel, OutboxEntry, Rule, RuleInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateChannel {
    pub name: String,
    /// The channel's settings (named `settings` like the CLI's `--settings`; the earlier
    /// name `config` is still accepted):
    /// `{"type": "email", "host", "port", "security": "none|starttls|tls", "username",
    /// "password", "from", "to": [..], "timeout_secs", "tls_root_pem"}`, or
    /// `{"type": "webhook", "url", "secret", "timeout_secs"}`, or
    /// `{"type": "slack"|"teams", "webhook_url", "timeout_secs"}`.
    #[schema(value_type = Object)]
    #[serde(alias = "config")]
    pub settings: ChannelConfig,
}

#[utoipa::path(get, path = "/api/v1/notifications/channels", tag = "notifications",
    responses((status = 200, body = Vec<Channel>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn channels(State(state): State<AppState>) -> ApiResult<Json<Vec<Channel>>> {
    Ok(Json(state.notifier.list_channels().await?))
}

/// Add a channel. Its configuration (passwords, secrets, webhook URLs) is never shown again.
#[utoipa::path(post, path = "/api/v1/notifications/channels", tag = "notifications", request_body = CreateChannel,
    responses((status = 201, body = Channel), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<CreateChannel>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .notifier
                .create_channel(&caller.actor(), input.name.trim(), &input.settings)
                .await?,
        ),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChannelChange {
    pub enabled: bool,
}

#[utoipa::path(patch, path = "/api/v1/notifications/channels/{id}", tag = "notifications", params(("id" = i64, Path)), request_body = ChannelChange,
    responses((status = 200, body = Channel), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ChannelChange>,
) -> ApiResult<Json<Channel>> {
    Ok(Json(
        state
            .notifier
            .set_channel_enabled(&caller.actor(), id, input.enabled)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/notifications/channels/{id}", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.notifier.delete_channel(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    pub delivered: bool,
    /// The peer's answer, or why it failed (never a credential).
    pub detail: String,
    pub retryable: bool,
}

/// Send a test message now, bypassing rules and the outbox.
pub async fn send_test(state: &AppState, caller: &Principal, id: i64) -> ApiResult<TestResult> {
    let (channel, config) = state.notifier.channel(id).await?;
    let n = Notification {
        id: format!("test:{}:{}", channel.id, Utc::now().timestamp()),
        subject: format!("opsward test message for channel {}", channel.name),
        body_text: format!(
            "{} asked opsward to send this test message.",
            caller.user.username
        ),
        body_html: None,
        severity: Severity::Info,
        practice: "general".into(),
        link: Some("/admin/notifications".into()),
        event: "test".into(),
        occurred_at: Utc::now(),
        recipients: Vec::new(),
    }
    .with_links_under(state.config.public_url.as_deref());
    Ok(match opsward_notify::deliver(&config, &n).await {
        Ok(d) => TestResult {
            delivered: true,
            detail: d.response,
            retryable: false,
        },
        Err(e) => TestResult {
            delivered: false,
            retryable: e.is_retryable(),
            detail: e.to_string(),
        },
    })
}

#[utoipa::path(post, path = "/api/v1/notifications/channels/{id}/test", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = TestResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn test_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TestResult>> {
    Ok(Json(send_test(&state, &caller, id).await?))
}

/// Team-wide rules and the caller's own.
#[utoipa::path(get, path = "/api/v1/notifications/rules", tag = "notifications",
    responses((status = 200, body = Vec<Rule>), (status = 401, body = ErrorBody)))]
pub async fn rules(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<Rule>>> {
    let all = state.notifier.list_rules().await?;
    Ok(Json(
        all.into_iter()
            .filter(|r| {
                r.user_id.is_none()
                    || r.user_id == Some(caller.user.id)
                    || caller.role() == Role::Admin
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRule {
    #[serde(flatten)]
    pub rule: RuleInput,
    /// A rule for everyone (administrators); otherwise the rule is the caller's own preference.
    #[serde(default)]
    pub global: bool,
}

pub async fn create_rule_for(
    state: &AppState,
    caller: &Principal,
    input: &RuleInput,
    global: bool,
) -> ApiResult<Rule> {
    if global && caller.role() != Role::Admin {
        return Err(ApiError::forbidden(
            "only administrators create rules for everyone",
        ));
    }
    let owner = if global { None } else { Some(caller.user.id) };
    Ok(state
        .notifier
        .create_rule(&caller.actor(), owner, input)
        .await?)
}

#[utoipa::path(post, path = "/api/v1/notifications/rules", tag = "notifications", request_body = CreateRule,
    responses((status = 201, body = Rule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<CreateRule>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_rule_for(&state, &caller, &input.rule, input.global).await?),
    ))
}

pub async fn delete_rule_checked(state: &AppState, caller: &Principal, id: i64) -> ApiResult<()> {
    let rule = state.notifier.rule(id).await?;
    let allowed = caller.role() == Role::Admin
        || (rule.user_id.is_some() && rule.user_id == Some(caller.user.id));
    if !allowed {
        return Err(ApiError::not_found("notification rule"));
    }
    Ok(state.notifier.delete_rule(&caller.actor(), id).await?)
}

#[utoipa::path(delete, path = "/api/v1/notifications/rules/{id}", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    delete_rule_checked(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `pending`, `digest`, `digested`, `delivered` or `dead`.
    pub state: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Messages and their delivery state, newest first.
#[utoipa::path(get, path = "/api/v1/notifications/outbox", tag = "notifications", params(OutboxQuery),
    responses((status = 200, body = Vec<OutboxEntry>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn outbox(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<Vec<OutboxEntry>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    if let Some(s) = q.state.as_deref() {
        if !["pending", "digest", "digested", "delivered", "dead"].contains(&s) {
            return Err(ApiError::bad_request(
                "state must be pending, digest, digested, delivered or dead",
            ));
        }
    }
    Ok(Json(
        state
            .notifier
            .list_outbox(q.state.as_deref(), i64::from(limit))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Snooze {
    /// The subject, as in an outbox entry's `dedupe_key`.
    pub dedupe_key: String,
    pub until: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Snoozed {
    /// How many rules' notifications about the subject are held back.
    pub rules: u64,
}

/// Hold back further notifications about one subject until a time.
#[utoipa::path(post, path = "/api/v1/notifications/snooze", tag = "notifications", request_body = Snooze,
    responses((status = 200, body = Snoozed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn snooze(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<Snooze>,
) -> ApiResult<Json<Snoozed>> {
    if input.dedupe_key.is_empty()
        || input.dedupe_key.len() > 500
        || input.dedupe_key.contains('\0')
    {
        return Err(opsward_core::ValidationError::single(
            "dedupe_key",
            "must be 1-500 characters",
        )
        .into());
    }
    let rules = state
        .notifier
        .snooze(&caller.actor(), &input.dedupe_key, input.until)
        .await?;
    Ok(Json(Snoozed { rules }))
}
