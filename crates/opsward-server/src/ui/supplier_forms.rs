//! The forms on a supplier's page: add a contract, decide on a contract's term, record a
//! review with its scores, and tick off review actions. Each redirects back to the
//! supplier's page, or shows it again with the problem. Also: edit the supplier, and link a
//! backlog item to it.

use super::{describe, error_response, non_empty, suppliers::detail_page, UiForm};
use crate::{api::Caller, error::ApiError, AppState};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::NaiveDate;
use opsward_suppliers::{
    notice::NoticePeriod, ActionInput, ContractInput, DecisionInput, ReviewInput, ScoreInput,
};
use serde::Deserialize;
use std::collections::HashMap;

fn back(supplier_id: i64) -> Response {
    Redirect::to(&format!("/suppliers/{supplier_id}")).into_response()
}

async fn again(
    state: &AppState,
    caller: &crate::auth::Principal,
    supplier_id: i64,
    err: ApiError,
) -> Response {
    if err.status == StatusCode::NOT_FOUND {
        return error_response(err);
    }
    detail_page(state, caller, supplier_id, err.status, Some(describe(&err))).await
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        message.into(),
    )
}

fn date(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| invalid(format!("{field} must be a date (YYYY-MM-DD)")))
}

#[derive(Deserialize)]
pub struct ContractForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    notice_amount: String,
    #[serde(default)]
    notice_unit: String,
    #[serde(default)]
    renewal_type: String,
    #[serde(default)]
    renewal_term_months: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    currency: String,
}

impl ContractForm {
    fn input(self, supplier_id: i64) -> Result<ContractInput, ApiError> {
        Ok(ContractInput {
            supplier_id,
            title: self.title,
            reference: self.reference,
            start_date: date("start_date", &self.start_date)?,
            end_date: date("end_date", &self.end_date)?,
            notice: NoticePeriod {
                amount: self
                    .notice_amount
                    .trim()
                    .parse()
                    .map_err(|_| invalid("notice must be a whole number"))?,
                unit: self.notice_unit.parse().map_err(invalid)?,
            },
            renewal_type: self.renewal_type.parse().map_err(invalid)?,
            renewal_term_months: non_empty(&self.renewal_term_months)
                .map(|t| {
                    t.parse()
                        .map_err(|_| invalid("renewal term must be months"))
                })
                .transpose()?
                .unwrap_or(12),
            value: non_empty(&self.value),
            currency: non_empty(&self.currency),
            owner_team_id: None,
            owner_person_id: None,
        })
    }
}

