use super::{
    confirm::{self, Deletion},
    error_response, non_empty, render, render_with, Choice, Nav, UiForm,
};
use crate::{
    api::{assets::import_csv, Caller},
    error::ApiError,
    AppState,
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use opsward_core::{
    asset::{Asset, AssetFilter, AssetInput, AssetKind, Criticality},
    audit::AuditFilter,
    page::PageRequest,
    people::{Person, Team},
    FieldError, Role,
};
use opsward_store::{ImportReport, StoreError};
use serde::{Deserialize, Serialize};

/// Serves the stylesheet from the binary: one file, no build step, cacheable for a day.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// The favicon, drawn as SVG (no binary files in the repository).
pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/favicon.svg"),
    )
        .into_response()
}

/// htmx, vendored (see static/README): progressive enhancement only; every page works without it.
pub async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/htmx.min.js"),
    )
        .into_response()
}

fn kind_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    AssetKind::ALL.iter().map(|k| (k.as_str(), k.label()))
}
fn criticality_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    Criticality::ALL.iter().map(|c| (c.as_str(), c.label()))
}

/// Owner names for display, looked up once per page.
struct Owners {
    teams: Vec<Team>,
    people: Vec<Person>,
}

impl Owners {
    async fn load(state: &AppState) -> Result<Self, StoreError> {
        Ok(Owners {
            teams: state.store.list_teams().await?,
            people: state.store.list_people().await?,
        })
    }

    fn label(&self, asset: &Asset) -> String {
        if let Some(id) = asset.owner_team_id {
            return self
                .teams
                .iter()
                .find(|t| t.id == id)
                .map_or_else(|| format!("team #{id}"), |t| format!("team {}", t.name));
        }
        if let Some(id) = asset.owner_person_id {
            return self
                .people
                .iter()
                .find(|p| p.id == id)
                .map_or_else(|| format!("person #{id}"), |p| p.name.clone());
        }
        "nobody".into()
    }

    fn choices(&self, current: &str) -> Vec<Choice> {
        let teams = self
            .teams
            .iter()
            .map(|t| (format!("team:{}", t.id), format!("Team: {}", t.name)));
        let people = self.people.iter().map(|p| {
            (
                format!("person:{}", p.id),
                format!("{} <{}>", p.name, p.email),
            )
        });
        teams
            .chain(people)
            .map(|(value, label)| Choice {
                selected: value == current,
                value,
                label,
            })
            .collect()
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    q: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    environment: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    criticality: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_team_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_person_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

pub struct Row {
    asset: Asset,
    owner: String,
}

#[derive(Template)]
#[template(path = "assets/list.html")]
struct ListPage {
    nav: Nav,
    q: String,
    kinds: Vec<Choice>,
    environment: String,
    criticalities: Vec<Choice>,
    tag: String,
    rows: Vec<Row>,
    error: Option<String>,
    first_page: bool,
    base_query: String,
    next_link: Option<String>,
}

const UI_PAGE_SIZE: u32 = 50;

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut error = None;
    let kind = non_empty(&query.kind)
        .and_then(|k| k.parse::<AssetKind>().map_err(|e| error = Some(e)).ok());
    let criticality = non_empty(&query.criticality)
        .and_then(|c| c.parse::<Criticality>().map_err(|e| error = Some(e)).ok());
    let filter = AssetFilter {
        q: non_empty(&query.q),
        kind,
        environment: non_empty(&query.environment),
        criticality,
        tag: non_empty(&query.tag),
        owner_team_id: query.owner_team_id,
        owner_person_id: query.owner_person_id,
    };
    let page = match PageRequest::from_params(Some(UI_PAGE_SIZE), query.cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return error_response(ApiError::bad_request(e)),
    };
    let (assets, owners) = match (
        state.store.list_assets(&filter, page).await,
        Owners::load(&state).await,
    ) {
        (Ok(a), Ok(o)) => (a, o),
        (Err(e), _) | (_, Err(e)) => return error_response(e.into()),
    };
    let base_query = serde_urlencoded::to_string(ListQuery {
        cursor: None,
        ..query
    })
    .unwrap_or_default();
    let next_link = assets.next_cursor.as_ref().map(|c| {
        let sep = if base_query.is_empty() { "" } else { "&" };
        format!("/assets?{base_query}{sep}cursor={c}")
    });
    let rows = assets
        .items
        .into_iter()
        .map(|asset| Row {
            owner: owners.label(&asset),
            asset,
        })
        .collect();
    render(&ListPage {
        nav: Nav::new(&caller, "assets"),
        kinds: Choice::labelled(kind_names(), kind.map_or("", |k| k.as_str())),
        criticalities: Choice::labelled(
            criticality_names(),
            criticality.map_or("", |c| c.as_str()),
        ),
        q: query_text(&filter.q),
        environment: query_text(&filter.environment),
        tag: query_text(&filter.tag),
        rows,
        error,
        first_page: page.after.is_none(),
        base_query,
        next_link,
    })
}

fn query_text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The asset form as typed, so it can be shown again with errors.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    criticality: String,
    /// `team:<id>`, `person:<id>` or empty.
    #[serde(default)]
    owner: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    description: String,
}

