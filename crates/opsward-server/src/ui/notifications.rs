//! The notifications admin page: channels, rules, delivery state.

use super::{describe, error_response, non_empty, render_with, Choice, Nav, UiForm};
use crate::{
    api::{
        notifications::{create_rule_for, delete_rule_checked, send_test},
        Caller,
    },
    auth::Principal,
    AppState,
};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{Duration, Utc};
use opsward_core::practice::Practice;
use opsward_notify::{ChannelConfig, Severity};
use opsward_ops::notifications::{Channel, OutboxEntry, QuietHours, Rule, RuleInput};
use opsward_store::StoreError;
use serde::Deserialize;

const CONFIG_EXAMPLE: &str = r#"{"type": "webhook", "url": "https://hooks.example.com/opsward", "secret": "change-me", "timeout_secs": 10}"#;

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    nav: Nav,
    channels: Vec<Channel>,
    channel_choices: Vec<Choice>,
    rules: Vec<(Rule, String)>,
    practices: Vec<Choice>,
    teams: Vec<Choice>,
    people: Vec<Choice>,
    outbox: Vec<(OutboxEntry, String)>,
    config_example: &'static str,
    error: Option<String>,
    notice: Option<String>,
}

async fn page_with(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let load = async {
        Ok::<_, StoreError>((
            state.notifier.list_channels().await?,
            state.notifier.list_rules().await?,
            state.notifier.list_outbox(None, 100).await?,
            state.store.list_teams().await?,
            state.store.list_people().await?,
        ))
    };
    let (channels, rules, outbox, teams, people) = match load.await {
        Ok(v) => v,
        Err(e) => return error_response(e.into()),
    };
    let name_of = |id: i64| {
        channels
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| format!("#{id}"), |c| c.name.clone())
    };
    let rules = rules.into_iter().map(|r| {
        let n = name_of(r.channel_id);
        (r, n)
    });
    let outbox = outbox.into_iter().map(|e| {
        let n = name_of(e.channel_id);
        (e, n)
    });
    render_with(
        status,
        &NotificationsPage {
            nav: Nav::new(caller, "notifications"),
            channel_choices: channels
                .iter()
                .map(|c| Choice {
                    value: c.id.to_string(),
                    label: c.name.clone(),
                    selected: false,
                })
                .collect(),
            rules: rules.collect(),
            outbox: outbox.collect(),
            channels,
            practices: Choice::list(Practice::ALL.iter().map(|p| p.as_str()), ""),
            config_example: CONFIG_EXAMPLE,
            teams: teams
                .into_iter()
                .map(|t| Choice {
                    value: t.id.to_string(),
                    label: t.name,
                    selected: false,
                })
                .collect(),
            people: people
                .into_iter()
                .map(|p| Choice {
                    value: p.id.to_string(),
                    label: format!("{} <{}>", p.name, p.email),
                    selected: false,
                })
                .collect(),
            error,
            notice,
        },
    )
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    page_with(&state, &caller, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    config: String,
}

pub async fn create_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<ChannelForm>,
) -> Response {
    let config: ChannelConfig = match serde_json::from_str(&form.config) {
        Ok(c) => c,
        Err(e) => {
            return page_with(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("configuration: {e}")),
                None,
            )
            .await
        }
    };
    match state
        .notifier
        .create_channel(&caller.actor(), form.name.trim(), &config)
        .await
    {
        Ok(_) => Redirect::to("/admin/notifications").into_response(),
        Err(e) => {
            let api: crate::error::ApiError = e.into();
            page_with(&state, &caller, api.status, Some(describe(&api)), None).await
        }
    }
}

pub async fn test_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    match send_test(&state, &caller, id).await {
        Ok(r) if r.delivered => super::flash::redirect(
            "/admin/notifications",
            format!("Test message delivered: {}", r.detail),
        ),
        Ok(r) => super::flash::redirect_problem(
            "/admin/notifications",
            format!("Test message failed: {}", r.detail),
        ),
        Err(e) => error_response(e),
    }
}

