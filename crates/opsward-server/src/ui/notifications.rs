//! The notifications admin page: channels, rules, delivery state.

use super::channel_forms::ChannelForm;
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
use opsward_notify::Severity;
use opsward_ops::notifications::{
    events::EVENT_KINDS, Channel, OutboxEntry, QuietHours, Rule, RuleInput,
};
use opsward_store::StoreError;
use serde::Deserialize;

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
    /// Event kinds a rule can pick.
    events: Vec<Choice>,
    /// The channel form as last typed (secrets left out), after a refusal.
    channel: ChannelForm,
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
    page_with_channel(state, caller, status, error, notice, ChannelForm::default()).await
}

/// Every known event kind as a choice, for the rule forms' checkboxes.
fn event_choices() -> Vec<Choice> {
    EVENT_KINDS
        .iter()
        .map(|(kind, label)| Choice {
            value: (*kind).into(),
            label: (*label).into(),
            selected: false,
        })
        .collect()
}

async fn page_with_channel(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
    channel: ChannelForm,
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
            events: event_choices(),
            channel,
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

pub async fn create_channel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<ChannelForm>,
) -> Response {
    let config = match form.to_config() {
        Ok(c) => c,
        Err(e) => {
            return page_with_channel(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("The {} channel was not added: {e}", form.kind)),
                None,
                form.without_secrets(),
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
            page_with_channel(
                &state,
                &caller,
                api.status,
                Some(describe(&api)),
                None,
                form.without_secrets(),
            )
            .await
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
    /// The kinds ticked in the picker (`event` checkboxes, one pair each).
    #[serde(skip)]
    picked: Vec<String>,
}

/// A rule form's pairs: the `event` checkboxes (a key that repeats, which a struct cannot
/// hold) and the other fields.
fn rule_form(pairs: Vec<(String, String)>) -> Result<RuleForm, String> {
    let (picked, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| k == "event");
    let text = serde_urlencoded::to_string(&rest).map_err(|e| e.to_string())?;
    let mut form: RuleForm = serde_urlencoded::from_str(&text).map_err(|e| e.to_string())?;
    form.picked = picked.into_iter().map(|(_, v)| v).collect();
    Ok(form)
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
            .chain(form.picked.iter().cloned())
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
    UiForm(pairs): UiForm<Vec<(String, String)>>,
) -> Response {
    let parsed = rule_form(pairs).and_then(|form| Ok((parse_rule(&form)?, form)));
    let (input, form) = match parsed {
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
    events: Vec<Choice>,
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
            events: event_choices(),
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
    UiForm(pairs): UiForm<Vec<(String, String)>>,
) -> Response {
    let input = match rule_form(pairs).and_then(|form| parse_rule(&form)) {
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
