use super::{
    changes::{from_snapshots, FieldChange},
    error_response,
    names::{entity_href, Names},
    non_empty, render, Nav,
};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Query, State},
    response::Response,
};
use opsward_core::label::humanise;
use opsward_core::{
    audit::{AuditEntry, AuditFilter},
    page::PageRequest,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

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

/// One audit entry as people read it: labels, the record linked, and a field diff.
pub struct AuditRow {
    pub entry: AuditEntry,
    pub action: String,
    pub entity: String,
    /// The record's page; none for records without one or deleted since.
    pub href: Option<String>,
    pub changes: Vec<FieldChange>,
}

impl AuditRow {
    /// Audit entries with names for the ids in them; a record deleted on this page of
    /// entries (newest first, so its delete is listed) is not linked.
    pub fn build(entries: Vec<AuditEntry>, names: &Names) -> Vec<AuditRow> {
        let deleted: HashSet<(String, i64)> = entries
            .iter()
            .filter(|e| e.action == "delete")
            .filter_map(|e| e.entity_id.map(|id| (e.entity_type.clone(), id)))
            .collect();
        entries
            .into_iter()
            .map(|entry| {
                let href = entry.entity_id.and_then(|id| {
                    if deleted.contains(&(entry.entity_type.clone(), id))
                        || !names.exists(&entry.entity_type, id)
                    {
                        None
                    } else {
                        entity_href(&entry.entity_type, id)
                    }
                });
                let entity = match entry.entity_id {
                    Some(id) => match names.entity_name(&entry.entity_type, id) {
                        Some(name) => format!("{} {name}", humanise(&entry.entity_type)),
                        None => format!(
                            "{} {}",
                            humanise(&entry.entity_type),
                            entity_id_text(&entry)
                        ),
                    },
                    None => humanise(&entry.entity_type),
                };
                AuditRow {
                    action: humanise(&entry.action),
                    entity,
                    href,
                    changes: from_snapshots(entry.before.as_ref(), entry.after.as_ref(), names),
                    entry,
                }
            })
            .collect()
    }
}

/// A record with no name to show is told by the name its snapshot carries, else its number.
fn entity_id_text(entry: &AuditEntry) -> String {
    let snapshot = entry.after.as_ref().or(entry.before.as_ref());
    [
        "name",
        "title",
        "hostname",
        "subject",
        "username",
        "vulnerability_id",
    ]
    .iter()
    .find_map(|k| snapshot.and_then(|s| s.get(*k)).and_then(|v| v.as_str()))
    .map(str::to_string)
    .unwrap_or_else(|| format!("number {}", entry.entity_id.unwrap_or_default()))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    actor: String,
    entity_type: String,
    action: String,
    entries: Vec<AuditRow>,
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
    let names = match Names::load(&state).await {
        Ok(n) => n,
        Err(e) => return error_response(e.into()),
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
                entries: AuditRow::build(result.items, &names),
                next_link,
                error: None,
            })
        }
        Err(e) => error_response(e.into()),
    }
}
