//! Answers axum gives on its own, made readable: a 405 says which methods the address takes
//! (axum's has an empty body), and a request axum's extractors reject (a path parameter that
//! does not parse, say) gets the HTML error page on UI addresses and the JSON error on API ones
//! instead of a line of plain text.

use super::error_page;
use crate::error::ApiError;
use axum::{
    extract::Request,
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Rejection texts are one short line; anything longer is not one of axum's.
const MAX_REJECTION_BYTES: usize = 4096;

pub async fn readable(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    let headers = response.headers().clone();
    let mut answer = match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => method_not_allowed(api, &headers),
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY if is_plain_text(&response) => {
            rejected(api, response).await
        }
        _ => return response,
    };
    // The security headers (CSP, nosniff, frame options) and Allow stay; the body's own go.
    for (name, value) in &headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().entry(name).or_insert(value.clone());
        }
    }
    answer
}

fn is_plain_text(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"))
}

fn method_not_allowed(api: bool, headers: &HeaderMap) -> Response {
    let methods = headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let message = if methods.is_empty() {
        "This address does not answer this method.".to_string()
    } else {
        format!("This address answers {methods} only.")
    };
    if api {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            message,
        )
        .into_response()
    } else {
        error_page(StatusCode::METHOD_NOT_ALLOWED, &message)
    }
}

async fn rejected(api: bool, response: Response) -> Response {
    let status = response.status();
    let Ok(bytes) = axum::body::to_bytes(response.into_body(), MAX_REJECTION_BYTES).await else {
        return error_page(status, "The request could not be read.");
    };
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    let message = humane(&text);
    if api {
        let mut answer = ApiError::bad_request(message).into_response();
        *answer.status_mut() = status;
        answer
    } else {
        error_page(status, &message)
    }
}

/// "Invalid URL: Cannot parse `abc` to a `i64`" says which type; people need to know which
/// part of the address is wrong.
fn humane(text: &str) -> String {
    let Some(rest) = text.split("Cannot parse `").nth(1) else {
        return text.to_string();
    };
    let value = rest.split('`').next().unwrap_or("");
    let number = ["`i64`", "`i32`", "`u32`", "`u64`", "`u16`", "`u8`"]
        .iter()
        .any(|t| rest.contains(t));
    if number {
        format!("This address is not valid: “{value}” is not a number, and records are addressed by their number.")
    } else {
        format!("This address is not valid: “{value}” is not understood here.")
    }
}

#[cfg(test)]
mod tests {
    use super::humane;

    #[test]
    fn a_path_number_that_does_not_parse_is_named() {
        assert_eq!(
            humane("Invalid URL: Cannot parse `abc` to a `i64`"),
            "This address is not valid: “abc” is not a number, and records are addressed by their number."
        );
        assert_eq!(humane("Failed to deserialize"), "Failed to deserialize");
    }
}
