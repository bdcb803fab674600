//! The operations calendar: activities, their occurrences, evidence and iCal feeds.

use super::{files::UploadField, Caller};
use crate::{
    auth::{secret, Principal},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use axum::{
    extract::{FromRequest, Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use opsward_core::{practice::Practice, Role};
use opsward_ops::{
    export::evidence_csv,
    ical,
    store::NewAttachment,
    templates::{ActivityTemplate, TEMPLATES},
    Activity, ActivityInput, CalendarFilter, Evidence, EvidenceInput, EvidenceResult, IcalFeed,
    Occurrence,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Longest calendar window one request may ask for.
pub const MAX_WINDOW_DAYS: i64 = 400;

#[utoipa::path(get, path = "/api/v1/activity-templates", tag = "calendar",
    responses((status = 200, body = Vec<ActivityTemplate>), (status = 401, body = ErrorBody)))]
pub async fn templates() -> Json<&'static [ActivityTemplate]> {
    Json(TEMPLATES)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    pub practice: Option<Practice>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// Also list paused activities.
    #[serde(default)]
    pub include_inactive: bool,
}

#[utoipa::path(get, path = "/api/v1/activities", tag = "calendar", params(ActivityQuery),
    responses((status = 200, body = Vec<Activity>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<Vec<Activity>>> {
    let filter = CalendarFilter {
        practice: q.practice,
        owner_team_id: q.owner_team_id,
        owner_person_id: q.owner_person_id,
        activity_id: None,
        asset_id: None,
    };
    Ok(Json(
        state
            .ops
            .list_activities(&filter, q.include_inactive)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/activities", tag = "calendar", request_body = ActivityInput,
    responses((status = 201, body = Activity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<ActivityInput>,
) -> ApiResult<(StatusCode, Json<Activity>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.ops.create_activity(&caller.actor(), &input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "calendar", params(("id" = i64, Path)),
    responses((status = 200, body = Activity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Activity>> {
    Ok(Json(state.ops.get_activity(id).await?))
}

#[utoipa::path(put, path = "/api/v1/activities/{id}", tag = "calendar", params(("id" = i64, Path)), request_body = ActivityInput,
    responses((status = 200, body = Activity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ActivityInput>,
) -> ApiResult<Json<Activity>> {
    Ok(Json(
        state
            .ops
            .update_activity(&caller.actor(), id, &input)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/activities/{id}", tag = "calendar", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.ops.delete_activity(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// First day (UTC), default today.
    pub from: Option<NaiveDate>,
    /// Day after the last (UTC), default 30 days after `from`; at most 400 days after it.
    pub to: Option<NaiveDate>,
    pub practice: Option<Practice>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
}

/// The `[from, to)` window of a calendar request, checked.
pub fn window(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    default_days: i64,
) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let from = from.unwrap_or_else(|| Utc::now().date_naive());
    let to = match to {
        Some(to) => to,
        None => from
            .checked_add_signed(Duration::days(default_days))
            .ok_or_else(|| ApiError::bad_request("from is out of range"))?,
    };
    if to <= from || (to - from).num_days() > MAX_WINDOW_DAYS {
        return Err(ApiError::bad_request(format!(
            "to must be after from, at most {MAX_WINDOW_DAYS} days later"
        )));
    }
    let start = from.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let end = to.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    Ok((start, end))
}

/// Occurrences of every matching activity in a window, each with its state
/// (`done`, `overdue`, `upcoming`).
#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar", params(CalendarQuery),
    responses((status = 200, body = Vec<Occurrence>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn calendar(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CalendarQuery>,
) -> ApiResult<Json<Vec<Occurrence>>> {
    let (from, to) = window(q.from, q.to, 30)?;
    let filter = CalendarFilter {
        practice: q.practice,
        owner_team_id: q.owner_team_id,
        owner_person_id: q.owner_person_id,
        activity_id: None,
        asset_id: None,
    };
    Ok(Json(
        state.ops.occurrences(&filter, from, to, Utc::now()).await?,
    ))
}

/// Evidence as sent in a multipart form: the fields of `EvidenceInput` plus files.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the multipart form for OpenAPI
pub struct EvidenceForm {
    occurrence_at: Option<DateTime<Utc>>,
    result: EvidenceResult,
    notes: Option<String>,
    /// One URL per line.
    links: Option<String>,
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<Vec<u8>>,
}

/// Read evidence and its files from a JSON or multipart request. Files are stored (by
/// checksum) before the evidence row is written, so the row never points at a missing file.
pub async fn evidence_from_request(
    state: &AppState,
    req: Request,
) -> ApiResult<(EvidenceInput, Vec<NewAttachment>)> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let ApiJson(input) = ApiJson::<EvidenceInput>::from_request(req, state).await?;
        return Ok((input, Vec::new()));
    }
    let mut multipart = super::files::multipart(state, req).await?;
    let (mut occurrence_at, mut result, mut notes, mut links, mut files) =
        (None, None, String::new(), Vec::new(), Vec::new());
    while let Some(field) = super::files::next_field(state, &mut multipart, "attachment").await? {
        let (name, text) = match field {
            UploadField::File(file) => {
                files.push(NewAttachment {
                    filename: file.filename,
                    content_type: file.content_type,
                    size_bytes: file.size_bytes,
                    sha256: file.sha256,
                });
                continue;
            }
            UploadField::EmptyFile => continue,
            UploadField::Text { name, value } => (name, value),
        };
        match name.as_str() {
            "occurrence_at" if !text.trim().is_empty() => {
                occurrence_at =
                    Some(text.trim().parse::<DateTime<Utc>>().map_err(|_| {
                        ApiError::bad_request("occurrence_at must be an RFC 3339 time")
                    })?)
            }
            "result" => {
                result = Some(
                    text.parse::<EvidenceResult>()
                        .map_err(ApiError::bad_request)?,
                )
            }
            "notes" => notes = text,
            "links" => links.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    let result =
        result.ok_or_else(|| opsward_core::ValidationError::single("result", "is required"))?;
    Ok((
        EvidenceInput {
            occurrence_at,
            result,
            notes,
            links,
        },
        files,
    ))
}

/// Complete an occurrence (or record evidence for the activity). Send JSON, or
/// `multipart/form-data` with the same fields and any number of files.
#[utoipa::path(post, path = "/api/v1/activities/{id}/complete", tag = "calendar", params(("id" = i64, Path)),
    request_body(content((EvidenceInput = "application/json"), (EvidenceForm = "multipart/form-data"))),
    responses((status = 201, body = Evidence), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn complete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Evidence>)> {
    let (input, files) = evidence_from_request(&state, req).await?;
    let evidence = complete_and_notify(&state, &caller, id, &input, &files).await?;
    Ok((StatusCode::CREATED, Json(evidence)))
}

/// Record the evidence, then tell the activity's owners if the result was not a pass.
/// A notification problem never loses the evidence: it is logged and the outbox retries.
pub async fn complete_and_notify(
    state: &AppState,
    caller: &Principal,
    id: i64,
    input: &EvidenceInput,
    files: &[NewAttachment],
) -> ApiResult<Evidence> {
    let evidence = state
        .ops
        .complete(&caller.actor(), id, input, files)
        .await?;
    let owner_team = state
        .ops
        .get_activity(id)
        .await
        .ok()
        .map_or((None, None), |a| (a.owner_team_id, a.owner_person_id));
    if let Err(e) = opsward_ops::notifications::events::evidence_recorded(
        &state.notifier,
        &evidence,
        owner_team,
        Utc::now(),
    )
    .await
    {
        tracing::error!(evidence = evidence.id, error = %e, "could not queue the notification for a failed result");
    }
    Ok(evidence)
}

#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    pub practice: Option<Practice>,
    pub activity_id: Option<i64>,
    /// Recorded on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Recorded before this day (UTC).
    pub to: Option<NaiveDate>,
    /// At most this many, newest first (1-10000, default 500).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

pub async fn query_evidence(state: &AppState, q: &EvidenceQuery) -> ApiResult<Vec<Evidence>> {
    let limit = q.limit.unwrap_or(500);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 10000"));
    }
    let day = |d: Option<NaiveDate>| d.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    Ok(state
        .ops
        .list_evidence(
            q.practice,
            q.activity_id,
            day(q.from),
            day(q.to),
            i64::from(limit),
        )
        .await?)
}

#[utoipa::path(get, path = "/api/v1/evidence", tag = "calendar", params(EvidenceQuery),
    responses((status = 200, body = Vec<Evidence>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn evidence(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EvidenceQuery>,
) -> ApiResult<Json<Vec<Evidence>>> {
    Ok(Json(query_evidence(&state, &q).await?))
}

/// Evidence as CSV, for auditors and spreadsheets.
#[utoipa::path(get, path = "/api/v1/evidence/export.csv", tag = "calendar", params(EvidenceQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn evidence_export(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EvidenceQuery>,
) -> ApiResult<Response> {
    let list = query_evidence(&state, &q).await?;
    let mut out = Vec::new();
    evidence_csv(&mut out, &list).map_err(|_| ApiError::internal())?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"evidence.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/evidence/{id}", tag = "calendar", params(("id" = i64, Path)),
    responses((status = 200, body = Evidence), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn evidence_one(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Evidence>> {
    Ok(Json(state.ops.get_evidence(id).await?))
}

/// Download an attachment; its checksum is verified on the way out.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "calendar", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn attachment(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let meta = state.ops.get_attachment(id).await?;
    super::files::download(&state, meta.sha256, &meta.filename, "attachment", id).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateFeed {
    pub name: String,
    /// A team's calendar (its activities) instead of your own (activities you or your teams own).
    #[serde(default)]
    pub team_id: Option<i64>,
}

/// The subscription URL is in this response only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedFeed {
    pub path: String,
    pub feed: IcalFeed,
}

pub async fn create_feed_for(
    state: &AppState,
    caller: &Principal,
    name: &str,
    team_id: Option<i64>,
) -> ApiResult<CreatedFeed> {
    let token = secret::random_secret();
    let feed = state
        .ops
        .create_feed(
            &caller.actor(),
            caller.user.id,
            team_id,
            name.trim(),
            &secret::hash_secret(&token),
        )
        .await?;
    Ok(CreatedFeed {
        path: format!("/ical/{token}.ics"),
        feed,
    })
}

#[utoipa::path(get, path = "/api/v1/ical-feeds", tag = "calendar",
    responses((status = 200, body = Vec<IcalFeed>), (status = 401, body = ErrorBody)))]
pub async fn feeds(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<IcalFeed>>> {
    Ok(Json(state.ops.list_feeds(caller.user.id).await?))
}

#[utoipa::path(post, path = "/api/v1/ical-feeds", tag = "calendar", request_body = CreateFeed,
    responses((status = 201, body = CreatedFeed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_feed(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<CreateFeed>,
) -> ApiResult<(StatusCode, Json<CreatedFeed>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_feed_for(&state, &caller, &input.name, input.team_id).await?),
    ))
}

pub async fn revoke_feed_checked(
    state: &AppState,
    caller: &Principal,
    id: i64,
) -> ApiResult<IcalFeed> {
    let feed = state.ops.get_feed(id).await?;
    if feed.user_id != caller.user.id && caller.role() != Role::Admin {
        return Err(ApiError::not_found("iCal feed"));
    }
    Ok(state.ops.revoke_feed(&caller.actor(), id).await?)
}

#[utoipa::path(delete, path = "/api/v1/ical-feeds/{id}", tag = "calendar", params(("id" = i64, Path)),
    responses((status = 200, body = IcalFeed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_feed(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<IcalFeed>> {
    Ok(Json(revoke_feed_checked(&state, &caller, id).await?))
}

/// The iCal feed itself: `/ical/<secret>.ics`, readable by calendar apps without signing in.
pub async fn ical_feed(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    axum::extract::Path(file): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such calendar").into_response();
    let Some(token) = file.strip_suffix(".ics") else {
        return not_found();
    };
    let feed = match state.ops.feed_by_token(&secret::hash_secret(token)).await {
        Ok(Some(feed)) => feed,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "iCal feed lookup failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let activities = match feed_activities(&state, &feed).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies
        || crate::auth::client::forwarded_https(&state.config.trusted_proxies, peer.ip(), &headers)
    {
        "https"
    } else {
        "http"
    };
    let body = ical::calendar(
        &feed.name,
        &activities,
        &[],
        &format!("{scheme}://{host}"),
        Utc::now(),
    );
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// A team feed has the team's activities; a personal feed has the user's own (as a person
/// with the same email) and those of teams they belong to, or everything when they own none.
async fn feed_activities(state: &AppState, feed: &IcalFeed) -> ApiResult<Vec<Activity>> {
    let all = state
        .ops
        .list_activities(&CalendarFilter::default(), false)
        .await?;
    if let Some(team) = feed.team_id {
        return Ok(all
            .into_iter()
            .filter(|a| a.owner_team_id == Some(team))
            .collect());
    }
    let user = state.store.get_user(feed.user_id).await?;
    let people = state.store.list_people().await?;
    let me: Vec<_> = people
        .iter()
        .filter(|p| {
            user.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&p.email))
        })
        .collect();
    if me.is_empty() {
        return Ok(all);
    }
    let teams: Vec<i64> = me.iter().filter_map(|p| p.team_id).collect();
    Ok(all
        .into_iter()
        .filter(|a| {
            a.owner_person_id
                .is_some_and(|p| me.iter().any(|m| m.id == p))
                || a.owner_team_id.is_some_and(|t| teams.contains(&t))
        })
        .collect())
}

/// Evidence from an automated run (a scan, a test, a rollout) that completes no calendar
/// occurrence.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RunEvidence {
    pub practice: Practice,
    /// What ran, e.g. `nightly restore test of db-01`.
    pub title: String,
    #[serde(flatten)]
    pub evidence: EvidenceInput,
}

#[utoipa::path(post, path = "/api/v1/evidence", tag = "calendar", request_body = RunEvidence,
    responses((status = 201, body = Evidence), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(input): ApiJson<RunEvidence>,
) -> ApiResult<(StatusCode, Json<Evidence>)> {
    let evidence = state
        .ops
        .record_run(
            &caller.actor(),
            input.practice,
            input.title.trim(),
            &input.evidence,
            &[],
        )
        .await?;
    if let Err(e) = opsward_ops::notifications::events::evidence_recorded(
        &state.notifier,
        &evidence,
        (None, None),
        Utc::now(),
    )
    .await
    {
        tracing::error!(evidence = evidence.id, error = %e, "could not queue the notification for a failed run");
    }
    Ok((StatusCode::CREATED, Json(evidence)))
}

/// Evidence with its files as one ZIP for an auditor: `evidence.csv`, every attachment under
/// `files/<evidence id>/`, and `SHA256SUMS` to check them. A stored file that is missing or
/// no longer matches its checksum is replaced by a `.MISSING.txt` note saying so.
#[utoipa::path(get, path = "/api/v1/evidence/export.zip", tag = "calendar", params(EvidenceQuery),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn evidence_zip(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EvidenceQuery>,
) -> ApiResult<Response> {
    let list = query_evidence(&state, &q).await?;
    let files = opsward_ops::export::fetch_attachments(&list, &state.attachments).await;
    let bytes =
        tokio::task::spawn_blocking(move || opsward_ops::export::evidence_zip(&list, &files))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|e| {
                tracing::error!(error = %e, "evidence ZIP failed");
                ApiError::internal()
            })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"evidence.zip\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
