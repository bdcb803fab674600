//! Post/Redirect/Get with a message: a form handler that succeeds answers 303 to the record's
//! page and hands a one-line message ("Evidence #4 recorded") to the next page. The message
//! travels in a short-lived cookie: set with the redirect, shown by the page the browser then
//! loads, and cleared by that page's response, so a refresh shows neither the message again
//! nor re-submits the form.
//!
//! A secret minted by a form (an API token, an agent enrollment token, a feed address) takes
//! the same way in a cookie of its own, so it is shown once after the redirect and never
//! lands in a URL, the history or a log.

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
pub const SECRET_COOKIE: &str = "opsward_secret";

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

/// A secret for the page after the redirect to show once (see [`redirect_with_secret`]).
#[derive(Debug, Clone)]
pub struct Secret(pub String);

/// Like [`redirect`], carrying a secret the page there shows once.
pub fn redirect_with_secret(
    to: &str,
    message: impl Into<String>,
    secret: impl Into<String>,
) -> Response {
    let mut response = redirect(to, message);
    response.extensions_mut().insert(Secret(secret.into()));
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
    let arrived_secret = cookies::get(req.headers(), SECRET_COOKIE)
        .and_then(urlencoding_decode)
        .filter(|m| !m.is_empty());
    if let Some(principal) = req.extensions_mut().get_mut::<Principal>() {
        principal.flash.clone_from(&arrived);
        principal.secret.clone_from(&arrived_secret);
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
    let leaving = response.extensions_mut().remove::<Flash>().map(|f| f.0);
    let leaving_secret = response.extensions_mut().remove::<Secret>().map(|s| s.0);
    let shown = !response.status().is_redirection();
    let cookies = [
        passed_on(COOKIE, leaving, arrived.is_some(), shown, secure),
        passed_on(
            SECRET_COOKIE,
            leaving_secret,
            arrived_secret.is_some(),
            shown,
            secure,
        ),
    ];
    for cookie in cookies
        .into_iter()
        .flatten()
        .filter_map(|c| HeaderValue::from_str(&c).ok())
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The `Set-Cookie` for one carried value: set when the response leaves one; cleared when
/// one arrived and this response showed it. A redirect without a value of its own passes an
/// arrived one on.
fn passed_on(
    name: &str,
    leaving: Option<String>,
    arrived: bool,
    shown: bool,
    secure: bool,
) -> Option<String> {
    match leaving {
        Some(value) => Some(cookies::set(
            name,
            &urlencoding_encode(&value),
            Duration::from_secs(120),
            secure,
        )),
        None if arrived && shown => Some(cookies::clear(name, secure)),
        None => None,
    }
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
