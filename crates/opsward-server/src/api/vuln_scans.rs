//! `POST /api/v1/vulns/scans`: a lockfile or SBOM for an asset, sent by a CI pipeline (or
//! `opsward vuln scan PATH --asset NAME --server URL`) as multipart (a `file` part and an
//! `asset` field, optionally `format`) or as JSON, matched and recorded as the asset's
//! findings by the vulnerabilities practice.

use super::Caller;
use crate::{
    error::{ApiError, ApiResult, ErrorBody},
    AppState,
};
use axum::{
    body::to_bytes,
    extract::{FromRequest, Multipart, Request, State},
    http::{header, StatusCode},
    Json,
};
use opsward_vulns::upload::{record_upload, UploadError, UploadOutcome, MAX_UPLOAD_BYTES};
use serde::Deserialize;
use utoipa::ToSchema;

/// A lockfile or SBOM as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = VulnScanUpload)]
#[serde(deny_unknown_fields)]
pub struct ScanUpload {
    /// The asset's name, or its id.
    pub asset: String,
    /// cargo_lock, go_mod, go_sum, requirements, poetry_lock, package_lock, cyclonedx or
    /// spdx; recognised from `filename` and the content when left out.
    #[serde(default)]
    pub format: Option<String>,
    /// The file's name (`Cargo.lock`, `bom.json`), which also names its format.
    #[serde(default)]
    pub filename: Option<String>,
    /// The file's text.
    pub content: String,
}

fn upload_error(e: UploadError) -> ApiError {
    match e {
        UploadError::UnknownAsset(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
        }
        UploadError::Unparseable(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unparseable_inventory",
            e.to_string(),
        ),
        UploadError::NoAdvisories => {
            ApiError::new(StatusCode::CONFLICT, "no_advisories", e.to_string())
        }
        UploadError::Store(e) => e.into(),
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "a scan upload may be at most {} MiB",
            MAX_UPLOAD_BYTES / (1024 * 1024)
        ),
    )
}

/// Room for the JSON or multipart framing around the file itself.
const FRAMING_BYTES: usize = 64 * 1024;

async fn from_multipart(state: &AppState, req: Request) -> ApiResult<ScanUpload> {
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (mut asset, mut format, mut filename, mut content) = (None, None, None, None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            filename = field.file_name().map(str::to_string);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
            if bytes.len() > MAX_UPLOAD_BYTES {
                return Err(too_large());
            }
            content = Some(String::from_utf8(bytes.to_vec()).map_err(|_| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unparseable_inventory",
                    "the file is not UTF-8 text",
                )
            })?);
        } else {
            let value = field
                .text()
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
            match name.as_str() {
                "asset" => asset = Some(value),
                "format" => format = Some(value),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown form field {other:?}"
                    )))
                }
            }
        }
    }
    let missing = |field: &str| ApiError::bad_request(format!("the form needs a {field:?} field"));
    Ok(ScanUpload {
        asset: asset.ok_or_else(|| missing("asset"))?,
        format,
        filename,
        content: content.ok_or_else(|| missing("file"))?,
    })
}

/// Record a lockfile or SBOM (Cargo.lock, go.mod, go.sum, requirements*.txt, poetry.lock,
/// package-lock.json, CycloneDX or SPDX JSON) as the asset's application findings, as
/// `opsward vuln scan --asset` does: new ones open, those the file no longer has are fixed.
/// Multipart (`file`, `asset`, optional `format`) or JSON; at most 16 MiB.
#[utoipa::path(post, path = "/api/v1/vulns/scans", tag = "vulnerabilities", request_body = ScanUpload,
    responses((status = 200, body = UploadOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    req: Request,
) -> ApiResult<Json<UploadOutcome>> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let upload = if multipart {
        from_multipart(&state, req).await?
    } else {
        let bytes = to_bytes(req.into_body(), MAX_UPLOAD_BYTES + FRAMING_BYTES)
            .await
            .map_err(|_| too_large())?;
        serde_json::from_slice::<ScanUpload>(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                format!("invalid JSON body: {e}"),
            )
        })?
    };
    if upload.content.len() > MAX_UPLOAD_BYTES {
        return Err(too_large());
    }
    let outcome = record_upload(
        state.store.as_ref(),
        &caller.actor(),
        &upload.asset,
        upload.filename.as_deref().unwrap_or(""),
        upload.format.as_deref(),
        &upload.content,
    )
    .await
    .map_err(upload_error)?;
    tracing::info!(asset = %outcome.asset, file = %outcome.file, new = outcome.new, fixed = outcome.fixed, "scan uploaded");
    Ok(Json(outcome))
}
