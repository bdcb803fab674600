//! Supplier pages: the register (list, filters, add form) and one supplier with its
//! contracts, reviews and the scorecard trend.

use super::{describe, error_response, non_empty, render_with, svg, Choice, Nav, UiForm};
use crate::{api::Caller, auth::Principal, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use opsward_core::{asset::Criticality, page::PageRequest};
use opsward_suppliers::{
    notice::NoticeUnit, review::cadence_months, BacklogLink, Contact, Contract, Criterion,
    DecisionKind, RenewalType, Review, ReviewOutcome, Supplier, SupplierFilter, SupplierInput,
};
use serde::{Deserialize, Serialize};

const UI_PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    q: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    criticality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "suppliers/list.html")]
struct ListPage {
    nav: Nav,
    q: String,
    criticalities: Vec<Choice>,
    suppliers: Vec<Supplier>,
    error: Option<String>,
    next_link: Option<String>,
}

async fn list_page(
    state: &AppState,
    caller: &Principal,
    query: ListQuery,
    status: StatusCode,
    mut error: Option<String>,
) -> Response {
    let criticality = non_empty(&query.criticality)
        .and_then(|c| c.parse::<Criticality>().map_err(|e| error = Some(e)).ok());
    let filter = SupplierFilter {
        criticality,
        q: non_empty(&query.q),
        ..SupplierFilter::default()
    };
    let page = match PageRequest::from_params(Some(UI_PAGE_SIZE), query.cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return error_response(ApiError::bad_request(e)),
    };
    let suppliers = match state.suppliers.list_suppliers(&filter, page).await {
        Ok(s) => s,
        Err(e) => return error_response(e.into()),
    };
    let q = query.q.clone();
    let base = serde_urlencoded::to_string(ListQuery {
        cursor: None,
        ..query
    })
    .unwrap_or_default();
    let next_link = suppliers.next_cursor.as_ref().map(|c| {
        let sep = if base.is_empty() { "" } else { "&" };
        format!("/suppliers?{base}{sep}cursor={c}")
    });
    render_with(
        status,
        &ListPage {
            nav: Nav::new(caller, "suppliers"),
            q,
            criticalities: Choice::labelled(
                Criticality::ALL
                    .iter()
                    .rev()
                    .map(|c| (c.as_str(), c.label())),
                criticality.map(|c| c.as_str()).unwrap_or(""),
            ),
            suppliers: suppliers.items,
            error,
            next_link,
        },
    )
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListQuery>,
) -> Response {
    list_page(&state, &caller, query, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct SupplierForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    criticality: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    contact_role: String,
    #[serde(default)]
    notes: String,
}

pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<SupplierForm>,
) -> Response {
    let criticality = match form.criticality.parse::<Criticality>() {
        Ok(c) => c,
        Err(e) => {
            let query = ListQuery::default();
            return list_page(
                &state,
                &caller,
                query,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await;
        }
    };
    let contacts = non_empty(&form.contact_name)
        .map(|name| Contact {
            name,
            email: form.contact_email.trim().into(),
            phone: form.contact_phone.trim().into(),
            role: form.contact_role.trim().into(),
        })
        .into_iter()
        .collect();
    let input = SupplierInput {
        name: form.name,
        category: form.category,
        criticality,
        contacts,
        notes: form.notes,
        asset_ids: Vec::new(),
        owner_team_id: None,
        owner_person_id: None,
    };
    match state
        .suppliers
        .create_supplier(&caller.actor(), &input)
        .await
    {
        Ok(s) => Redirect::to(&format!("/suppliers/{}", s.id)).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            let query = ListQuery::default();
            list_page(&state, &caller, query, e.status, Some(describe(&e))).await
        }
    }
}

/// A review as a table row: its scores in criterion order, blank where not scored.
pub struct ReviewRow {
    pub review: Review,
    pub cells: Vec<String>,
    pub total: String,
}

