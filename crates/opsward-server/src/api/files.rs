//! Files kept by SHA-256 in the attachment store (evidence files, contract documents): saving
//! an upload and serving a download, one way for every kind of file.

use crate::{
    error::{ApiError, ApiResult},
    AppState,
};
use axum::{
    body::Bytes,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use opsward_ops::attachments::AttachmentError;

/// Store an uploaded file; its checksum. Too large or otherwise refused files are 422, a
/// disk problem is a 500 whose cause goes to the log only.
pub async fn save_upload(state: &AppState, bytes: Bytes, what: &'static str) -> ApiResult<String> {
    let store = state.attachments.clone();
    tokio::task::spawn_blocking(move || store.save(&bytes))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| match e {
            AttachmentError::Io(io) => {
                tracing::error!(error = %io, "cannot store {what}");
                ApiError::internal()
            }
            other => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                other.to_string(),
            ),
        })
}

/// Serve a stored file as a download, its checksum verified on the way out. Never rendered
/// inline: an uploaded HTML file must not run on this origin.
pub async fn download(
    state: &AppState,
    sha256: String,
    filename: &str,
    what: &'static str,
    id: i64,
) -> ApiResult<Response> {
    let store = state.attachments.clone();
    let sha = sha256.clone();
    let bytes = tokio::task::spawn_blocking(move || store.read(&sha))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(id, error = %e, "{what} unreadable");
            ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
        })?;
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("x-checksum-sha256"), sha256),
        ],
        bytes,
    )
        .into_response())
}
