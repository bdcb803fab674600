//! Threat-intelligence files uploaded in the browser: OSV (a record or an osv.dev zip), the
//! CISA KEV catalog and EPSS scores (CSV or .csv.gz), imported by the code the CLI's
//! `opsward vuln import` and the scheduled re-import use; the page lists the import runs
//! with their outcome and problems.

use super::{error_response, render, Nav};
use crate::{api::Caller, error::ApiError, AppState};
use askama::Template;
use axum::{
    extract::{FromRequest, Multipart, Request, State},
    http::StatusCode,
    response::Response,
};
use opsward_vulns::{
    feed_upload::{import_upload, MAX_FEED_UPLOAD_BYTES},
    findings::{FeedKind, ImportRun},
};

/// Import runs listed on the page.
const RUNS_SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "vulns/imports.html")]
struct ImportsPage {
    nav: Nav,
    runs: Vec<ImportRun>,
    max_mib: usize,
}

pub async fn page(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    match state.vulns.import_runs(RUNS_SHOWN).await {
        Ok(runs) => render(&ImportsPage {
            nav: Nav::new(&caller, "vulnerabilities"),
            runs,
            max_mib: MAX_FEED_UPLOAD_BYTES / (1024 * 1024),
        }),
        Err(e) => error_response(e.into()),
    }
}

/// One uploaded feed file: which feed, its name and its bytes.
pub struct FeedUpload {
    pub kind: FeedKind,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// Read the `feed` and `file` fields of a multipart request (the page's form and
/// `POST /api/v1/vulns/imports`).
pub async fn read_feed_upload(state: &AppState, req: Request) -> Result<FeedUpload, ApiError> {
    let bad = |message: String| ApiError::bad_request(message);
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|e| bad(e.body_text()))?;
    let (mut kind, mut file) = (None, None);
    while let Some(field) = form.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            bad(e.body_text())
        }
    })? {
        match field.name().unwrap_or("") {
            "feed" => {
                let text = field.text().await.map_err(|e| bad(e.body_text()))?;
                kind = Some(text.trim().parse::<FeedKind>().map_err(|_| {
                    opsward_core::ValidationError::single("feed", "choose OSV, KEV or EPSS")
                })?);
            }
            "file" => {
                let filename = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        bad(e.body_text())
                    }
                })?;
                if bytes.len() > MAX_FEED_UPLOAD_BYTES {
                    return Err(too_large());
                }
                file = Some((filename, bytes.to_vec()));
            }
            other => return Err(bad(format!("unknown form field {other:?}"))),
        }
    }
    let kind =
        kind.ok_or_else(|| opsward_core::ValidationError::single("feed", "choose a feed"))?;
    let (filename, bytes) = file
        .filter(|(name, bytes)| !name.is_empty() || !bytes.is_empty())
        .ok_or_else(|| opsward_core::ValidationError::single("file", "choose a file"))?;
    let filename = opsward_core::untrusted::escape_control(&filename)
        .chars()
        .take(200)
        .collect();
    Ok(FeedUpload {
        kind,
        filename,
        bytes,
    })
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "a feed file may be at most {} MiB; import bigger ones from a path or URL (vulnerability settings)",
            MAX_FEED_UPLOAD_BYTES / (1024 * 1024)
        ),
    )
}

/// One line for the page after the import: what changed, or why it was refused.
pub fn outcome_line(run: &ImportRun) -> String {
    let feed = run.kind.as_str().to_uppercase();
    if run.outcome == "imported" {
        format!(
            "{feed} import of {}: {} read, {} new, {} updated, {} unchanged, {} removed.",
            run.source.trim_start_matches("upload: "),
            run.records_read,
            run.created,
            run.updated,
            run.unchanged,
            run.removed
        )
    } else {
        let problems = run
            .problems
            .iter()
            .take(3)
            .map(|p| match p.line {
                Some(line) => format!("{} line {line}: {}", p.file, p.reason),
                None => format!("{}: {}", p.file, p.reason),
            })
            .collect::<Vec<_>>()
            .join("; ");
        format!("{feed} file refused, nothing changed. {problems}")
    }
}

pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    req: Request,
) -> Response {
    let upload = match read_feed_upload(&state, req).await {
        Ok(u) => u,
        Err(e) => return super::flash::redirect_problem("/vulns/imports", super::describe(&e)),
    };
    match import_upload(
        &state.vulns,
        &caller.actor(),
        upload.kind,
        &upload.filename,
        upload.bytes,
    )
    .await
    {
        Ok(run) if run.outcome == "imported" => {
            super::flash::redirect("/vulns/imports", outcome_line(&run))
        }
        Ok(run) => super::flash::redirect_problem("/vulns/imports", outcome_line(&run)),
        Err(e) => error_response(e.into()),
    }
}