impl AssetForm {
    fn from_asset(a: &Asset) -> Self {
        AssetForm {
            name: a.name.clone(),
            kind: a.kind.to_string(),
            environment: a.environment.clone(),
            criticality: a.criticality.to_string(),
            owner: match (a.owner_team_id, a.owner_person_id) {
                (Some(t), _) => format!("team:{t}"),
                (_, Some(p)) => format!("person:{p}"),
                _ => String::new(),
            },
            tags: a.tags.join(", "),
            description: a.description.clone(),
        }
    }

    fn to_input(&self) -> Result<AssetInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.into(),
                message,
            })
        };
        let kind = self
            .kind
            .parse::<AssetKind>()
            .map_err(|e| err("kind", e))
            .ok();
        let criticality = self
            .criticality
            .parse::<Criticality>()
            .map_err(|e| err("criticality", e))
            .ok();
        let (mut team, mut person) = (None, None);
        match self.owner.split_once(':') {
            None if self.owner.is_empty() => {}
            Some(("team", id)) if id.parse::<i64>().is_ok() => team = id.parse().ok(),
            Some(("person", id)) if id.parse::<i64>().is_ok() => person = id.parse().ok(),
            _ => err("owner", "choose an owner from the list".into()),
        }
        let (Some(kind), Some(criticality)) = (kind, criticality) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let input = AssetInput {
            name: self.name.trim().to_string(),
            kind,
            environment: self.environment.clone(),
            criticality,
            owner_team_id: team,
            owner_person_id: person,
            tags: self.tags.split(',').map(str::to_string).collect(),
            description: self.description.clone(),
        }
        .normalize();
        input.validate().map_err(|e| e.errors)?;
        Ok(input)
    }
}

#[derive(Template)]
#[template(path = "assets/form.html")]
struct FormPage {
    nav: Nav,
    id: Option<i64>,
    form: AssetForm,
    kinds: Vec<Choice>,
    criticalities: Vec<Choice>,
    owners: Vec<Choice>,
    errors: Vec<FieldError>,
}

