//! Middleware: resolve the caller once per request, then check each route's access rule
//! and, for browser sessions, the CSRF token of every state-changing request.

use super::{cookies, secret, Access, Credential, Principal};
use crate::{error::ApiError, ui, AppState};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;

/// Largest form body read for its CSRF field (the CSV paste form is the biggest).
const MAX_FORM_BYTES: usize = 16 * 1024 * 1024;

pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match resolve(&state, req.headers()).await {
        Ok(Some(principal)) => {
            req.extensions_mut().insert(principal);
        }
        Ok(None) => {}
        Err(err) => return err.into_response(),
    }
    next.run(req).await
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
    let now = Utc::now();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Some(secret) = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
        else {
            return Ok(None);
        };
        let found = state
            .store
            .authenticate_token(&secret::hash_secret(secret), now)
            .await?;
        return Ok(found.map(|(user, token)| Principal {
            user,
            credential: Credential::Token {
                id: token.id,
                name: token.name,
            },
            flash: None,
            secret: None,
        }));
    }
    if let Some(cookie) = cookies::get(headers, cookies::SESSION) {
        let token_hash = secret::hash_secret(cookie);
        let found = state.store.session(&token_hash, now).await?;
        return Ok(found.map(|(user, csrf_token)| Principal {
            user,
            credential: Credential::Session {
                token_hash,
                csrf_token,
            },
            flash: None,
            secret: None,
        }));
    }
    Ok(None)
}

fn is_api(req: &Request) -> bool {
    req.uri().path().starts_with("/api/")
}

/// Enforce one route's access rule. Applied to every route by the route table.
pub async fn require(access: Access, req: Request, next: Next) -> Response {
    let Access::Role(required) = access else {
        return next.run(req).await;
    };
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        if is_api(&req) {
            return ApiError::unauthenticated().into_response();
        }
        let back = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let target = if req.method() == Method::GET {
            format!("/login?next={}", urlencode(back))
        } else {
            "/login".into()
        };
        return Redirect::to(&target).into_response();
    };
    if !principal.role().allows(required) {
        let message = format!(
            "this needs the {required} role; you are {}",
            principal.role()
        );
        return if is_api(&req) {
            ApiError::forbidden(message).into_response()
        } else {
            ui::error_page(StatusCode::FORBIDDEN, &message)
        };
    }
    let req = match &principal.credential {
        Credential::Session { csrf_token, .. } if !is_safe(req.method()) => {
            // Defence in depth besides the token: a browser names the page that sent a
            // request, and no page of another origin may change anything here.
            if names_another_origin(req.headers()) {
                let message = "this request came from a page of another site; refused";
                return if is_api(&req) {
                    ApiError::new(StatusCode::FORBIDDEN, "csrf", message).into_response()
                } else {
                    ui::error_page(StatusCode::FORBIDDEN, message)
                };
            }
            match check_csrf(req, csrf_token).await {
                Ok(req) => req,
                Err(response) => return response,
            }
        }
        _ => req,
    };
    next.run(req).await
}

/// Whether `Origin` (or, without it, `Referer`) names a host other than the one the request
/// was sent to. The scheme is not compared: a TLS-terminating proxy changes it. A request
/// with neither header (old browsers, scripts) is left to the token check alone; an opaque
/// `Origin: null` (sandboxed frames, `data:` pages) is refused.
pub fn names_another_origin(headers: &HeaderMap) -> bool {
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER));
    let Some(source) = source else {
        return false;
    };
    let Ok(source) = source.to_str() else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let authority = source
        .strip_prefix("https://")
        .or_else(|| source.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    !authority.is_some_and(|a| !a.is_empty() && a.eq_ignore_ascii_case(host.trim()))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Accept the token from an `X-CSRF-Token` header (scripts, htmx) or a `csrf_token` form
/// field (plain HTML forms). Anything else from a cookie-authenticated caller is refused.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, Response> {
    let api = is_api(&req);
    let refuse = || {
        let message =
            "the form's security token is missing or stale; reload the page and try again";
        if api {
            ApiError::new(StatusCode::FORBIDDEN, "csrf", message).into_response()
        } else {
            ui::error_page(StatusCode::FORBIDDEN, message)
        }
    };
    if let Some(sent) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if secret::constant_time_eq(sent, expected) {
            Ok(req)
        } else {
            Err(refuse())
        };
    }
    // Multipart forms (file uploads) carry the token in the form's action URL, because the
    // body cannot be searched without parsing the whole upload first.
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
        let sent = query
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str());
        return match sent {
            Some(sent) if secret::constant_time_eq(sent, expected) => Ok(req),
            _ => Err(refuse()),
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refuse());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| ui::error_page(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large"))?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let sent = fields
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str());
    match sent {
        Some(sent) if secret::constant_time_eq(sent, expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refuse()),
    }
}

pub fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s[1..].to_string())
        .unwrap_or_default()
}
