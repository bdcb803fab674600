//! Post/Redirect/Get with a message: a form handler that succeeds answers 303 to the record's
//! page and hands a one-line message ("Evidence #4 recorded") to the next page. The message
//! travels in a short-lived cookie: set with the redirect, shown by the page the browser then
//! loads, and cleared by that page's response, so a refresh shows neither the message again
//! nor re-submits the form.

use crate::{
    auth::{client, cookies, Principal},
    AppState,
};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use std::{net::SocketAddr, time::Duration};

pub const COOKIE: &str = "opsward_flash";

/// The message a handler leaves on its redirect, turned into the cookie by [`carry`].
#[derive(Debug, Clone)]
pub struct Flash(pub String);

/// 303 See Other to `to`, with `message` for the page there.
pub fn redirect(to: &str, message: impl Into<String>) -> Response {
    let mut response = Redirect::to(to).into_response();
    response
        .extensions_mut()
        .insert(Flash(format!("{OK}{}", message.into())));
    response
}

/// Like [`redirect`], for an outcome the page shows as a problem ("Test message failed").
pub fn redirect_problem(to: &str, message: impl Into<String>) -> Response {
    let mut response = Redirect::to(to).into_response();
    response
        .extensions_mut()
        .insert(Flash(format!("{PROBLEM}{}", message.into())));
    response
}

const OK: &str = "ok:";
const PROBLEM: &str = "problem:";

/// A message as the page shows it: whether it reports a problem, and its text.
pub fn parse(stored: &str) -> (bool, &str) {
    match stored.strip_prefix(PROBLEM) {
        Some(text) => (true, text),
        None => (false, stored.strip_prefix(OK).unwrap_or(stored)),
    }
}

/// Middleware (inside authentication): hand an arriving message to the page being rendered,
/// clear it once a page was rendered, and set it for a redirect that carries one.
pub async fn carry(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let arrived = cookies::get(req.headers(), COOKIE)
        .and_then(urlencoding_decode)
        .filter(|m| !m.is_empty());
    if let (Some(message), Some(principal)) =
        (&arrived, req.extensions_mut().get_mut::<Principal>())
    {
        principal.flash = Some(message.clone());
    }
    // Secure like the session cookie: the message can be a secret shown once (a new token).
    let secure = state.config.secure_cookies
        || req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| {
                client::forwarded_https(&state.config.trusted_proxies, peer.ip(), req.headers())
            });
    let mut response = next.run(req).await;
    let leaving = response.extensions_mut().remove::<Flash>();
    let cookie = match leaving {
        Some(Flash(message)) => Some(cookies::set(
            COOKIE,
            &urlencoding_encode(&message),
            Duration::from_secs(120),
            secure,
        )),
        // A redirect without a message of its own passes an arrived one on; any other
        // response showed it.
        None if arrived.is_some() && !response.status().is_redirection() => {
            Some(cookies::clear(COOKIE, secure))
        }
        None => None,
    };
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Cookie values may not hold spaces, commas or semicolons: percent-encode the message.
fn urlencoding_encode(message: &str) -> String {
    serde_urlencoded::to_string([("m", message)])
        .map(|s| s.trim_start_matches("m=").to_string())
        .unwrap_or_default()
}

fn urlencoding_decode(value: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("m={value}"))
        .ok()
        .and_then(|mut pairs| pairs.pop())
        .map(|(_, m)| m)
}
