use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::ApiQuery,
    AppState,
};
use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use opsward_core::{
    audit::{AuditEntry, AuditFilter},
    page::{Page, PageRequest},
};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact actor label, e.g. `user:alice` or `token:alice/ci`.
    pub actor: Option<String>,
    /// `asset`, `team`, `person`, `user`, `api_token`, ...
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    /// `create`, `update`, `delete`, `import`, `revoke`, ...
    pub action: Option<String>,
    /// RFC 3339 time; entries at or after it.
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339 time; entries before it.
    pub until: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl AuditQuery {
    pub fn filter(&self) -> AuditFilter {
        AuditFilter {
            actor: self.actor.clone(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity_id,
            action: self.action.clone(),
            since: self.since,
            until: self.until,
        }
    }
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let page = PageRequest::from_params(query.limit, query.cursor.as_deref())
        .map_err(ApiError::bad_request)?;
    Ok(Json(state.store.list_audit(&query.filter(), page).await?))
}
