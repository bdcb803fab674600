use super::{describe, error_response, non_empty, render_with, Choice, Nav, UiForm};
use crate::{
    api::{
        users::{change_account, create_account, CreateUser, UpdateUser},
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
use opsward_core::{user::User, Role};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    /// Each user with the role choices for their row.
    users: Vec<(User, Vec<Choice>)>,
    roles: Vec<Choice>,
    error: Option<String>,
    notice: Option<String>,
}

fn role_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.as_str(), r.label()))
}

async fn users_page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    match state.store.list_users().await {
        Ok(users) => {
            let users = users.into_iter().map(|u| {
                let choices = Choice::labelled(role_names(), u.role.as_str());
                (u, choices)
            });
            render_with(
                status,
                &UsersPage {
                    nav: Nav::new(caller, "users"),
                    users: users.collect(),
                    roles: Choice::labelled(role_names(), "viewer"),
                    error,
                    notice,
                },
            )
        }
        Err(e) => error_response(e.into()),
    }
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    users_page(&state, &caller, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<NewUserForm>,
) -> Response {
    let Ok(role) = form.role.parse::<Role>() else {
        return users_page(
            &state,
            &caller,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("choose a role".into()),
            None,
        )
        .await;
    };
    let input = CreateUser {
        username: form.username.trim().to_string(),
        display_name: non_empty(&form.display_name),
        email: non_empty(&form.email),
        role,
        password: form.password,
    };
    match create_account(state.store.as_ref(), &caller.actor(), input).await {
        Ok(user) => {
            super::flash::redirect("/admin/users", format!("User {} added.", user.username))
        }
        Err(e) => users_page(&state, &caller, e.status, Some(describe(&e)), None).await,
    }
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    status: String,
}

pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<UpdateForm>,
) -> Response {
    let change = UpdateUser {
        role: form.role.parse::<Role>().ok(),
        disabled: match form.status.as_str() {
            "active" => Some(false),
            "disabled" => Some(true),
            _ => None,
        },
        ..Default::default()
    };
    match change_account(
        state.store.as_ref(),
        &caller.actor(),
        id,
        change,
        state.config.keep_api_tokens,
    )
    .await
    {
        Ok(_) => Redirect::to("/admin/users").into_response(),
        Err(e) => users_page(&state, &caller, e.status, Some(describe(&e)), None).await,
    }
}
