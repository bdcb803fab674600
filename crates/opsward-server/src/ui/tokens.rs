use super::{error_response, render_with, Nav, UiForm};
use crate::{
    api::{
        tokens::{mint, revoke_checked},
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
use chrono::{DateTime, Utc};
use opsward_core::user::ApiToken;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Nav,
    tokens: Vec<ApiToken>,
    now: DateTime<Utc>,
    new_secret: Option<String>,
    error: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    new_secret: Option<String>,
    error: Option<String>,
) -> Response {
    match state.store.list_api_tokens(Some(caller.user.id)).await {
        Ok(tokens) => render_with(
            status,
            &TokensPage {
                nav: Nav::new(caller, "tokens"),
                tokens,
                now: Utc::now(),
                new_secret,
                error,
            },
        ),
        Err(e) => error_response(e.into()),
    }
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let minted = caller.secret.clone();
    tokens_page(&state, &caller, StatusCode::OK, minted, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in_days: String,
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<TokenForm>,
) -> Response {
    let days = match form.expires_in_days.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                return tokens_page(
                    &state,
                    &caller,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                    Some("expiry must be a number of days".into()),
                )
                .await
            }
        },
    };
    match mint(
        state.store.as_ref(),
        &caller.actor(),
        caller.user.id,
        form.name.trim(),
        days,
    )
    .await
    {
        // The secret goes to the page in a one-time cookie, never in the URL or history.
        Ok(created) => super::flash::redirect_with_secret(
            "/tokens",
            format!("Token {} created.", created.info.name),
            created.token,
        ),
        Err(e) => tokens_page(&state, &caller, e.status, None, Some(e.message)).await,
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match state.store.get_api_token(id).await {
            Ok(token)
                if token.user_id == caller.user.id
                    || caller.role() == opsward_core::Role::Admin =>
            {
                let deletion = super::confirm::Deletion::new(
                    format!("the API token {}", token.name),
                    format!("/tokens/{id}/revoke"),
                    "/tokens",
                )
                .verb("Revoke")
                .effect("scripts and programs that use it are refused from then on");
                super::confirm::page(&caller, "tokens", deletion)
            }
            Ok(_) => error_response(crate::error::ApiError::not_found("API token")),
            Err(e) => error_response(e.into()),
        };
    }
    match revoke_checked(state.store.as_ref(), &caller, id).await {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(e) => error_response(e),
    }
}