async fn form_page(
    state: &AppState,
    caller: &crate::auth::Principal,
    id: Option<i64>,
    form: AssetForm,
    errors: Vec<FieldError>,
) -> Response {
    let owners = match Owners::load(state).await {
        Ok(o) => o,
        Err(e) => return error_response(e.into()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with(
        status,
        &FormPage {
            nav: Nav::new(caller, "assets"),
            id,
            kinds: Choice::labelled(kind_names(), &form.kind),
            criticalities: Choice::labelled(criticality_names(), &form.criticality),
            owners: owners.choices(&form.owner),
            form,
            errors,
        },
    )
}

pub async fn new_form(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let form = AssetForm {
        kind: "host".into(),
        environment: "production".into(),
        criticality: "medium".into(),
        ..Default::default()
    };
    form_page(&state, &caller, None, form, Vec::new()).await
}

/// Turn a store error into form errors where the user can fix it, else into an error page.
fn store_error_to_form(err: StoreError) -> Result<Vec<FieldError>, StoreError> {
    match err {
        StoreError::Invalid(v) => Ok(v.errors),
        StoreError::Conflict(message) => Ok(vec![FieldError {
            field: "name".into(),
            message,
        }]),
        other => Err(other),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<AssetForm>,
) -> Response {
    let input = match form.to_input() {
        Ok(i) => i,
        Err(errors) => return form_page(&state, &caller, None, form, errors).await,
    };
    match state.store.create_asset(&caller.actor(), &input).await {
        Ok(asset) => Redirect::to(&format!("/assets/{}", asset.id)).into_response(),
        Err(e) => match store_error_to_form(e) {
            Ok(errors) => form_page(&state, &caller, None, form, errors).await,
            Err(other) => error_response(other.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "assets/detail.html")]
struct DetailPage {
    nav: Nav,
    asset: Asset,
    owner: String,
    history: Vec<super::audit::AuditRow>,
    vulns: super::vuln_policy::AssetVulns,
    /// The conditions about this asset across practices, worst first.
    conditions: Vec<opsward_core::contract::Condition>,
    /// Each practice's section, then the calendar's.
    facets: Vec<opsward_core::contract::AssetFacet>,
    failures: Vec<String>,
    computed_at: String,
    now: chrono::DateTime<chrono::Utc>,
}

pub async fn detail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    let asset = match state.store.get_asset(id).await {
        Ok(a) => a,
        Err(e) => return error_response(e.into()),
    };
    let owners = match Owners::load(&state).await {
        Ok(o) => o,
        Err(e) => return error_response(e.into()),
    };
    let history = if caller.role() == Role::Admin {
        let filter = AuditFilter {
            entity_type: Some("asset".into()),
            entity_id: Some(id),
            ..Default::default()
        };
        let names = match super::names::Names::load(&state).await {
            Ok(n) => n,
            Err(e) => return error_response(e.into()),
        };
        state
            .store
            .list_audit(&filter, PageRequest::first(20))
            .await
            .map(|p| super::audit::AuditRow::build(p.items, &names))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let vulns = match super::vuln_policy::asset_vulns(&state, id).await {
        Ok(v) => v,
        Err(e) => return error_response(e),
    };
    let overview = match crate::overview::load(&state, id).await {
        Ok(o) => o,
        Err(e) => return error_response(e),
    };
    render(&DetailPage {
        nav: Nav::new(&caller, "assets"),
        owner: owners.label(&asset),
        asset,
        history,
        vulns,
        conditions: overview.conditions,
        facets: overview.facets,
        failures: overview.failures,
        computed_at: overview
            .conditions_computed_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        now: chrono::Utc::now(),
    })
}

pub async fn edit_form(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    match state.store.get_asset(id).await {
        Ok(asset) => {
            form_page(
                &state,
                &caller,
                Some(id),
                AssetForm::from_asset(&asset),
                Vec::new(),
            )
            .await
        }
        Err(e) => error_response(e.into()),
    }
}

pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<AssetForm>,
) -> Response {
    let input = match form.to_input() {
        Ok(i) => i,
        Err(errors) => return form_page(&state, &caller, Some(id), form, errors).await,
    };
    match state.store.update_asset(&caller.actor(), id, &input).await {
        Ok(asset) => Redirect::to(&format!("/assets/{}", asset.id)).into_response(),
        Err(StoreError::NotFound(what)) => error_response(ApiError::not_found(what)),
        Err(e) => match store_error_to_form(e) {
            Ok(errors) => form_page(&state, &caller, Some(id), form, errors).await,
            Err(other) => error_response(other.into()),
        },
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        return match state.store.get_asset(id).await {
            Ok(asset) => {
                let deletion = Deletion::new(
                    format!("the asset {}", asset.name),
                    format!("/assets/{id}/delete"),
                    format!("/assets/{id}"),
                );
                confirm::page(
                    &caller,
                    "assets",
                    deletion.counting(&state, "assets", id).await,
                )
            }
            Err(e) => error_response(e.into()),
        };
    }
    match state.store.delete_asset(&caller.actor(), id).await {
        Ok(()) => Redirect::to("/assets").into_response(),
        Err(e) => error_response(e.into()),
    }
}

#[derive(Template)]
#[template(path = "assets/import.html")]
struct ImportPage {
    nav: Nav,
    csv: String,
    report: Option<ImportReport>,
    error: Option<String>,
}

pub async fn import_form(Caller(caller): Caller) -> Response {
    render(&ImportPage {
        nav: Nav::new(&caller, "assets"),
        csv: String::new(),
        report: None,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csv: String,
    #[serde(default)]
    strict: Option<String>,
}

pub async fn import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<ImportForm>,
) -> Response {
    let strict = form.strict.is_some();
    let nav = Nav::new(&caller, "assets");
    match import_csv(&state, &caller.actor(), form.csv.as_bytes(), strict).await {
        // A clean import goes to the list (Post/Redirect/Get); rows to fix keep the page
        // with the text so they can be fixed and sent again.
        Ok(report) if report.committed && report.errors.is_empty() => super::flash::redirect(
            "/assets",
            format!(
                "Import: {} created, {} updated, {} unchanged.",
                report.created, report.updated, report.unchanged
            ),
        ),
        Ok(report) => {
            let status = if report.committed {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            // Keep the text only when something needs fixing.
            let csv = if report.errors.is_empty() {
                String::new()
            } else {
                form.csv
            };
            render_with(
                status,
                &ImportPage {
                    nav,
                    csv,
                    report: Some(report),
                    error: None,
                },
            )
        }
        Err(e) => render_with(
            e.status,
            &ImportPage {
                nav,
                csv: form.csv,
                report: None,
                error: Some(e.message),
            },
        ),
    }
}
