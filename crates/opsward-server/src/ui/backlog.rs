//! The backlog list page: filters, one page of items, and the aging numbers above it.

use super::backlog_clocks::{clock_views, ClockView};
use super::backlog_owners::{chosen, Owners};
use super::{
    describe, error_response, markdown::to_safe_html, non_empty, render_with, Choice, Nav, UiForm,
};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_backlog::{
    aging_sql::AgingCounts, CommentInput, Item, ItemFilter, ItemInput, ItemPatch, ItemState,
    ItemType,
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
    /// A saved filter by name: fills the fields it sets that the query leaves empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    filter: String,
    /// Owners by id, as the list's selects send them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    team: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    assignee: String,
}

impl ListQuery {
    /// The list filtered by these fields (as the filter form sends them).
    pub fn with(q: &str, state: &str, item_type: &str) -> Self {
        ListQuery {
            q: q.to_string(),
            state: state.to_string(),
            item_type: item_type.to_string(),
            ..ListQuery::default()
        }
    }
}

/// One list row: the item and a word on its service level.
struct Row {
    item: Item,
    /// Team and assignee by name; empty for none.
    team: String,
    assignee: String,
    /// `on_track`, `near_breach`, `breached`, `met`, `missed`, or empty without a target.
    sla: String,
    sla_label: &'static str,
    /// Status and due time of the worse clock, for the cell's title.
    sla_title: String,
}

/// Plain text made safe to place between tags.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Template)]
#[template(path = "backlog/list.html")]
struct ListPage {
    nav: Nav,
    q: String,
    states: Vec<Choice>,
    types: Vec<Choice>,
    rows: Vec<Row>,
    report: AgingCounts,
    error: Option<String>,
    next_link: Option<String>,
    /// Saved filters the user may apply, and the one applied.
    saved: Vec<opsward_backlog::filters::SavedFilter>,
    filter_name: String,
    /// Choices of the bulk edit form.
    people: Vec<opsward_core::people::Person>,
    /// The owner filters' choices.
    team_filter: Vec<Choice>,
    assignee_filter: Vec<Choice>,
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListQuery>,
) -> Response {
    list_page(&state, &caller, query, StatusCode::OK, None).await
}

/// The list page, with a refusal (of a bulk edit, a saved filter) shown above the table.
pub async fn list_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    mut query: ListQuery,
    status: StatusCode,
    refusal: Option<String>,
) -> Response {
    let filters = opsward_backlog::filters::SavedFilters::new(state.store.as_ref());
    let saved = match filters.visible(Some(caller.user.id)).await {
        Ok(s) => s,
        Err(e) => return error_response(e.into()),
    };
    let mut error = refusal;
    if let Some(name) = non_empty(&query.filter) {
        match saved.iter().find(|f| f.name == name) {
            Some(f) => {
                let fill = |field: &mut String, value: Option<String>| {
                    if field.trim().is_empty() {
                        *field = value.unwrap_or_default();
                    }
                };
                fill(&mut query.q, f.filter.q.clone());
                fill(&mut query.state, f.filter.state.map(|s| s.to_string()));
                fill(
                    &mut query.item_type,
                    f.filter.item_type.map(|t| t.to_string()),
                );
            }
            None => error = Some(format!("no saved filter named {name:?}")),
        }
    }
    let item_state = non_empty(&query.state)
        .and_then(|s| s.parse::<ItemState>().map_err(|e| error = Some(e)).ok());
    let item_type = non_empty(&query.item_type)
        .and_then(|t| t.parse::<ItemType>().map_err(|e| error = Some(e)).ok());
    let team = chosen("team", &query.team)
        .map_err(|e| error = Some(e))
        .ok()
        .flatten();
    let assignee = chosen("assignee", &query.assignee)
        .map_err(|e| error = Some(e))
        .ok()
        .flatten();
    let filter = ItemFilter {
        state: item_state,
        item_type,
        q: non_empty(&query.q),
        team_id: team,
        assignee_person_id: assignee,
    };
    let owners = match Owners::load(state).await {
        Ok(o) => o,
        Err(e) => return error_response(e.into()),
    };
    let page = match PageRequest::from_params(Some(UI_PAGE_SIZE), query.cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return error_response(ApiError::bad_request(e)),
    };
    let now = Utc::now();
    let (items, report, people) = match (
        state.backlog.list_items(&filter, page).await,
        state.backlog.aging_counts(now, STALE_DAYS).await,
        state.store.list_people().await,
    ) {
        (Ok(i), Ok(a), Ok(p)) => (i, a, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return error_response(e.into()),
    };
    let slas = match state.backlog.compiled_sla_policy().await {
        Ok(policy) => state.backlog.sla_reports(&policy, &items.items, now).await,
        Err(e) => Err(e),
    };
    let mut slas = match slas {
        Ok(s) => s,
        Err(e) => return error_response(e.into()),
    };
    let q = query.q.clone();
    let filter_name = query.filter.clone();
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
        status,
        &ListPage {
            nav: Nav::new(caller, "backlog"),
            saved,
            filter_name,
            people,
            team_filter: owners.team_choices(team),
            assignee_filter: owners.person_choices(assignee),
            q,
            states: Choice::labelled(
                ItemState::ALL.iter().map(|s| (s.as_str(), s.label())),
                selected_state.unwrap_or(""),
            ),
            types: Choice::labelled(
                ItemType::ALL.iter().map(|t| (t.as_str(), t.label())),
                selected_type.unwrap_or(""),
            ),
            rows: items
                .items
                .into_iter()
                .map(|item| {
                    let sla = slas.remove(&item.id);
                    let (word, label, title) = sla.as_ref().map_or_else(Default::default, |r| {
                        let w = r.worst();
                        let due = w.due_at.map_or("paused".into(), |d| {
                            d.format("due %Y-%m-%d %H:%M UTC").to_string()
                        });
                        (
                            w.status.to_string(),
                            w.status.label(),
                            format!("{}: {}, {due}", w.clock.label(), w.status.label()),
                        )
                    });
                    Row {
                        team: owners.team_name(item.team_id),
                        assignee: owners.person_name(item.assignee_person_id),
                        item,
                        sla: word,
                        sla_label: label,
                        sla_title: title,
                    }
                })
                .collect(),
            report,
            error,
            next_link,
        },
    )
}

