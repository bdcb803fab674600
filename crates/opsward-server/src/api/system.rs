//! Health, readiness, metrics and the job queue view.

use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    extract::ApiQuery,
    AppState,
};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use opsward_core::job::{Job, JobState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()), responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the store answers too.
#[utoipa::path(get, path = "/readyz", tag = "system", security(()), responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(std::time::Duration::from_secs(5), state.store.ping()).await {
        Ok(Ok(())) => Json(Health {
            status: "ok".into(),
        })
        .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the database does not answer",
            )
            .into_response()
        }
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the database did not answer within 5 s",
        )
        .into_response(),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "system", security(()), responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // The hygiene and condition gauges and the practices' own series (x509 certificate
    // gauges) come from the kept picture, so a scrape costs no recomputation; if there is
    // none the scrape still answers, with the last gauges and without the practices' series.
    let picture = state.picture.get().await;
    match &picture {
        Ok(picture) => state.metrics.record_picture(picture),
        Err(e) => tracing::warn!(error = %e, "hygiene and condition gauges not refreshed"),
    }
    // The queues are counted at scrape time: two grouped counts on indexed columns.
    match state.store.count_jobs_by_state().await {
        Ok(counts) => state.metrics.record_jobs(&counts),
        Err(e) => tracing::warn!(error = %e, "job queue gauges not refreshed"),
    }
    match state.notifier.outbox_backlog().await {
        Ok(backlog) => state.metrics.record_outbox(&backlog, chrono::Utc::now()),
        Err(e) => tracing::warn!(error = %e, "outbox gauges not refreshed"),
    }
    let mut body = state.metrics.render();
    if let Ok(picture) = &picture {
        let eof = body.ends_with("# EOF\n");
        if eof {
            body.truncate(body.len() - "# EOF\n".len());
        }
        body.push_str(&picture.metric_series);
        if eof {
            body.push_str("# EOF\n");
        }
    }
    // Prometheus asks for OpenMetrics; everything else (curl, promtool, older scrapers)
    // gets the classic text format.
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if crate::metrics::wants_openmetrics(accept) {
        ([(header::CONTENT_TYPE, crate::metrics::OPENMETRICS)], body).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, crate::metrics::PROMETHEUS_TEXT)],
            crate::metrics::classic_text(&body),
        )
            .into_response()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    pub state: Option<JobState>,
    /// At most this many, newest first (1-1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Background jobs, newest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "system", params(JobQuery),
    responses((status = 200, body = Vec<Job>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn jobs(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<Vec<Job>>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    Ok(Json(state.store.list_jobs(query.state, limit).await?))
}
