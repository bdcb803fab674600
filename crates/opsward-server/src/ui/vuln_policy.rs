//! Vulnerability policy pages: the allowed-ports policies of assets and tags (with a form to
//! set one), the settings in force, the last scheduled runs; and the asset page's section:
//! that asset's findings by kind, its effective exposure policy and a form to set its own.

use super::{error_response, non_empty, render_with, Nav, UiForm};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_store::StoreError;
use opsward_vulns::exposure_findings::{targets, ExposureTarget};
use opsward_vulns::findings::{Finding, FindingFilter, FindingKind};
use opsward_vulns::policy_store::CheckRun;
use opsward_vulns::settings::{PortPolicy, PortPolicyInput, VulnSettings};
use serde::Deserialize;

/// One policy as a row, with the asset's name for asset policies.
pub struct PolicyRow {
    pub policy: PortPolicy,
    pub applies_to: String,
}

#[derive(Template)]
#[template(path = "vulns/policy.html")]
struct PolicyPage {
    nav: Nav,
    settings: VulnSettings,
    settings_json: String,
    policies: Vec<PolicyRow>,
    runs: Vec<CheckRun>,
    form: PolicyForm,
    error: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    pub asset: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub allowed: String,
    #[serde(default)]
    pub scan_ports: String,
    #[serde(default)]
    pub address: String,
}

async fn policy_page(
    state: &AppState,
    nav: Nav,
    form: PolicyForm,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let loaded = async {
        let settings = state.vulns.settings().await?;
        let mut policies = vec![];
        for policy in state.vulns.port_policies().await? {
            let applies_to = match (&policy.tag, policy.asset_id) {
                (Some(tag), _) => format!("tag {tag}"),
                (None, Some(id)) => format!("asset {}", state.store.get_asset(id).await?.name),
                (None, None) => String::new(),
            };
            policies.push(PolicyRow { policy, applies_to });
        }
        let runs = state.vulns.check_runs(None, 10).await?;
        Ok::<_, StoreError>((settings, policies, runs))
    }
    .await;
    let (settings, policies, runs) = match loaded {
        Ok(l) => l,
        Err(e) => return error_response(e.into()),
    };
    render_with(
        status,
        &PolicyPage {
            nav,
            settings_json: serde_json::to_string_pretty(&settings).unwrap_or_default(),
            settings,
            policies,
            runs,
            form,
            error,
        },
    )
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let nav = Nav::new(&caller, "vulnerabilities");
    policy_page(&state, nav, PolicyForm::default(), StatusCode::OK, None).await
}

fn input(form: &PolicyForm, asset_id: Option<i64>) -> PortPolicyInput {
    PortPolicyInput {
        asset_id,
        tag: if asset_id.is_some() {
            None
        } else {
            non_empty(&form.tag)
        },
        allowed: form.allowed.trim().to_string(),
        scan_ports: non_empty(&form.scan_ports),
        address: non_empty(&form.address),
    }
}

fn problem_text(e: StoreError) -> Result<String, StoreError> {
    match e {
        StoreError::Invalid(v) => Ok(v.to_string()),
        StoreError::NotFound(what) => Ok(format!("no such {what}")),
        other => Err(other),
    }
}

pub async fn set_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<PolicyForm>,
) -> Response {
    let nav = Nav::new(&caller, "vulnerabilities");
    let asset_id = match non_empty(&form.asset) {
        None => None,
        Some(name) => match state.store.get_asset_by_name(&name).await {
            Ok(a) => Some(a.id),
            Err(_) => {
                let error = Some(format!("asset: no asset named {name:?}"));
                return policy_page(&state, nav, form, StatusCode::UNPROCESSABLE_ENTITY, error)
                    .await;
            }
        },
    };
    match state
        .vulns
        .set_port_policy(&caller.actor(), &input(&form, asset_id))
        .await
    {
        Ok(_) => Redirect::to("/vulns/policy").into_response(),
        Err(e) => match problem_text(e) {
            Ok(text) => {
                policy_page(
                    &state,
                    nav,
                    form,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(text),
                )
                .await
            }
            Err(other) => error_response(other.into()),
        },
    }
}

pub async fn delete_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
) -> Response {
    match state.vulns.delete_port_policy(&caller.actor(), id).await {
        Ok(()) => Redirect::to("/vulns/policy").into_response(),
        Err(e) => error_response(e.into()),
    }
}

/// An asset's findings of one kind, for its page.
pub struct KindSection {
    pub kind: FindingKind,
    pub findings: Vec<(Finding, bool)>,
    pub active: usize,
}

/// The asset page's vulnerabilities section.
pub struct AssetVulns {
    /// Whether the asset has any finding at all.
    pub any: bool,
    pub sections: Vec<KindSection>,
    pub target: Option<ExposureTarget>,
    pub own_policy: Option<PortPolicy>,
}

pub async fn asset_vulns(state: &AppState, asset_id: i64) -> Result<AssetVulns, ApiError> {
    let findings = state
        .vulns
        .findings(&FindingFilter {
            asset_id: Some(asset_id),
            ..Default::default()
        })
        .await?;
    let today = Utc::now().date_naive();
    let sections = FindingKind::ALL
        .iter()
        .map(|kind| {
            let findings: Vec<(Finding, bool)> = findings
                .iter()
                .filter(|f| f.kind == *kind)
                .map(|f| (f.clone(), f.is_overdue(today)))
                .collect();
            KindSection {
                kind: *kind,
                active: findings
                    .iter()
                    .filter(|(f, _)| {
                        matches!(
                            f.state,
                            opsward_vulns::findings::FindingState::Open
                                | opsward_vulns::findings::FindingState::Acknowledged
                        )
                    })
                    .count(),
                findings,
            }
        })
        .collect();
    let target = targets(&state.vulns, state.store.as_ref(), Some(asset_id))
        .await?
        .pop();
    let own_policy = state
        .vulns
        .port_policies()
        .await?
        .into_iter()
        .find(|p| p.asset_id == Some(asset_id));
    Ok(AssetVulns {
        any: !findings.is_empty(),
        sections,
        target,
        own_policy,
    })
}

/// The asset page's form: the asset's own allowed ports (and what to scan, where).
pub async fn set_asset_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<PolicyForm>,
) -> Response {
    match state
        .vulns
        .set_port_policy(&caller.actor(), &input(&form, Some(id)))
        .await
    {
        Ok(_) => Redirect::to(&format!("/assets/{id}#vulnerabilities")).into_response(),
        Err(e) => match problem_text(e) {
            Ok(text) => error_response(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                text,
            )),
            Err(other) => error_response(other.into()),
        },
    }
}
