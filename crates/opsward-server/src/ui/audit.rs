use super::{error_response, non_empty, render, Nav};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Query, State},
    response::Response,
};
use opsward_core::{
    audit::{AuditEntry, AuditFilter},
    page::PageRequest,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AuditPageQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    entity_type: String,
    #[serde(default)]
    action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    actor: String,
    entity_type: String,
    action: String,
    entries: Vec<AuditEntry>,
    next_link: Option<String>,
    error: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<AuditPageQuery>,
) -> Response {
    let filter = AuditFilter {
        actor: non_empty(&query.actor),
        entity_type: non_empty(&query.entity_type),
        action: non_empty(&query.action),
        ..Default::default()
    };
    let page = match PageRequest::from_params(Some(100), query.cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return error_response(ApiError::bad_request(e)),
    };
    match state.store.list_audit(&filter, page).await {
        Ok(result) => {
            let base = serde_urlencoded::to_string(AuditPageQuery {
                cursor: None,
                ..query
            })
            .unwrap_or_default();
            let next_link = result
                .next_cursor
                .map(|c| format!("/admin/audit?{base}&cursor={c}"));
            render(&AuditPage {
                nav: Nav::new(&caller, "audit"),
                actor: filter.actor.unwrap_or_default(),
                entity_type: filter.entity_type.unwrap_or_default(),
                action: filter.action.unwrap_or_default(),
                entries: result.items,
                next_link,
                error: None,
            })
        }
        Err(e) => error_response(e.into()),
    }
}
