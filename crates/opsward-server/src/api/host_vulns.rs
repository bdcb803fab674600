//! Pending updates across the fleet with the vulnerability findings each closes: which
//! update to install first ("closes 12 findings, 2 in KEV").

use crate::{
    error::{ApiResult, ErrorBody},
    extract::ApiQuery,
    AppState,
};
use axum::{extract::State, Json};
use chrono::Utc;
use opsward_vulns::hosts::{FleetUpdate, UpdateQuery};

/// Every host's pending updates, those closing the most KEV findings first, then the most
/// findings, then the highest severity, then the soonest due. `closes_kev=true` keeps only
/// updates that close a finding in CISA's KEV catalog.
#[utoipa::path(get, path = "/api/v1/patches/updates", tag = "patches", params(UpdateQuery),
    responses((status = 200, body = Vec<FleetUpdate>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn updates(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<UpdateQuery>,
) -> ApiResult<Json<Vec<FleetUpdate>>> {
    Ok(Json(
        opsward_vulns::hosts::fleet_updates(state.store.as_ref(), &query, Utc::now()).await?,
    ))
}