#[derive(Template)]
#[template(path = "suppliers/detail.html")]
struct DetailPage {
    nav: Nav,
    supplier: Supplier,
    cadence: String,
    contracts: Vec<Contract>,
    criteria: Vec<Criterion>,
    /// Column headings: the active criteria, then retired ones that were scored.
    columns: Vec<(String, String)>,
    reviews: Vec<ReviewRow>,
    links: Vec<BacklogLink>,
    /// Documents of all the supplier's contracts.
    documents: Vec<opsward_suppliers::ContractDocument>,
    trend_chart: String,
    decisions: Vec<&'static str>,
    outcomes: Vec<&'static str>,
    notice_units: Vec<&'static str>,
    renewal_types: Vec<&'static str>,
    /// For the edit form: every criticality, the supplier's selected.
    criticalities: Vec<Choice>,
    relations: Vec<&'static str>,
    today: String,
    error: Option<String>,
}

impl DetailPage {
    fn money(c: &Contract) -> String {
        match (&c.value, &c.currency) {
            (Some(v), Some(cur)) => super::money::money_text(v, cur),
            _ => String::new(),
        }
    }
}

pub async fn detail_page(
    state: &AppState,
    caller: &Principal,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let (detail, criteria) = match (
        crate::api::suppliers::detail_of(state, id).await,
        state.suppliers.criteria().await,
    ) {
        (Ok(d), Ok(c)) => (d, c),
        (Err(e), _) => return error_response(e),
        (_, Err(e)) => return error_response(e.into()),
    };
    let mut columns: Vec<(String, String)> = Vec::new();
    let scored = detail.reviews.iter().flat_map(|r| r.scores.iter());
    // The criteria in their configured order, then any scored earlier and since retired.
    for (key, label) in criteria
        .iter()
        .filter(|c| c.active)
        .map(|c| (c.key.clone(), c.label.clone()))
        .chain(scored.map(|s| (s.criterion.clone(), s.label.clone())))
    {
        if !columns.iter().any(|(k, _)| *k == key) {
            columns.push((key, label));
        }
    }
    let points: Vec<svg::Point> = detail
        .reviews
        .iter()
        .filter_map(|r| {
            r.weighted_score.map(|value| svg::Point {
                label: r.review_date.to_string(),
                value,
            })
        })
        .collect();
    let trend_chart = if points.is_empty() {
        String::new()
    } else {
        svg::point_line_chart(
            "scorecard-trend",
            &format!(
                "Scorecard trend of {} (weighted, 1-5)",
                detail.supplier.name
            ),
            &points,
            1.0,
            5.0,
        )
    };
    let reviews = detail
        .reviews
        .into_iter()
        .rev()
        .map(|review| ReviewRow {
            cells: columns
                .iter()
                .map(|(key, _)| {
                    review
                        .scores
                        .iter()
                        .find(|s| s.criterion == *key)
                        .map(|s| s.score.to_string())
                        .unwrap_or_default()
                })
                .collect(),
            total: review
                .weighted_score
                .map(|t| format!("{t:.2}"))
                .unwrap_or_default(),
            review,
        })
        .collect();
    let mut documents = Vec::new();
    for c in &detail.contracts {
        match state.suppliers.documents(c.id).await {
            Ok(d) => documents.extend(d),
            Err(e) => return error_response(e.into()),
        }
    }
    let months = cadence_months(detail.supplier.criticality);
    let criticality = detail.supplier.criticality;
    render_with(
        status,
        &DetailPage {
            nav: Nav::new(caller, "suppliers"),
            cadence: format!("every {months} months"),
            supplier: detail.supplier,
            contracts: detail.contracts,
            criteria: criteria.into_iter().filter(|c| c.active).collect(),
            columns,
            reviews,
            links: detail.backlog_links,
            documents,
            trend_chart,
            decisions: DecisionKind::ALL.iter().map(|d| d.as_str()).collect(),
            outcomes: ReviewOutcome::ALL.iter().map(|o| o.as_str()).collect(),
            notice_units: NoticeUnit::ALL.iter().map(|u| u.as_str()).collect(),
            renewal_types: RenewalType::ALL.iter().map(|r| r.as_str()).collect(),
            criticalities: Choice::labelled(
                opsward_core::asset::Criticality::ALL
                    .iter()
                    .map(|c| (c.as_str(), c.label())),
                criticality.as_str(),
            ),
            relations: opsward_suppliers::LinkRelation::ALL
                .iter()
                .map(|r| r.as_str())
                .collect(),
            today: chrono::Utc::now().date_naive().to_string(),
            error,
        },
    )
}

pub async fn detail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    detail_page(&state, &caller, id, StatusCode::OK, None).await
}
