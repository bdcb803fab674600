//! The few cookies opsward sets, and reading them back.

use axum::http::{header, HeaderMap};
use std::time::Duration;

pub const SESSION: &str = "opsward_session";
pub const LOGIN_CSRF: &str = "opsward_login_csrf";

pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` value: HttpOnly, SameSite=Lax (sent on top-level navigation, not on
/// cross-site POSTs), Secure when the server is reached over TLS.
pub fn set(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age.as_secs()
    )
}

pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", Duration::ZERO, secure)
}
