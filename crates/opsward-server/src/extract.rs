//! Extractors whose rejections use the API's JSON error body instead of axum's plain text,
//! so clients (and the OpenAPI contract) see one error format everywhere.

use crate::error::ApiError;
use axum::{
    body::Bytes,
    extract::{rejection::*, FromRequest, FromRequestParts, Request},
    http::{header::CONTENT_TYPE, request::Parts, HeaderMap, StatusCode},
};
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

/// Whether JSON text holds a `\u0000` escape (a NUL character in a string). Only strings
/// hold backslashes in valid JSON, and an escaped backslash (`\\u0000`) is not one.
fn json_has_nul(body: &[u8]) -> bool {
    let mut bytes = body.iter();
    while let Some(b) = bytes.next() {
        if *b == b'\\' {
            match bytes.next() {
                Some(b'u') if bytes.as_slice().starts_with(b"0000") => return true,
                _ => continue,
            }
        }
    }
    false
}

/// NUL characters are refused in every text the API takes: PostgreSQL cannot store them
/// (it answered such a request with a database error, a 500), and no field needs one.
const NUL_REFUSED: &str = "text must not contain NUL characters (U+0000)";

/// `application/json` or `application/<anything>+json`, as axum's `Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        // Read as bytes first (the body limit applies as before) to look for NUL escapes.
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| ApiError::bad_request(e.body_text()))?;
        if json_has_nul(&body) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                NUL_REFUSED,
            ));
        }
        match axum::Json::<T>::from_bytes(&body) {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                e.body_text(),
            )),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Whether a percent-encoded query or path holds an encoded NUL (`%00`).
fn has_encoded_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.query().is_some_and(has_encoded_nul) {
            return Err(ApiError::bad_request(NUL_REFUSED));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request(e.body_text()))
    }
}

pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if has_encoded_nul(parts.uri.path()) {
            return Err(ApiError::bad_request(NUL_REFUSED));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| ApiError::bad_request(e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(json_has_nul(br#"{"name": "a\u0000b"}"#));
        assert!(json_has_nul(br#"["\\\u0000"]"#), "a backslash, then a NUL");
        assert!(
            !json_has_nul(br#"{"name": "a\\u0000b"}"#),
            "a backslash, then u0000"
        );
        assert!(!json_has_nul(br#"{"name": "a\u00e9"}"#));
        assert!(!json_has_nul(b"{}"));
    }

    #[test]
    fn encoded_nul_in_query_or_path() {
        assert!(has_encoded_nul("tag=a%00b"));
        assert!(!has_encoded_nul("tag=a%200"));
        assert!(
            !has_encoded_nul("tag=%2500"),
            "an encoded percent sign, then 00"
        );
    }

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/problem+json", true),
            ("text/json", false),
            ("text/plain", false),
        ] {
            headers.insert(CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(is_json(&headers), json, "{value}");
        }
    }
}
