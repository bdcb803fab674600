//! Vulnerability policy pages: the allowed-ports policies of assets and tags (with a form to
//! set one), the settings in force, the last scheduled runs; and the asset page's section:
//! that asset's findings by kind, its effective exposure policy and a form to set its own.

use super::{error_response, non_empty, render_with, Nav, UiForm};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_store::StoreError;
use opsward_vulns::exposure_findings::{targets, ExposureTarget};
use opsward_vulns::findings::{Finding, FindingFilter, FindingKind};
use opsward_vulns::policy::{DuePolicy, KevDue};
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
    due: DueForm,
    due_error: Option<String>,
    /// Findings the last change of the due-date policy rescheduled (after a redirect).
    rescheduled: Option<usize>,
}

/// The due-date policy as the form shows and sends it.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct DueForm {
    #[serde(default)]
    pub critical_days: String,
    #[serde(default)]
    pub high_days: String,
    #[serde(default)]
    pub medium_days: String,
    #[serde(default)]
    pub low_days: String,
    /// Empty: EPSS raises nothing.
    #[serde(default)]
    pub epss_threshold: String,
    #[serde(default)]
    pub kev: String,
}

impl DueForm {
    fn of(policy: &DuePolicy) -> Self {
        DueForm {
            critical_days: policy.critical_days.to_string(),
            high_days: policy.high_days.to_string(),
            medium_days: policy.medium_days.to_string(),
            low_days: policy.low_days.to_string(),
            epss_threshold: policy
                .epss_threshold
                .map(|t| t.to_string())
                .unwrap_or_default(),
            kev: policy.kev.as_str().to_owned(),
        }
    }

    /// The policy, or what is wrong with the form as one message.
    fn policy(&self) -> Result<DuePolicy, String> {
        let mut problems = vec![];
        let mut days = |field: &str, text: &str| match text.trim().parse::<u32>() {
            Ok(d) => d,
            Err(_) => {
                problems.push(format!("{field}: {} is not a number of days", text.trim()));
                0
            }
        };
        let mut policy = DuePolicy {
            critical_days: days("critical_days", &self.critical_days),
            high_days: days("high_days", &self.high_days),
            medium_days: days("medium_days", &self.medium_days),
            low_days: days("low_days", &self.low_days),
            ..DuePolicy::default()
        };
        policy.epss_threshold = match self.epss_threshold.trim() {
            "" => None,
            text => match text.parse::<f64>() {
                Ok(t) => Some(t),
                Err(_) => {
                    problems.push(format!("epss_threshold: {text} is not a number"));
                    None
                }
            },
        };
        match self.kev.parse::<KevDue>() {
            Ok(k) => policy.kev = k,
            Err(e) => problems.push(format!("kev: {e}")),
        }
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(problems.join("; "))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub rescheduled: Option<usize>,
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

/// What the page shows besides the stored data: forms as sent, and their errors.
#[derive(Default)]
struct PageInput {
    form: PolicyForm,
    error: Option<String>,
    due: Option<DueForm>,
    due_error: Option<String>,
    rescheduled: Option<usize>,
}

async fn policy_page(state: &AppState, nav: Nav, input: PageInput, status: StatusCode) -> Response {
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
            due: input.due.unwrap_or_else(|| DueForm::of(&settings.due)),
            settings,
            policies,
            runs,
            form: input.form,
            error: input.error,
            due_error: input.due_error,
            rescheduled: input.rescheduled,
        },
    )
}

pub async fn page(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<PageQuery>,
) -> Response {
    let nav = Nav::new(&caller, "vulnerabilities");
    let input = PageInput {
        rescheduled: query.rescheduled,
        ..Default::default()
    };
    policy_page(&state, nav, input, StatusCode::OK).await
}

/// The due-date policy form (administrators): saved, every finding not fixed rescheduled.
pub async fn set_due_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<DueForm>,
) -> Response {
    let nav = Nav::new(&caller, "vulnerabilities");
    let failed = |due_error: String, form: DueForm| PageInput {
        due: Some(form),
        due_error: Some(due_error),
        ..Default::default()
    };
    let policy = match form.policy() {
        Ok(p) => p,
        Err(text) => {
            let input = failed(text, form);
            return policy_page(&state, nav, input, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match state.vulns.set_due_policy(&caller.actor(), &policy).await {
        Ok(change) => Redirect::to(&format!(
            "/vulns/policy?rescheduled={}#due-dates",
            change.rescheduled
        ))
        .into_response(),
        Err(e) => match problem_text(e) {
            Ok(text) => {
                let input = failed(text, form);
                policy_page(&state, nav, input, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(other) => error_response(other.into()),
        },
    }
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
                let input = PageInput {
                    form,
                    error: Some(format!("asset: no asset named {name:?}")),
                    ..Default::default()
                };
                return policy_page(&state, nav, input, StatusCode::UNPROCESSABLE_ENTITY).await;
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
                let input = PageInput {
                    form,
                    error: Some(text),
                    ..Default::default()
                };
                policy_page(&state, nav, input, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(other) => error_response(other.into()),
        },
    }
}

pub async fn delete_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    super::confirm::Confirmation(confirmed): super::confirm::Confirmation,
) -> Response {
    if !confirmed {
        let policy = match state.vulns.port_policies().await {
            Ok(all) => all.into_iter().find(|p| p.id == id),
            Err(e) => return error_response(e.into()),
        };
        let Some(policy) = policy else {
            return error_response(ApiError::not_found("port policy"));
        };
        let scope = match (&policy.tag, policy.asset_id) {
            (Some(tag), _) => format!("tag {tag}"),
            (None, Some(asset)) => format!("asset #{asset}"),
            (None, None) => "everything".into(),
        };
        let deletion = super::confirm::Deletion::new(
            format!("the port policy for {scope} (allowed: {})", policy.allowed),
            format!("/vulns/policy/{id}/delete"),
            "/vulns/policy",
        )
        .effect("its ports are then judged by the next broader policy");
        return super::confirm::page(&caller, "vulnerabilities", deletion);
    }
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
