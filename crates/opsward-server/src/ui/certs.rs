//! Certificate pages: the inventory with filters and a 90-day expiry timeline, and one
//! certificate with its chain, names, where it is deployed, its scan history and its renewal.

use super::{
    describe, error_response, non_empty, render_with,
    resilience::when,
    svg::{stacked_columns, Column, Segment},
    Choice, Nav, UiForm,
};
use crate::{
    api::{
        certs::{change_renewal, detail_of, CertQuery, CertificateDetail},
        Caller,
    },
    auth::Principal,
    error::ApiError,
    AppState,
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Duration, Utc};
use opsward_certs::inventory::{CertSort, RenewalStatus, RenewalUpdate, StoredCertificate};
use serde::Deserialize;

/// How far ahead the timeline looks.
pub const TIMELINE_DAYS: i64 = 90;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    within: String,
    #[serde(default)]
    problem: String,
    #[serde(default)]
    owner_team: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    sort: String,
}

pub struct Row {
    pub cert: StoredCertificate,
    pub days_left: i64,
    pub expires: String,
    /// `expired`, `critical`, `warning`, `soon` or `ok`, for the row's class.
    pub urgency: &'static str,
    pub problems: String,
}

fn urgency(days_left: i64, expired: bool) -> &'static str {
    match days_left {
        _ if expired => "expired",
        d if d <= 7 => "critical",
        d if d <= 14 => "warning",
        d if d <= 30 => "soon",
        _ => "ok",
    }
}

#[derive(Template)]
#[template(path = "certs/list.html")]
struct ListPage {
    nav: Nav,
    within: String,
    problem: String,
    issuer: String,
    sorts: Vec<Choice>,
    teams: Vec<Choice>,
    chart: String,
    rows: Vec<Row>,
    error: Option<String>,
}

/// Certificates expiring in each week of the next 90 days (expired ones first), coloured by
/// how near the expiry is.
pub fn expiry_timeline(certs: &[StoredCertificate], now: DateTime<Utc>) -> String {
    const RED: &str = "#b3261e";
    const ORANGE: &str = "#c25e00";
    const YELLOW: &str = "#9a7d0a";
    const BLUE: &str = "#3b6ea5";
    let weeks = (TIMELINE_DAYS + 6) / 7;
    let fill = |days: i64| match days {
        d if d <= 7 => 0,
        d if d <= 14 => 1,
        d if d <= 30 => 2,
        _ => 3,
    };
    let colours = [RED, ORANGE, YELLOW, BLUE];
    let mut expired = 0;
    let mut columns: Vec<[u32; 4]> = vec![[0; 4]; weeks as usize];
    for c in certs {
        let left = c.not_after - now;
        if left <= Duration::zero() {
            expired += 1;
        } else if left <= Duration::days(TIMELINE_DAYS) {
            let week = (left.num_days() / 7).min(weeks - 1) as usize;
            columns[week][fill(left.num_days())] += 1;
        }
    }
    let mut out = vec![Column {
        label: "expired".into(),
        segments: vec![Segment {
            value: expired,
            fill: RED,
        }],
    }];
    for (i, counts) in columns.iter().enumerate() {
        out.push(Column {
            label: (now + Duration::days(7 * i as i64))
                .format("%m-%d")
                .to_string(),
            segments: counts
                .iter()
                .zip(colours)
                .map(|(v, fill)| Segment { value: *v, fill })
                .collect(),
        });
    }
    stacked_columns(
        "cert-timeline",
        &format!("Certificates expiring per week, next {TIMELINE_DAYS} days"),
        &out,
        &[
            ("7 days", RED),
            ("14 days", ORANGE),
            ("30 days", YELLOW),
            ("later", BLUE),
        ],
        2,
    )
}

pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut error = None;
    let within = non_empty(&query.within).and_then(|d| {
        d.trim_end_matches('d')
            .parse::<i64>()
            .map_err(|_| error = Some(format!("expiring within: {d:?} is not a number of days")))
            .ok()
    });
    let owner_team = non_empty(&query.owner_team).and_then(|t| t.parse::<i64>().ok());
    let sort = non_empty(&query.sort)
        .and_then(|s| s.parse::<CertSort>().map_err(|e| error = Some(e)).ok());
    let now = Utc::now();
    let api_query = CertQuery {
        expiring_within_days: within,
        problem: non_empty(&query.problem),
        owner_team,
        issuer: non_empty(&query.issuer),
        sort,
        ..CertQuery::default()
    };
    let filter = match api_query.filter(now) {
        Ok(f) => f,
        Err(e) => return error_response(e),
    };
    let (certs, everything, teams) = match (
        state.certs.list(&filter).await,
        state
            .certs
            .list(&opsward_certs::inventory::CertFilter {
                expires_before: Some(now + Duration::days(TIMELINE_DAYS)),
                limit: Some(opsward_certs::store::MAX_LIST),
                ..Default::default()
            })
            .await,
        state.store.list_teams().await,
    ) {
        (Ok(c), Ok(e), Ok(t)) => (c, e, t),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return error_response(e.into()),
    };
    let rows = certs
        .into_iter()
        .map(|cert| {
            let days_left = cert.days_left(now);
            Row {
                urgency: urgency(days_left, cert.not_after <= now),
                expires: when(Some(cert.not_after)),
                problems: cert
                    .problems
                    .iter()
                    .map(|p| p.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                days_left,
                cert,
            }
        })
        .collect();
    let team_choices = teams
        .iter()
        .map(|t| Choice {
            value: t.id.to_string(),
            label: t.name.clone(),
            selected: Some(t.id) == owner_team,
        })
        .collect();
    render_with(
        StatusCode::OK,
        &ListPage {
            nav: Nav::new(&caller, "certificates"),
            within: query.within.clone(),
            problem: query.problem.clone(),
            issuer: query.issuer.clone(),
            sorts: Choice::labelled(
                CertSort::ALL.iter().map(|s| (s.as_str(), s.label())),
                sort.map(|s| s.as_str()).unwrap_or("expiry"),
            ),
            teams: team_choices,
            chart: expiry_timeline(&everything, now),
            rows,
            error,
        },
    )
}

#[derive(Template)]
#[template(path = "certs/detail.html")]
struct DetailPage {
    nav: Nav,
    d: CertificateDetail,
    days_left: i64,
    urgency: &'static str,
    statuses: Vec<Choice>,
    acme_due: String,
    /// The owning team by name.
    owner_team: Option<super::names::NamedLink>,
    error: Option<String>,
}

async fn detail_page(
    state: &AppState,
    caller: &Principal,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let d = match detail_of(state, id).await {
        Ok(d) => d,
        Err(e) => return error_response(e),
    };
    let owner_team = match d.certificate.effective_owner_team_id {
        Some(team) => match super::names::Names::load_owners(state).await {
            Ok(names) => Some(names.team(team)),
            Err(e) => return error_response(e.into()),
        },
        None => None,
    };
    let now = Utc::now();
    let current = d
        .renewal
        .as_ref()
        .map(|r| r.status.as_str())
        .unwrap_or("open");
    render_with(
        status,
        &DetailPage {
            nav: Nav::new(caller, "certificates"),
            days_left: d.certificate.days_left(now),
            urgency: urgency(d.certificate.days_left(now), d.certificate.not_after <= now),
            statuses: Choice::labelled(
                RenewalStatus::ALL.iter().map(|s| (s.as_str(), s.label())),
                current,
            ),
            acme_due: when(d.acme_renewal_due),
            owner_team,
            d,
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

#[derive(Deserialize)]
pub struct RenewalForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

pub async fn update_renewal(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<RenewalForm>,
) -> Response {
    let status = match form.status.parse::<RenewalStatus>() {
        Ok(s) => s,
        Err(e) => {
            return detail_page(
                &state,
                &caller,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e),
            )
            .await
        }
    };
    let update = RenewalUpdate {
        status,
        note: non_empty(&form.note),
    };
    match change_renewal(&state, &caller.actor(), id, &update).await {
        Ok(_) => Redirect::to(&format!("/certificates/{id}")).into_response(),
        Err(e) => {
            let e: ApiError = e;
            detail_page(&state, &caller, id, e.status, Some(describe(&e))).await
        }
    }
}
