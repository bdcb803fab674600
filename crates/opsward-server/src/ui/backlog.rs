//! The backlog list page: filters, one page of items, and the aging numbers above it.

use super::{error_response, non_empty, render_with, Nav};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::Utc;
use opsward_backlog::{
    aging::{aging, AgingReport},
    Item, ItemFilter, ItemState, ItemType,
};
use opsward_core::page::PageRequest;
use serde::{Deserialize, Serialize};

const UI_PAGE_SIZE: u32 = 50;
/// Days without an update before the page calls an open item stale.
const STALE_DAYS: i64 = 14;

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    q: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    state: String,
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    item_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// An option of a filter's drop-down.
pub struct Choice {
    value: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "backlog/list.html")]
struct ListPage {
    nav: Nav,
    q: String,
    states: Vec<Choice>,
    types: Vec<Choice>,
    items: Vec<Item>,
    report: AgingReport,
    error: Option<String>,
    next_link: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut error = None;
    let item_state = non_empty(&query.state)
        .and_then(|s| s.parse::<ItemState>().map_err(|e| error = Some(e)).ok());
    let item_type = non_empty(&query.item_type)
        .and_then(|t| t.parse::<ItemType>().map_err(|e| error = Some(e)).ok());
    let filter = ItemFilter {
        state: item_state,
        item_type,
        q: non_empty(&query.q),
        ..ItemFilter::default()
    };
    let page = match PageRequest::from_params(Some(UI_PAGE_SIZE), query.cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return error_response(ApiError::bad_request(e)),
    };
    let (items, all) = match (
        state.backlog.list_items(&filter, page).await,
        state.backlog.all_items().await,
    ) {
        (Ok(i), Ok(a)) => (i, a),
        (Err(e), _) | (_, Err(e)) => return error_response(e.into()),
    };
    let q = query.q.clone();
    let base_query = serde_urlencoded::to_string(ListQuery {
        cursor: None,
        ..query
    })
    .unwrap_or_default();
    let next_link = items.next_cursor.as_ref().map(|c| {
        let sep = if base_query.is_empty() { "" } else { "&" };
        format!("/backlog?{base_query}{sep}cursor={c}")
    });
    let selected_state = item_state.map(|s| s.as_str());
    let selected_type = item_type.map(|t| t.as_str());
    render_with(
        StatusCode::OK,
        &ListPage {
            nav: Nav::new(&caller, "backlog"),
            q,
            states: ItemState::ALL
                .into_iter()
                .map(|s| Choice {
                    value: s.as_str(),
                    selected: Some(s.as_str()) == selected_state,
                })
                .collect(),
            types: ItemType::ALL
                .into_iter()
                .map(|t| Choice {
                    value: t.as_str(),
                    selected: Some(t.as_str()) == selected_type,
                })
                .collect(),
            items: items.items,
            report: aging(&all, Utc::now(), STALE_DAYS),
            error,
            next_link,
        },
    )
}