#[derive(Template)]
#[template(path = "backlog/new.html")]
struct NewPage {
    nav: Nav,
    types: Vec<Choice>,
    teams: Vec<Choice>,
    people: Vec<Choice>,
    /// What was typed, kept when the form comes back with a problem.
    form: NewForm,
    error: Option<String>,
}

async fn new_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    status: StatusCode,
    form: NewForm,
    error: Option<String>,
) -> Response {
    let owners = match Owners::load(state).await {
        Ok(o) => o,
        Err(e) => return error_response(e.into()),
    };
    let team = chosen("team", &form.team_id).ok().flatten();
    let assignee = chosen("assignee", &form.assignee_person_id).ok().flatten();
    render_with(
        status,
        &NewPage {
            nav: Nav::new(caller, "backlog"),
            types: Choice::labelled(
                ItemType::ALL.iter().map(|t| (t.as_str(), t.label())),
                &form.item_type,
            ),
            teams: owners.team_choices(team),
            people: owners.person_choices(assignee),
            form,
            error,
        },
    )
}

pub async fn new_form(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let form = NewForm {
        impact: "3".into(),
        urgency: "3".into(),
        ..NewForm::default()
    };
    new_page(&state, &caller, StatusCode::OK, form, None).await
}

#[derive(Deserialize, Default)]
pub struct NewForm {
    #[serde(default)]
    item_type: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    assignee_person_id: String,
}

/// Create, then show the item with any similar ones so a duplicate is noticed at once.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<NewForm>,
) -> Response {
    let parsed = (|| -> Result<ItemInput, String> {
        Ok(ItemInput {
            item_type: form.item_type.parse::<ItemType>()?,
            title: form.title.trim().to_string(),
            description: form.description.clone(),
            impact: form
                .impact
                .parse()
                .map_err(|_| "impact must be 1, 2 or 3".to_string())?,
            urgency: form
                .urgency
                .parse()
                .map_err(|_| "urgency must be 1, 2 or 3".to_string())?,
            wsjf: None,
            team_id: chosen("team", &form.team_id)?,
            assignee_person_id: chosen("assignee", &form.assignee_person_id)?,
            tags: Vec::new(),
            asset_ids: Vec::new(),
        })
    })();
    let input = match parsed {
        Ok(i) => i,
        Err(e) => {
            return new_page(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                Some(e),
            )
            .await
        }
    };
    match state.backlog.create_item(&caller.actor(), &input).await {
        // Post/Redirect/Get: a refresh of the item page never files the item twice. The
        // page looks for possible duplicates once, because `similar` asks it to.
        Ok(item) => super::flash::redirect(
            &format!("/backlog/{}?similar=1", item.id),
            format!("Backlog item #{} created.", item.id),
        ),
        Err(e) => {
            let e: ApiError = e.into();
            new_page(&state, &caller, e.status, form, Some(describe(&e))).await
        }
    }
}

#[derive(Template)]
#[template(path = "backlog/item.html")]
struct ItemPage {
    nav: Nav,
    item: Item,
    next_states: Vec<ItemState>,
    /// (when, who, what as safe HTML) for the item's history and comments, oldest first.
    timeline: Vec<(chrono::DateTime<Utc>, String, String)>,
    /// The description's Markdown as sanitised HTML.
    description_html: String,
    types: Vec<Choice>,
    tags: String,
    duplicates: Vec<Item>,
    error: Option<String>,
    clocks: Vec<ClockView>,
    sla_zone: String,
    watchers: Vec<opsward_backlog::watch::Watcher>,
    watching: bool,
    attachments: Vec<opsward_backlog::files::ItemAttachment>,
    /// The other practice's object this item was opened for automatically.
    source: Option<opsward_backlog::auto::AutoItem>,
    /// Owners by name, and the edit form's choices of them.
    team: String,
    assignee: String,
    teams: Vec<Choice>,
    people: Vec<Choice>,
}

