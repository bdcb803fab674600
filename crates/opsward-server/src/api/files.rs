//! Files kept by SHA-256 in the attachment store (evidence files, contract documents): saving
//! an upload (multipart fields included) and serving a download, one way for every kind of
//! file.

use crate::{
    error::{ApiError, ApiResult},
    AppState,
};
use axum::{
    body::Bytes,
    extract::{multipart::Field, FromRequest, Multipart, Request},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use opsward_ops::attachments::{clean_filename, AttachmentError};
use std::future::Future;

/// A file of a multipart request, already in the attachment store.
pub struct SavedUpload {
    /// The client's file name, cleaned of path parts and control characters.
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

/// One field of a multipart request after [`read_field`].
pub enum UploadField {
    File(SavedUpload),
    /// A file input left empty (no name, no bytes).
    EmptyFile,
    Text {
        name: String,
        value: String,
    },
}

/// Open a multipart request; a malformed one is a 400.
pub async fn multipart(state: &AppState, req: Request) -> ApiResult<Multipart> {
    Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// A multipart error as the client should see it: a body over the size limit is 413 (the
/// rejection says so), anything else malformed is 400.
fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "payload_too_large", e.body_text())
    } else {
        ApiError::bad_request(e.body_text())
    }
}

/// The next field of a multipart request; a file field is saved as it is read, so the
/// caller can record it right after and never points at a missing file.
pub async fn next_field(
    state: &AppState,
    multipart: &mut Multipart,
    what: &'static str,
) -> ApiResult<Option<UploadField>> {
    let Some(field) = multipart.next_field().await.map_err(multipart_error)? else {
        return Ok(None);
    };
    read_field(state, field, what).await.map(Some)
}

async fn read_field(
    state: &AppState,
    field: Field<'_>,
    what: &'static str,
) -> ApiResult<UploadField> {
    let name = field.name().unwrap_or("").to_string();
    let Some(filename) = field.file_name().map(str::to_string) else {
        let value = field.text().await.map_err(multipart_error)?;
        return Ok(UploadField::Text { name, value });
    };
    let content_type = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .chars()
        .take(200)
        .collect::<String>();
    let bytes = field.bytes().await.map_err(multipart_error)?;
    if bytes.is_empty() && filename.is_empty() {
        return Ok(UploadField::EmptyFile);
    }
    // A name with control characters (a CR/LF from a hand-made request) cannot be shown or
    // sent back in a header as it is; refuse it rather than store it under another name.
    if filename.chars().any(char::is_control) {
        return Err(opsward_core::ValidationError::single(
            "file",
            format!(
                "the file name {:?} cannot be used; rename the file and upload it again",
                opsward_core::untrusted::escape_control(&filename)
            ),
        )
        .into());
    }
    let size_bytes = bytes.len() as i64;
    let sha256 = save_upload(state, bytes, what).await?;
    Ok(UploadField::File(SavedUpload {
        filename: clean_filename(&filename),
        content_type,
        size_bytes,
        sha256,
    }))
}

/// Save every file of a multipart request and record each right after it is saved with
/// `record`; text fields are ignored. At least one file is required (422 otherwise).
pub async fn store_each_file<T, Fut>(
    state: &AppState,
    req: Request,
    what: &'static str,
    mut record: impl FnMut(SavedUpload) -> Fut,
) -> ApiResult<Vec<T>>
where
    Fut: Future<Output = ApiResult<T>>,
{
    // Read and check every file before recording any: one bad file refuses the whole
    // request and leaves nothing attached. (Saved contents that end up unrecorded are only
    // bytes under their checksum, referenced by nothing.)
    let mut multipart = multipart(state, req).await?;
    let mut files = Vec::new();
    while let Some(field) = next_field(state, &mut multipart, what).await? {
        match field {
            UploadField::File(file) => files.push(file),
            UploadField::EmptyFile => {}
            // A `file` part without a usable file name would otherwise vanish silently.
            UploadField::Text { name, .. } if name == "file" => {
                return Err(opsward_core::ValidationError::single(
                    "file",
                    "a file part has no usable file name; nothing was stored",
                )
                .into())
            }
            UploadField::Text { .. } => {}
        }
    }
    if files.is_empty() {
        return Err(opsward_core::ValidationError::single("file", "send at least one file").into());
    }
    let mut stored = Vec::new();
    for file in files {
        stored.push(record(file).await?);
    }
    Ok(stored)
}

/// Store an uploaded file; its checksum. Too large files are 413, otherwise refused ones 422, a
/// disk problem is a 500 whose cause goes to the log only.
pub async fn save_upload(state: &AppState, bytes: Bytes, what: &'static str) -> ApiResult<String> {
    state.attachments.save(&bytes).await.map_err(|e| match e {
        AttachmentError::Io(_)
        | AttachmentError::Unavailable { .. }
        | AttachmentError::Config(_) => {
            tracing::error!(error = %e, "cannot store {what}");
            ApiError::internal()
        }
        too_large @ AttachmentError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            too_large.to_string(),
        ),
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
    let bytes = state.attachments.read(&sha256).await.map_err(|e| {
        tracing::error!(id, error = %e, "{what} unreadable");
        match e {
            // A missing or altered file is this file's problem; a store that does not answer
            // is the server's (its name and the reason are in the log).
            AttachmentError::Missing(_) | AttachmentError::Corrupt(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            _ => ApiError::internal(),
        }
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