pub async fn add_contract(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(supplier_id): Path<i64>,
    UiForm(form): UiForm<ContractForm>,
) -> Response {
    let result = async {
        let input = form.input(supplier_id)?;
        state
            .suppliers
            .get_supplier(supplier_id)
            .await
            .map_err(ApiError::from)?;
        state
            .suppliers
            .create_contract(&caller.actor(), &input)
            .await
            .map_err(ApiError::from)
    };
    match result.await {
        Ok(_) => back(supplier_id),
        Err(e) => again(&state, &caller, supplier_id, e).await,
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(contract_id): Path<i64>,
    UiForm(form): UiForm<DecisionForm>,
) -> Response {
    let contract = match state.suppliers.get_contract(contract_id).await {
        Ok(c) => c,
        Err(e) => return error_response(e.into()),
    };
    let result = async {
        let input = DecisionInput {
            decision: form.decision.parse().map_err(invalid)?,
            note: form.note,
        };
        state
            .suppliers
            .decide(&caller.actor(), contract_id, &input)
            .await
            .map_err(ApiError::from)
    };
    match result.await {
        Ok(_) => back(contract.supplier_id),
        Err(e) => again(&state, &caller, contract.supplier_id, e).await,
    }
}

/// The review form: `review_date`, `outcome`, `notes`, `attendees` (one per line or comma
/// separated), `action` (an optional first action item) and `score_<criterion>` per
/// criterion.
pub async fn add_review(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(supplier_id): Path<i64>,
    UiForm(form): UiForm<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let result = async {
        let mut scores: Vec<ScoreInput> = form
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("score_")?, v)))
            .map(|(criterion, v)| {
                Ok(ScoreInput {
                    criterion: criterion.to_string(),
                    score: v
                        .trim()
                        .parse()
                        .map_err(|_| invalid(format!("{criterion}: choose a score")))?,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        scores.sort_by(|a, b| a.criterion.cmp(&b.criterion));
        let input = ReviewInput {
            supplier_id,
            review_date: date("review_date", field("review_date"))?,
            period_start: None,
            outcome: field("outcome").parse().map_err(invalid)?,
            notes: field("notes").to_string(),
            attendees: field("attendees")
                .split([',', '\n'])
                .filter_map(non_empty)
                .collect(),
            scores,
            actions: non_empty(field("action"))
                .map(|title| ActionInput {
                    title,
                    owner_person_id: None,
                    due_date: None,
                })
                .into_iter()
                .collect(),
        };
        state
            .suppliers
            .record_review(&caller.actor(), &input)
            .await
            .map_err(ApiError::from)
    };
    match result.await {
        Ok(_) => back(supplier_id),
        Err(e) => again(&state, &caller, supplier_id, e).await,
    }
}

#[derive(Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    done: String,
}

pub async fn action_done(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(action_id): Path<i64>,
    UiForm(form): UiForm<DoneForm>,
) -> Response {
    let done = form.done != "false";
    let action = match state
        .suppliers
        .set_action_done(&caller.actor(), action_id, done)
        .await
    {
        Ok(a) => a,
        Err(e) => return error_response(e.into()),
    };
    match state.suppliers.get_review(action.review_id).await {
        Ok(review) => back(review.supplier_id),
        Err(e) => error_response(e.into()),
    }
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
    notes: String,
}

/// Change name, category, criticality (which moves the review schedule) and notes; contacts,
/// assets and owners stay as they are.
pub async fn edit_supplier(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(supplier_id): Path<i64>,
    UiForm(form): UiForm<SupplierForm>,
) -> Response {
    let result = async {
        let current = state
            .suppliers
            .get_supplier(supplier_id)
            .await
            .map_err(ApiError::from)?;
        let input = opsward_suppliers::SupplierInput {
            name: form.name,
            category: form.category,
            criticality: form.criticality.parse().map_err(invalid)?,
            notes: form.notes,
            contacts: current.contacts,
            asset_ids: current.asset_ids,
            owner_team_id: current.owner_team_id,
            owner_person_id: current.owner_person_id,
        };
        state
            .suppliers
            .update_supplier(&caller.actor(), supplier_id, &input)
            .await
            .map_err(ApiError::from)
    };
    match result.await {
        Ok(_) => back(supplier_id),
        Err(e) => again(&state, &caller, supplier_id, e).await,
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    relation: String,
}

/// Link a backlog item as caused by, or waiting on, the supplier.
pub async fn link_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(supplier_id): Path<i64>,
    UiForm(form): UiForm<LinkForm>,
) -> Response {
    let result = async {
        let link = opsward_suppliers::LinkInput {
            item_id: form
                .item_id
                .trim()
                .trim_start_matches('#')
                .parse()
                .map_err(|_| invalid("item must be a backlog item number"))?,
            relation: form.relation.parse().map_err(invalid)?,
        };
        state
            .suppliers
            .link_item(&caller.actor(), supplier_id, &link)
            .await
            .map_err(ApiError::from)
    };
    match result.await {
        Ok(()) => back(supplier_id),
        Err(e) => again(&state, &caller, supplier_id, e).await,
    }
}

/// Attach documents to a contract from the supplier's page (multipart; the CSRF token comes
/// in the query string, as on the calendar's evidence form).
pub async fn upload_documents(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(contract_id): Path<i64>,
    req: axum::extract::Request,
) -> Response {
    let supplier_id = match state.suppliers.get_contract(contract_id).await {
        Ok(c) => c.supplier_id,
        Err(e) => return error_response(e.into()),
    };
    match crate::api::contracts::store_documents(&state, &caller, contract_id, req).await {
        Ok(_) => back(supplier_id),
        Err(e) => again(&state, &caller, supplier_id, e).await,
    }
}
