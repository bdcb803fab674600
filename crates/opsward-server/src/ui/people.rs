use super::{
    confirm::{self, Deletion},
    error_response, non_empty, render_with, Nav, UiForm,
};
use crate::{api::Caller, auth::Principal, AppState};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use opsward_core::people::{Person, PersonInput, Team, TeamInput};
use opsward_store::StoreError;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    nav: Nav,
    teams: Vec<Team>,
    /// Each person with their team's name.
    people: Vec<(Person, String)>,
    error: Option<String>,
}

async fn people_page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let (teams, people) = match (
        state.store.list_teams().await,
        state.store.list_people().await,
    ) {
        (Ok(t), Ok(p)) => (t, p),
        (Err(e), _) | (_, Err(e)) => return error_response(e.into()),
    };
    let people = people
        .into_iter()
        .map(|p| {
            let team = p
                .team_id
                .and_then(|id| teams.iter().find(|t| t.id == id))
                .map(|t| t.name.clone())
                .unwrap_or_default();
            (p, team)
        })
        .collect();
    render_with(
        status,
        &PeoplePage {
            nav: Nav::new(caller, "teams"),
            teams,
            people,
            error,
        },
    )
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    people_page(&state, &caller, StatusCode::OK, None).await
}

/// After a change: back to the page, or the page with the reason the change was refused.
async fn outcome<T>(
    state: &AppState,
    caller: &Principal,
    result: Result<T, StoreError>,
) -> Response {
    match result {
        Ok(_) => Redirect::to("/teams").into_response(),
        Err(StoreError::Invalid(v)) => {
            people_page(
                state,
                caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(v.to_string()),
            )
            .await
        }
        Err(StoreError::Conflict(m)) => {
            people_page(state, caller, StatusCode::CONFLICT, Some(m)).await
        }
        Err(StoreError::NotFound(what)) => {
            people_page(
                state,
                caller,
                StatusCode::NOT_FOUND,
                Some(format!("{what} not found")),
            )
            .await
        }
        Err(e) => error_response(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

pub async fn create_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<TeamForm>,
) -> Response {
    let input = TeamInput {
        name: form.name.trim().to_string(),
        email: non_empty(&form.email),
    };
    let result = state.store.create_team(&caller.actor(), &input).await;
    outcome(&state, &caller, result).await
}

pub async fn delete_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match state.store.get_team(id).await {
            Ok(team) => {
                let deletion = Deletion::new(
                    format!("the team {}", team.name),
                    format!("/teams/{id}/delete"),
                    "/teams",
                );
                confirm::page(
                    &caller,
                    "teams",
                    deletion.counting(&state, "teams", id).await,
                )
            }
            Err(e) => error_response(e.into()),
        };
    }
    let result = state.store.delete_team(&caller.actor(), id).await;
    outcome(&state, &caller, result).await
}

#[derive(Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    team_id: String,
}

pub async fn create_person(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<PersonForm>,
) -> Response {
    let team_id = match non_empty(&form.team_id).map(|t| t.parse::<i64>()) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return people_page(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("choose a team from the list".into()),
            )
            .await
        }
    };
    let input = PersonInput {
        name: form.name.trim().to_string(),
        email: form.email.trim().to_string(),
        team_id,
    };
    let result = state.store.create_person(&caller.actor(), &input).await;
    outcome(&state, &caller, result).await
}

pub async fn delete_person(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match state.store.get_person(id).await {
            Ok(person) => {
                let deletion = Deletion::new(person.name, format!("/people/{id}/delete"), "/teams");
                confirm::page(
                    &caller,
                    "teams",
                    deletion.counting(&state, "people", id).await,
                )
            }
            Err(e) => error_response(e.into()),
        };
    }
    let result = state.store.delete_person(&caller.actor(), id).await;
    outcome(&state, &caller, result).await
}
