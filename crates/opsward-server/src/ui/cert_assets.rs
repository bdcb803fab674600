//! The certificates page for assets: each asset's TLS host name (SNI), address, ports and
//! expiry thresholds, thresholds per tag, and the targets every rescan expands again.

use super::{describe, error_response, non_empty, render_with, Nav, UiForm};
use crate::{api::Caller, auth::Principal, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_certs::assets::{CertAssetInput, CertAssetSettings, CertTagThresholds, ScanTarget};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "certs/assets.html")]
struct AssetsPage {
    nav: Nav,
    assets: Vec<CertAssetSettings>,
    tags: Vec<CertTagThresholds>,
    targets: Vec<ScanTarget>,
    error: Option<String>,
}

/// `60,30,7` as the form shows it.
pub fn days_text(days: &[i64]) -> String {
    days.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn port_text(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl AssetsPage {
    fn thresholds_of(&self, a: &CertAssetSettings) -> String {
        a.thresholds.as_deref().map(days_text).unwrap_or_default()
    }

    fn ports_of(&self, a: &CertAssetSettings) -> String {
        port_text(&a.ports)
    }

    fn target_ports(&self, t: &ScanTarget) -> String {
        port_text(&t.ports)
    }
}

async fn page_with(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let (assets, tags, targets) = match (
        state.certs.asset_settings().await,
        state.certs.tag_thresholds().await,
        state.certs.scan_targets(None).await,
    ) {
        (Ok(a), Ok(t), Ok(k)) => (a, t, k),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return error_response(e.into()),
    };
    render_with(
        status,
        &AssetsPage {
            nav: Nav::new(caller, "certificates"),
            assets,
            tags,
            targets,
            error,
        },
    )
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    page_with(&state, &caller, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct AssetForm {
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    ports: String,
    #[serde(default)]
    thresholds: String,
}

/// `443, 8443` or `60,30,7`: numbers separated by commas; empty is none.
fn numbers<T: std::str::FromStr>(field: &str, text: &str) -> Result<Vec<T>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<T>()
                .map_err(|_| format!("{field}: {p:?} is not a number"))
        })
        .collect()
}

pub async fn save_asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<i64>,
    UiForm(form): UiForm<AssetForm>,
) -> Response {
    let parsed = numbers::<u16>("ports", &form.ports)
        .and_then(|ports| numbers::<i64>("thresholds", &form.thresholds).map(|t| (ports, t)));
    let (ports, thresholds) = match parsed {
        Ok(p) => p,
        Err(e) => {
            return page_with(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, Some(e)).await
        }
    };
    let input = CertAssetInput {
        hostname: non_empty(&form.hostname),
        address: non_empty(&form.address),
        ports,
        thresholds: (!thresholds.is_empty()).then_some(thresholds),
    };
    match state
        .certs
        .set_asset_settings(&caller.actor(), id, &input, Utc::now())
        .await
    {
        Ok(_) => Redirect::to("/certificates/assets").into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            page_with(&state, &caller, e.status, Some(describe(&e))).await
        }
    }
}

#[derive(Deserialize)]
pub struct TagForm {
    #[serde(default)]
    tag: String,
    #[serde(default)]
    thresholds: String,
}

pub async fn save_tag(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<TagForm>,
) -> Response {
    let thresholds = match numbers::<i64>("thresholds", &form.thresholds) {
        Ok(t) => t,
        Err(e) => {
            return page_with(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, Some(e)).await
        }
    };
    let result = state
        .certs
        .set_tag_thresholds(
            &caller.actor(),
            &form.tag,
            (!thresholds.is_empty()).then_some(thresholds.as_slice()),
            Utc::now(),
        )
        .await;
    match result {
        Ok(()) => Redirect::to("/certificates/assets").into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            page_with(&state, &caller, e.status, Some(describe(&e))).await
        }
    }
}
