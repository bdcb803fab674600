//! The backlog board (a column per state, cards moved with htmx) and the item edit form.
//! Both send the version the page showed, so a change based on a stale page is refused
//! with the reason instead of overwriting someone else's.

use super::{describe, error_response, render_with, Nav, UiForm};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_backlog::{sla::SlaReport, Item, ItemPatch, ItemState, ItemType};
use serde::Deserialize;

/// Cards per column; the list page has the rest.
const COLUMN_LIMIT: usize = 100;

pub struct Card {
    pub item: Item,
    pub next_states: Vec<ItemState>,
    /// The worse SLA clock's status, empty without a target.
    pub sla: String,
    pub sla_label: &'static str,
}

pub struct Column {
    pub state: ItemState,
    pub cards: Vec<Card>,
    /// Items in the state beyond [`COLUMN_LIMIT`].
    pub more: usize,
}

#[derive(Template)]
#[template(path = "backlog/board.html")]
struct BoardPage {
    nav: Nav,
    columns: Vec<Column>,
    error: Option<String>,
}

async fn board_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let now = Utc::now();
    let loaded = async {
        let items = state.backlog.open_items().await?;
        let policy = state.backlog.compiled_sla_policy().await?;
        let slas = state.backlog.sla_reports(&policy, &items, now).await?;
        Ok::<_, opsward_store::StoreError>((items, slas))
    };
    let (items, mut slas) = match loaded.await {
        Ok(v) => v,
        Err(e) => return error_response(e.into()),
    };
    // Open states only: resolved items leave the board (the list shows them).
    let mut columns: Vec<Column> = ItemState::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|state| Column {
            state,
            cards: Vec::new(),
            more: 0,
        })
        .collect();
    let mut items = items;
    // Most urgent first within a column, then oldest.
    items.sort_by_key(|i| (i.priority, i.created_at, i.id));
    for item in items {
        let Some(col) = columns.iter_mut().find(|c| c.state == item.state) else {
            continue;
        };
        if col.cards.len() >= COLUMN_LIMIT {
            col.more += 1;
            continue;
        }
        let worst = slas.remove(&item.id).map(|r: SlaReport| r.worst().status);
        let sla = worst.map(|s| s.to_string()).unwrap_or_default();
        let sla_label = worst.map(|s| s.label()).unwrap_or_default();
        col.cards.push(Card {
            next_states: item.state.next_states(),
            item,
            sla,
            sla_label,
        });
    }
    render_with(
        status,
        &BoardPage {
            nav: Nav::new(caller, "backlog"),
            columns,
            error,
        },
    )
}

pub async fn board(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    board_page(&state, &caller, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct MoveCard {
    #[serde(default)]
    state: String,
    #[serde(default)]
    version: Option<i64>,
}

/// Move a card and answer with the board. htmx only swaps successful answers, so for an
/// htmx request a refused move is the board with the reason at 200; a plain form post gets
/// the real status.
pub async fn move_card(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    UiForm(form): UiForm<MoveCard>,
) -> Response {
    let htmx = headers.contains_key("hx-request");
    let result = match form.state.parse::<ItemState>() {
        Ok(to) => {
            let patch = ItemPatch {
                state: Some(to),
                version: form.version,
                ..ItemPatch::default()
            };
            state
                .backlog
                .update_item(&caller.actor(), id, &patch)
                .await
                .map_err(ApiError::from)
        }
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            e,
        )),
    };
    match result {
        Ok(_) if htmx => board_page(&state, &caller, StatusCode::OK, None).await,
        Ok(_) => Redirect::to("/backlog/board").into_response(),
        Err(e) => {
            let status = if htmx { StatusCode::OK } else { e.status };
            board_page(
                &state,
                &caller,
                status,
                Some(format!("#{id}: {}", describe(&e))),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    item_type: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    urgency: String,
    /// Comma- or space-separated.
    #[serde(default)]
    tags: String,
    #[serde(default)]
    version: Option<i64>,
    /// Absent when the form has no owner fields; empty for none.
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    assignee_person_id: Option<String>,
}

/// Save the edit form; on a refusal the item page shows why (409 when someone else saved
/// first, 422 for invalid values).
pub async fn edit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<EditForm>,
) -> Response {
    let parsed = (|| -> Result<ItemPatch, String> {
        let level = |name: &str, v: &str| {
            v.trim()
                .parse::<i32>()
                .map_err(|_| format!("{name} must be 1, 2 or 3"))
        };
        Ok(ItemPatch {
            title: Some(form.title.clone()),
            description: Some(form.description.replace("\r\n", "\n")),
            item_type: Some(form.item_type.parse::<ItemType>()?),
            impact: Some(level("impact", &form.impact)?),
            urgency: Some(level("urgency", &form.urgency)?),
            tags: Some(
                form.tags
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            version: form.version,
            team_id: form
                .team_id
                .as_deref()
                .map(|v| super::backlog_owners::chosen("team", v))
                .transpose()?,
            assignee_person_id: form
                .assignee_person_id
                .as_deref()
                .map(|v| super::backlog_owners::chosen("assignee", v))
                .transpose()?,
            ..ItemPatch::default()
        })
    })();
    let patch = match parsed {
        Ok(p) => p,
        Err(e) => {
            return super::backlog::item_page_with_error(
                &state,
                &caller,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                e,
            )
            .await
        }
    };
    match state.backlog.update_item(&caller.actor(), id, &patch).await {
        Ok(_) => Redirect::to(&format!("/backlog/{id}")).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            if e.status == StatusCode::NOT_FOUND {
                return error_response(e);
            }
            super::backlog::item_page_with_error(&state, &caller, id, e.status, describe(&e)).await
        }
    }
}
