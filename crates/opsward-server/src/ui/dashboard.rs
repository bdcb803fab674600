use super::{error_response, render, Nav, Practice, PRACTICES};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, State},
    response::Response,
};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    assets: i64,
    teams: usize,
    people: usize,
    practices: &'static [Practice],
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let counts = async {
        Ok::<_, opsward_store::StoreError>((
            state.store.count_assets().await?,
            state.store.list_teams().await?.len(),
            state.store.list_people().await?.len(),
        ))
    };
    match counts.await {
        Ok((assets, teams, people)) => render(&DashboardPage {
            nav: Nav::new(&caller, "dashboard"),
            assets,
            teams,
            people,
            practices: PRACTICES,
        }),
        Err(e) => error_response(e.into()),
    }
}

#[derive(Template)]
#[template(path = "practice.html")]
struct PracticePage {
    nav: Nav,
    practice: &'static Practice,
}

pub async fn practice(Caller(caller): Caller, Path(key): Path<String>) -> Response {
    match PRACTICES.iter().find(|p| p.key == key) {
        Some(practice) => render(&PracticePage {
            nav: Nav::new(&caller, practice.key),
            practice,
        }),
        None => error_response(ApiError::not_found("practice")),
    }
}
