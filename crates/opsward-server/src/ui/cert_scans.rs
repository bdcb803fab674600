//! TLS scans started from the browser: endpoints (`host:port`, ranges) or an asset's places,
//! run by the server like `POST /api/v1/certificates/scan-requests` (the same
//! `run_scan_request`), then Post/Redirect/Get to the scans page with the outcome.

use super::{error_response, render, Nav, UiForm};
use crate::{
    api::{cert_targets::run_scan_request, Caller},
    AppState,
};
use askama::Template;
use axum::{extract::State, response::Response};
use opsward_certs::{assets::ScanRequest, inventory::ScanRecord};
use serde::Deserialize;

/// Scans listed on the page.
const SCANS_SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "certs/scans.html")]
struct ScansPage {
    nav: Nav,
    scans: Vec<ScanRecord>,
    assets: Vec<String>,
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    let scans = match state.certs.scans(SCANS_SHOWN).await {
        Ok(s) => s,
        Err(e) => return error_response(e.into()),
    };
    let assets = match state.certs.asset_settings().await {
        Ok(a) => a.into_iter().map(|a| a.asset_name).collect(),
        Err(e) => return error_response(e.into()),
    };
    render(&ScansPage {
        nav: Nav::new(&caller, "certificates"),
        scans,
        assets,
    })
}

#[derive(Deserialize)]
pub struct ScanForm {
    /// `host:port` endpoints or ranges, one a line (or separated by spaces or commas).
    #[serde(default)]
    targets: String,
    /// An asset's name: its TLS endpoints.
    #[serde(default)]
    asset: String,
    #[serde(default)]
    starttls: String,
    /// Where to go back to (the asset page when started there).
    #[serde(default)]
    back: String,
}

impl ScanForm {
    fn request(&self) -> ScanRequest {
        ScanRequest {
            targets: self
                .targets
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            ports: Vec::new(),
            assets: super::non_empty(&self.asset).into_iter().collect(),
            tags: Vec::new(),
            starttls: super::non_empty(&self.starttls),
        }
    }

    /// Only the app's own asset pages; anything else goes to the scans page.
    fn back(&self) -> &str {
        let back = self.back.as_str();
        let is_asset_page = back
            .strip_prefix("/assets/")
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        if is_asset_page {
            back
        } else {
            "/certificates/scans"
        }
    }
}

pub async fn start(
    State(state): State<AppState>,
    Caller(caller): Caller,
    UiForm(form): UiForm<ScanForm>,
) -> Response {
    let back = form.back();
    match run_scan_request(&state, &caller.actor(), &form.request()).await {
        Ok(stored) => {
            let s = &stored.scan;
            let message = format!(
                "Scan #{}: {} place(s) scanned, {} certificate(s) found ({} new), {} error(s); {} renewal(s) opened.",
                s.id, s.sources, s.certificates, s.new_certificates, s.errors, stored.renewals_opened
            );
            if s.errors > 0 {
                super::flash::redirect_problem(back, message)
            } else {
                super::flash::redirect(back, message)
            }
        }
        Err(e) => {
            super::flash::redirect_problem(back, format!("Not scanned: {}", super::describe(&e)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(targets: &str, back: &str) -> ScanForm {
        ScanForm {
            targets: targets.into(),
            asset: String::new(),
            starttls: String::new(),
            back: back.into(),
        }
    }

    #[test]
    fn targets_split_at_lines_spaces_and_commas() {
        let request = form("a.example:443\n b.example:8443, 10.0.0.0/30:443", "").request();
        assert_eq!(
            request.targets,
            ["a.example:443", "b.example:8443", "10.0.0.0/30:443"]
        );
        assert!(request.assets.is_empty());
    }

    #[test]
    fn only_asset_pages_are_gone_back_to() {
        assert_eq!(form("", "/assets/12").back(), "/assets/12");
        assert_eq!(
            form("", "https://evil.example/").back(),
            "/certificates/scans"
        );
        assert_eq!(form("", "/assets/12/delete").back(), "/certificates/scans");
        assert_eq!(form("", "").back(), "/certificates/scans");
    }
}