pub async fn delete_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match state.notifier.channel(id).await {
            Ok((channel, _)) => {
                let deletion = super::confirm::Deletion::new(
                    format!("the channel {}", channel.name),
                    format!("/admin/notifications/channels/{id}/delete"),
                    "/admin/notifications",
                );
                let deletion = deletion.counting(&state, "notification_channels", id).await;
                super::confirm::page(&caller, "", deletion)
            }
            Err(e) => error_response(e.into()),
        };
    }
    match state.notifier.delete_channel(&caller.actor(), id).await {
        Ok(()) => Redirect::to("/admin/notifications").into_response(),
        Err(e) => error_response(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    events: String,
    #[serde(default)]
    practice: String,
    #[serde(default)]
    min_severity: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    quiet_start: String,
    #[serde(default)]
    quiet_end: String,
    #[serde(default)]
    quiet_timezone: String,
    #[serde(default)]
    personal: Option<String>,
    #[serde(default)]
    owner_team_id: String,
    #[serde(default)]
    owner_person_id: String,
}

fn parse_rule(form: &RuleForm) -> Result<RuleInput, String> {
    let quiet_hours = match (non_empty(&form.quiet_start), non_empty(&form.quiet_end)) {
        (Some(start), Some(end)) => Some(QuietHours {
            start,
            end,
            timezone: non_empty(&form.quiet_timezone).unwrap_or_else(|| "UTC".into()),
        }),
        (None, None) => None,
        _ => return Err("quiet hours need a start and an end".into()),
    };
    Ok(RuleInput {
        name: form.name.trim().to_string(),
        channel_id: form
            .channel_id
            .parse()
            .map_err(|_| "choose a channel".to_string())?,
        events: form
            .events
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
        practice: non_empty(&form.practice)
            .map(|p| p.parse::<Practice>())
            .transpose()?,
        min_severity: non_empty(&form.min_severity)
            .map_or(Ok(Severity::Info), |s| s.parse::<Severity>())?,
        owner_team_id: non_empty(&form.owner_team_id)
            .map(|t| t.parse::<i64>().map_err(|_| "choose a team".to_string()))
            .transpose()?,
        owner_person_id: non_empty(&form.owner_person_id)
            .map(|p| p.parse::<i64>().map_err(|_| "choose a person".to_string()))
            .transpose()?,
        digest: form.digest.is_some(),
        quiet_hours,
        enabled: true,
    })
}

pub async fn create_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<RuleForm>,
) -> Response {
    let input = match parse_rule(&form) {
        Ok(i) => i,
        Err(e) => {
            return page_with(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
                None,
            )
            .await
        }
    };
    match create_rule_for(&state, &caller, &input, form.personal.is_none()).await {
        Ok(_) => Redirect::to("/admin/notifications").into_response(),
        Err(e) => page_with(&state, &caller, e.status, Some(describe(&e)), None).await,
    }
}

pub async fn delete_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return confirm_rule(&state, &caller, id, "/admin/notifications").await;
    }
    match delete_rule_checked(&state, &caller, id).await {
        Ok(()) => Redirect::to("/admin/notifications").into_response(),
        Err(e) => error_response(e),
    }
}

#[derive(Deserialize)]
pub struct SnoozeForm {
    #[serde(default)]
    dedupe_key: String,
}

pub async fn snooze(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<SnoozeForm>,
) -> Response {
    match state
        .notifier
        .snooze(
            &caller.actor(),
            &form.dedupe_key,
            Utc::now() + Duration::hours(24),
        )
        .await
    {
        Ok(n) => super::flash::redirect(
            "/admin/notifications",
            format!("Snoozed for 24 hours on {n} rule(s)."),
        ),
        Err(e) => error_response(e.into()),
    }
}

#[derive(Template)]
#[template(path = "my_notifications.html")]
struct MyNotificationsPage {
    nav: Nav,
    rules: Vec<(Rule, String)>,
    channels: Vec<Choice>,
    practices: Vec<Choice>,
    error: Option<String>,
}

async fn mine_with(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let load = async {
        Ok::<_, StoreError>((
            state.notifier.list_channels().await?,
            state.notifier.list_rules().await?,
        ))
    };
    let (channels, rules) = match load.await {
        Ok(v) => v,
        Err(e) => return error_response(e.into()),
    };
    let rules = rules
        .into_iter()
        .filter(|r| r.user_id == Some(caller.user.id))
        .map(|r| {
            let name = channels
                .iter()
                .find(|c| c.id == r.channel_id)
                .map_or_else(String::new, |c| c.name.clone());
            (r, name)
        })
        .collect();
    let channels = channels
        .iter()
        .filter(|c| c.enabled)
        .map(|c| Choice {
            value: c.id.to_string(),
            label: format!("{} ({})", c.name, c.kind),
            selected: false,
        })
        .collect();
    render_with(
        status,
        &MyNotificationsPage {
            nav: Nav::new(caller, "notifications"),
            rules,
            channels,
            practices: Choice::list(Practice::ALL.iter().map(|p| p.as_str()), ""),
            error,
        },
    )
}

/// A user's own notification preferences.
pub async fn mine(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    mine_with(&state, &caller, StatusCode::OK, None).await
}

pub async fn create_mine(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<RuleForm>,
) -> Response {
    let input = match parse_rule(&form) {
        Ok(i) => i,
        Err(e) => {
            return mine_with(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, Some(e)).await
        }
    };
    match create_rule_for(&state, &caller, &input, false).await {
        Ok(_) => Redirect::to("/notifications").into_response(),
        Err(e) => mine_with(&state, &caller, e.status, Some(describe(&e))).await,
    }
}

pub async fn delete_mine(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return confirm_rule(&state, &caller, id, "/notifications").await;
    }
    match delete_rule_checked(&state, &caller, id).await {
        Ok(()) => Redirect::to("/notifications").into_response(),
        Err(e) => error_response(e),
    }
}

/// The confirmation for deleting a rule, shown only to whoever may delete it (others get the
/// same 404 as the delete itself answers them).
async fn confirm_rule(state: &AppState, caller: &Principal, id: i64, back: &str) -> Response {
    let rule = match state.notifier.rule(id).await {
        Ok(rule) => rule,
        Err(e) => return error_response(e.into()),
    };
    let allowed = caller.role() == opsward_core::Role::Admin
        || (rule.user_id.is_some() && rule.user_id == Some(caller.user.id));
    if !allowed {
        return error_response(crate::error::ApiError::not_found("notification rule"));
    }
    let deletion = super::confirm::Deletion::new(
        format!("the notification rule {}", rule.name),
        format!("{back}/rules/{id}/delete"),
        back,
    )
    .effect("its events are no longer sent through it");
    super::confirm::page(caller, "", deletion)
}