async fn item_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    duplicates: Vec<Item>,
) -> Response {
    let load = async {
        let item = state.backlog.get_item(id).await?;
        let history = state.backlog.history(id).await?;
        let comments = state.backlog.comments(id).await?;
        let sla = state.backlog.sla_report(&item, Utc::now()).await?;
        let watchers = opsward_backlog::watch::WatchStore::new(state.store.as_ref())
            .watchers(id)
            .await?;
        let files = opsward_backlog::files::ItemFiles::new(state.store.as_ref())
            .list(id)
            .await?;
        let source = state.backlog.auto_item_of(id).await?;
        let owners = Owners::load(state).await?;
        let names = super::names::Names::load(state).await?;
        Ok::<_, opsward_store::StoreError>((
            item, history, comments, sla, watchers, files, source, owners, names,
        ))
    };
    let (item, history, comments, sla, watchers, attachments, source, owners, names) =
        match load.await {
            Ok(v) => v,
            Err(e) => return error_response(e.into()),
        };
    let mut timeline: Vec<_> = history
        .into_iter()
        .filter(|h| h.action != "comment")
        .map(|h| {
            let what = match h.action.as_str() {
                "update" => {
                    super::changes::sentence(&super::changes::from_history(&h.changes, &names))
                }
                "create" => "created the item".to_string(),
                other => opsward_core::label::humanise(other).to_lowercase(),
            };
            (h.at, h.actor, escape_html(&what))
        })
        .chain(comments.into_iter().map(|c| {
            (
                c.created_at,
                c.author,
                format!("commented: {}", to_safe_html(&c.body)),
            )
        }))
        .collect();
    timeline.sort_by_key(|t| t.0);
    let duplicates = duplicates.into_iter().filter(|d| d.id != item.id).collect();
    render_with(
        status,
        &ItemPage {
            nav: Nav::new(caller, "backlog"),
            next_states: item.state.next_states(),
            timeline,
            duplicates,
            error,
            clocks: sla.as_ref().map(clock_views).unwrap_or_default(),
            description_html: to_safe_html(&item.description),
            types: Choice::labelled(
                ItemType::ALL.iter().map(|t| (t.as_str(), t.label())),
                item.item_type.as_str(),
            ),
            tags: item.tags.join(", "),
            sla_zone: sla.map(|r| r.time_zone).unwrap_or_default(),
            watching: watchers.iter().any(|w| w.user_id == caller.user.id),
            watchers,
            attachments,
            source,
            team: owners.team_name(item.team_id),
            assignee: owners.person_name(item.assignee_person_id),
            teams: owners.team_choices(item.team_id),
            people: owners.person_choices(item.assignee_person_id),
            item,
        },
    )
}

/// The item page with a refusal shown above it.
pub async fn item_page_with_error(
    state: &AppState,
    caller: &crate::auth::Principal,
    id: i64,
    status: StatusCode,
    error: String,
) -> Response {
    item_page(state, caller, id, status, Some(error), Vec::new()).await
}

#[derive(Deserialize, Default)]
pub struct ItemQuery {
    /// Set by the redirect after creating the item: show items that look the same.
    #[serde(default)]
    similar: Option<String>,
}

pub async fn item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    Query(q): Query<ItemQuery>,
) -> Response {
    let mut duplicates = Vec::new();
    if q.similar.is_some() {
        if let Ok(item) = state.backlog.get_item(id).await {
            duplicates = state
                .backlog
                .similar(&item.title, &item.description)
                .await
                .unwrap_or_default();
            duplicates.retain(|d| d.id != id);
        }
    }
    item_page(&state, &caller, id, StatusCode::OK, None, duplicates).await
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    state: String,
    /// The version the page showed, so a move based on a stale page is refused.
    #[serde(default)]
    version: Option<i64>,
}

pub async fn move_state(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<MoveForm>,
) -> Response {
    let to = match form.state.parse::<ItemState>() {
        Ok(s) => s,
        Err(e) => {
            return item_page(
                &state,
                &caller,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
                Vec::new(),
            )
            .await
        }
    };
    let patch = ItemPatch {
        state: Some(to),
        version: form.version,
        ..ItemPatch::default()
    };
    match state.backlog.update_item(&caller.actor(), id, &patch).await {
        Ok(_) => Redirect::to(&format!("/backlog/{id}")).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            if e.status == StatusCode::NOT_FOUND {
                return error_response(e);
            }
            item_page(
                &state,
                &caller,
                id,
                e.status,
                Some(describe(&e)),
                Vec::new(),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
}

pub async fn comment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<CommentForm>,
) -> Response {
    match state
        .backlog
        .add_comment(&caller.actor(), id, &CommentInput { body: form.body })
        .await
    {
        Ok(_) => Redirect::to(&format!("/backlog/{id}")).into_response(),
        Err(opsward_store::StoreError::NotFound(what)) => error_response(ApiError::not_found(what)),
        Err(e) => {
            let e: ApiError = e.into();
            item_page(
                &state,
                &caller,
                id,
                e.status,
                Some(describe(&e)),
                Vec::new(),
            )
            .await
        }
    }
}
