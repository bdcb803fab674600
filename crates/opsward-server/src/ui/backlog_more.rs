//! Backlog forms beyond a single item's fields: watching, attachments, saved filters and
//! the list's bulk edit. Each calls the same code as its API route.

use super::{
    backlog::{item_page_with_error, list_page, ListQuery},
    describe, error_response, non_empty, UiForm,
};
use crate::{api::Caller, error::ApiError, AppState};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use opsward_backlog::{
    files::ItemFiles, filters::SavedFilterInput, watch::WatchStore, ItemFilter, ItemPatch,
    ItemState, ItemType,
};
use serde::Deserialize;

fn to_item(id: i64) -> Response {
    Redirect::to(&format!("/backlog/{id}")).into_response()
}

/// Show a refusal on the item page (or the error page when the item is missing).
async fn refused(
    state: &AppState,
    caller: &crate::auth::Principal,
    id: i64,
    e: ApiError,
) -> Response {
    if e.status == StatusCode::NOT_FOUND {
        return error_response(e);
    }
    item_page_with_error(state, caller, id, e.status, describe(&e)).await
}

pub async fn watch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    let store = WatchStore::new(state.store.as_ref());
    match store.watch(&caller.actor(), id, caller.user.id).await {
        Ok(_) => to_item(id),
        Err(e) => refused(&state, &caller, id, e.into()).await,
    }
}

pub async fn unwatch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    let store = WatchStore::new(state.store.as_ref());
    match store.unwatch(&caller.actor(), id, caller.user.id).await {
        Ok(_) => to_item(id),
        Err(e) => refused(&state, &caller, id, e.into()).await,
    }
}

/// Attach files from the item page (multipart; the CSRF token comes in the query string,
/// as on the calendar's evidence form).
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> Response {
    match crate::api::backlog_more::store_attachments(&state, &caller, id, req).await {
        Ok(_) => to_item(id),
        Err(e) => refused(&state, &caller, id, e).await,
    }
}

pub async fn delete_attachment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match ItemFiles::new(state.store.as_ref()).get(id).await {
            Ok(file) => {
                let deletion = super::confirm::Deletion::new(
                    format!(
                        "the file {} of backlog item #{}",
                        file.filename, file.item_id
                    ),
                    format!("/backlog/attachments/{id}/delete"),
                    format!("/backlog/{}", file.item_id),
                )
                .verb("Remove");
                super::confirm::page(&caller, "backlog", deletion)
            }
            Err(e) => error_response(e.into()),
        };
    }
    match ItemFiles::new(state.store.as_ref())
        .delete(&caller.actor(), id)
        .await
    {
        Ok(gone) => to_item(gone.item_id),
        Err(e) => error_response(e.into()),
    }
}

#[derive(Deserialize)]
pub struct FilterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    shared: Option<String>,
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
    #[serde(default, rename = "type")]
    item_type: String,
}

/// Save the list's current filter under a name, then show the list through it.
pub async fn save_filter(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<FilterForm>,
) -> Response {
    let query = ListQuery::with(&form.q, &form.state, &form.item_type);
    let parsed = (|| -> Result<ItemFilter, String> {
        Ok(ItemFilter {
            state: non_empty(&form.state)
                .map(|s| s.parse::<ItemState>())
                .transpose()?,
            item_type: non_empty(&form.item_type)
                .map(|t| t.parse::<ItemType>())
                .transpose()?,
            q: non_empty(&form.q),
            ..ItemFilter::default()
        })
    })();
    let filter = match parsed {
        Ok(f) => f,
        Err(e) => {
            return list_page(
                &state,
                &caller,
                query,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await
        }
    };
    let input = SavedFilterInput {
        name: form.name.trim().to_string(),
        shared: form.shared.is_some(),
        filter,
    };
    match crate::api::backlog_more::run_save_filter(&state, &caller, &input).await {
        Ok(saved) => {
            let to =
                serde_urlencoded::to_string([("filter", saved.name.as_str())]).unwrap_or_default();
            Redirect::to(&format!("/backlog?{to}")).into_response()
        }
        Err(e) => list_page(&state, &caller, query, e.status, Some(describe(&e))).await,
    }
}

pub async fn delete_filter(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return confirm_filter(&state, &caller, id).await;
    }
    match crate::api::backlog_more::run_delete_filter(&state, &caller, id).await {
        Ok(_) => Redirect::to("/backlog").into_response(),
        Err(e) => error_response(e),
    }
}

