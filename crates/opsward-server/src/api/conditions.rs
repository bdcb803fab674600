//! `GET /api/v1/conditions`: everything at risk now, across practices, worst first, from the
//! kept picture of operational risk.

use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::ApiQuery,
    AppState,
};
use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use opsward_core::{
    contract::{Condition, Severity},
    practice::Practice,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most conditions one answer lists unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 100_000;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConditionQuery {
    pub practice: Option<Practice>,
    /// Only this severity or worse.
    pub severity: Option<Severity>,
    /// Only conditions about this asset (its id).
    pub asset_id: Option<i64>,
    /// Only conditions whose owner is this team.
    pub team_id: Option<i64>,
    /// Only conditions whose owner is this person.
    pub person_id: Option<i64>,
    /// Only conditions past their due time.
    pub overdue: Option<bool>,
    /// At most this many (1-100000, default 1000); `total` counts them all.
    #[param(minimum = 1, maximum = 100000)]
    pub limit: Option<usize>,
}

impl ConditionQuery {
    pub fn matches(&self, c: &Condition, now: DateTime<Utc>) -> bool {
        self.practice.is_none_or(|p| c.practice == p)
            && self.severity.is_none_or(|s| c.severity <= s)
            && self.asset_id.is_none_or(|a| c.asset_id == Some(a))
            && self.team_id.is_none_or(|t| c.owner_team_id == Some(t))
            && self.person_id.is_none_or(|p| c.owner_person_id == Some(p))
            && self.overdue.is_none_or(|o| c.is_overdue(now) == o)
    }
}

/// Conditions matching a query, as of `computed_at`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConditionList {
    /// When the picture these come from was computed (never more than a minute ago).
    pub computed_at: DateTime<Utc>,
    /// Every matching condition, however many are listed.
    pub total: usize,
    /// The worst first: severity, then due time.
    pub conditions: Vec<Condition>,
    /// Practices that could not report; their conditions are missing.
    pub failures: Vec<String>,
}

/// Everything at risk now across practices (certificates expiring, overdue findings, hosts out
/// of patch SLA, failed resilience tests, SLA breaches, notice deadlines, ...), worst first.
#[utoipa::path(get, path = "/api/v1/conditions", tag = "summary", params(ConditionQuery),
    responses((status = 200, body = ConditionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConditionQuery>,
) -> ApiResult<Json<ConditionList>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let picture = state.picture.get().await?;
    let now = Utc::now();
    let matching: Vec<&Condition> = picture
        .conditions
        .iter()
        .filter(|c| query.matches(c, now))
        .collect();
    Ok(Json(ConditionList {
        computed_at: picture.computed_at(),
        total: matching.len(),
        conditions: matching.into_iter().take(limit).cloned().collect(),
        failures: picture.summary.failures.clone(),
    }))
}