/// The bulk form: `item` once per ticked row as `id:version`, and the fields to set
/// (empty ones are left alone).
fn bulk_request(pairs: &[(String, String)]) -> Result<crate::api::backlog::BulkEdit, String> {
    let mut ids = Vec::new();
    let mut versions = Vec::new();
    let mut patch = ItemPatch::default();
    for (key, value) in pairs {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "item" => {
                let (id, version) = value.split_once(':').unwrap_or((value, ""));
                ids.push(
                    id.parse::<i64>()
                        .map_err(|_| format!("{id:?} is not an item"))?,
                );
                versions.push(
                    version
                        .parse::<i64>()
                        .map_err(|_| format!("{value:?} has no version"))?,
                );
            }
            "state" => patch.state = Some(value.parse()?),
            "impact" | "urgency" => {
                let level = value
                    .parse::<i32>()
                    .map_err(|_| format!("{key} must be 1, 2 or 3"))?;
                if key == "impact" {
                    patch.impact = Some(level);
                } else {
                    patch.urgency = Some(level);
                }
            }
            "assignee" => {
                patch.assignee_person_id = Some(match value {
                    "none" => None,
                    v => Some(v.parse().map_err(|_| format!("{v:?} is not a person"))?),
                })
            }
            "tags" => {
                patch.tags = Some(
                    value
                        .split([',', ' '])
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
            _ => {}
        }
    }
    if ids.is_empty() {
        return Err("tick at least one item".into());
    }
    if patch == ItemPatch::default() {
        return Err("choose something to change".into());
    }
    Ok(crate::api::backlog::BulkEdit {
        ids,
        patch,
        versions: Some(versions),
    })
}

/// Change every ticked item in one transaction: all or none, each based on the version
/// the list showed.
pub async fn bulk_edit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(pairs): UiForm<Vec<(String, String)>>,
) -> Response {
    let req = match bulk_request(&pairs) {
        Ok(r) => r,
        Err(e) => {
            return list_page(
                &state,
                &caller,
                ListQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await
        }
    };
    match crate::api::backlog::run_bulk_edit(&state, &caller, &req).await {
        Ok(_) => Redirect::to("/backlog").into_response(),
        Err(e) => {
            list_page(
                &state,
                &caller,
                ListQuery::default(),
                e.status,
                Some(describe(&e)),
            )
            .await
        }
    }
}

/// The confirmation for deleting a saved filter, shown only to whoever may delete it.
async fn confirm_filter(state: &AppState, caller: &crate::auth::Principal, id: i64) -> Response {
    let filter = match opsward_backlog::filters::SavedFilters::new(state.store.as_ref())
        .get(id)
        .await
    {
        Ok(f) => f,
        Err(e) => return error_response(e.into()),
    };
    let allowed = match filter.owner_user_id {
        Some(owner) => owner == caller.user.id || caller.role() == opsward_core::Role::Admin,
        None => caller.role().allows(opsward_core::Role::Operator),
    };
    if !allowed && !filter.shared {
        return error_response(crate::error::ApiError::not_found("saved filter"));
    }
    let mut deletion = super::confirm::Deletion::new(
        format!("the saved filter {}", filter.name),
        format!("/backlog/filters/{id}/delete"),
        "/backlog",
    )
    .effect("the backlog items it finds are not changed");
    if filter.shared {
        deletion = deletion.effect("it is shared: it disappears for everyone");
    }
    super::confirm::page(caller, "backlog", deletion)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bulk_form_reads_items_with_versions_and_skips_empty_fields() {
        let req = bulk_request(&pairs(&[
            ("csrf_token", "x"),
            ("item", "3:7"),
            ("item", "9:1"),
            ("state", "triaged"),
            ("impact", ""),
            ("assignee", "none"),
            ("tags", "db, tls"),
        ]))
        .unwrap();
        assert_eq!(req.ids, [3, 9]);
        assert_eq!(req.versions, Some(vec![7, 1]));
        assert_eq!(req.patch.state, Some(ItemState::Triaged));
        assert_eq!(req.patch.impact, None);
        assert_eq!(req.patch.assignee_person_id, Some(None));
        assert_eq!(req.patch.tags, Some(vec!["db".into(), "tls".into()]));
        assert!(bulk_request(&pairs(&[("state", "triaged")])).is_err());
        assert!(bulk_request(&pairs(&[("item", "3:7")])).is_err());
        assert!(bulk_request(&pairs(&[("item", "3"), ("state", "triaged")])).is_err());
    }
}
