use super::{render_with, Nav, UiForm};
use crate::{
    api::Caller,
    auth::{
        client, cookies,
        password::{verify_password_blocking, DUMMY_HASH},
        secret, Credential, Principal,
    },
    AppState,
};
use askama::Template;
use axum::{
    extract::{ConnectInfo, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Extension,
};
use chrono::Utc;
use opsward_core::user::NewSession;
use serde::Deserialize;
use std::{net::SocketAddr, time::Instant};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Nav,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    /// "Sign in with <name>" when OpenID Connect is configured.
    oidc_name: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Cookies are `Secure` when configured, or when a trusted TLS-terminating proxy says the
/// browser came over HTTPS.
pub(crate) fn secure_cookies(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || client::forwarded_https(&state.config.trusted_proxies, peer.ip(), headers)
}

/// Only same-origin paths: `next` must never send a user to another host after sign-in, and
/// never put a character in the `Location` header that breaks or splits it.
pub(crate) fn safe_next(next: &str) -> &str {
    opsward_core::untrusted::safe_redirect_target(next)
}

pub(crate) fn login_page(
    state: &AppState,
    secure: bool,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<String>,
) -> Response {
    let csrf = secret::random_secret();
    let mut response = render_with(
        status,
        &LoginPage {
            nav: Nav::anonymous(),
            csrf: csrf.clone(),
            next: safe_next(next).into(),
            username: username.into(),
            error,
            oidc_name: state
                .sign_in
                .cached()
                .settings
                .oidc
                .as_ref()
                .map(|o| o.name.clone()),
        },
    );
    let cookie = cookies::set(
        cookies::LOGIN_CSRF,
        &csrf,
        std::time::Duration::from_secs(3600),
        secure,
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie.parse().expect("cookie header"));
    response
}

pub async fn form(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Option<Extension<Principal>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    if caller.is_some() {
        return Redirect::to(safe_next(&q.next)).into_response();
    }
    // The button follows settings saved on any server since this one last looked.
    state.sign_in.current().await;
    login_page(
        &state,
        secure_cookies(&state, peer, &headers),
        StatusCode::OK,
        &q.next,
        "",
        None,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    next: String,
    username: String,
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    UiForm(form): UiForm<LoginForm>,
) -> Response {
    let secure = secure_cookies(&state, peer, &headers);
    let expected = cookies::get(&headers, cookies::LOGIN_CSRF).unwrap_or("");
    if expected.is_empty() || !secret::constant_time_eq(expected, &form.csrf_token) {
        return login_page(
            &state,
            secure,
            StatusCode::FORBIDDEN,
            &form.next,
            &form.username,
            Some("The sign-in form expired; please try again.".into()),
        );
    }
    let ip = Some(client::client_ip(
        &state.config.trusted_proxies,
        peer.ip(),
        &headers,
    ));
    // The address the sign-in is counted against and logged with (the peer, or what a
    // trusted proxy says the client was).
    let peer = ip.map_or(peer, |ip| SocketAddr::new(ip, peer.port()));
    let now = Instant::now();
    if let Some(wait) = state.limiter.check(&form.username, ip, now) {
        state.metrics.login("rate_limited");
        tracing::warn!(username = %form.username, %peer, "sign-in refused: too many failed attempts");
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let mut response = login_page(
            &state,
            secure,
            StatusCode::TOO_MANY_REQUESTS,
            &form.next,
            &form.username,
            Some(format!(
                "Too many failed sign-ins. Try again in {minutes} minute(s)."
            )),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, wait.as_secs().max(1).into());
        return response;
    }
    let live = state.sign_in.current().await;
    if let Some(ldap) = live.ldap.clone() {
        // Break-glass accounts never depend on the directory; everyone else is checked by
        // it first, and by a local password only when the directory does not know them
        // and local passwords are allowed for them.
        let break_glass = live
            .settings
            .break_glass_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(form.username.trim()));
        if !break_glass {
            match ldap.authenticate(&form.username, &form.password).await {
                Ok(who) => {
                    state.limiter.record_success(&form.username);
                    return super::sso::sign_in(&state, secure, peer, &who, None, &form.next).await;
                }
                Err(opsward_sso::ldap::LdapError::Rejected)
                    if live.settings.allows_local(&form.username) => {}
                Err(opsward_sso::ldap::LdapError::Rejected) => {
                    state.limiter.record_failure(&form.username, ip, now);
                    state.metrics.login("failed");
                    tracing::info!(username = %form.username, %peer, method = "ldap", "sign-in failed");
                    return login_page(
                        &state,
                        secure,
                        StatusCode::UNAUTHORIZED,
                        &form.next,
                        &form.username,
                        Some("Wrong username or password.".into()),
                    );
                }
                Err(e) => {
                    state.metrics.login("failed");
                    tracing::error!(error = %e, "LDAP sign-in failed");
                    return login_page(
                        &state,
                        secure,
                        StatusCode::SERVICE_UNAVAILABLE,
                        &form.next,
                        &form.username,
                        Some(format!("Sign-in is unavailable: {e}.")),
                    );
                }
            }
        }
    }
    let account = match state.store.user_credentials(&form.username).await {
        Ok(account) => account,
        Err(e) => {
            tracing::error!(error = %e, "sign-in lookup failed");
            return super::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is unavailable; see the server log.",
            );
        }
    };
    let (user, hash) = match account {
        Some((user, hash)) => (Some(user), hash),
        None => (None, DUMMY_HASH.clone()),
    };
    let verified = verify_password_blocking(form.password, hash).await;
    // With `local_login = "break_glass"` only the named accounts may use a password; the
    // others fail exactly like a wrong password (after the same hashing work), so the
    // form does not tell which accounts exist.
    let local_allowed = live.settings.allows_local(&form.username);
    let user = match user {
        Some(user) if verified && !user.disabled && local_allowed => user,
        _ => {
            state.limiter.record_failure(&form.username, ip, now);
            state.metrics.login("failed");
            tracing::info!(username = %form.username, %peer, "sign-in failed");
            return login_page(
                &state,
                secure,
                StatusCode::UNAUTHORIZED,
                &form.next,
                &form.username,
                Some("Wrong username or password.".into()),
            );
        }
    };
    state.limiter.record_success(&form.username);
    let (response, _) = match open_session(&state, user.id, secure, &form.next).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let _ = state.store.record_login(user.id, Utc::now()).await;
    if let Err(e) = state.sso.record_password_sign_in(&user).await {
        tracing::warn!(error = %e, "could not audit the sign-in");
    }
    state.metrics.login("succeeded");
    tracing::info!(username = %user.username, %peer, method = "password", "signed in");
    response
}

/// A new browser session for `user_id`: the cookie set on a redirect to `next` (and the
/// sign-in form's CSRF cookie cleared), and the session's hash for what else is recorded
/// about it. Shared by every sign-in method.
pub(crate) async fn open_session(
    state: &AppState,
    user_id: i64,
    secure: bool,
    next: &str,
) -> Result<(Response, String), Response> {
    let token = secret::random_secret();
    let created_at = Utc::now();
    let ttl = state.config.session_ttl;
    let session = NewSession {
        token_hash: secret::hash_secret(&token),
        user_id,
        csrf_token: secret::random_secret(),
        created_at,
        expires_at: created_at
            + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12)),
    };
    if let Err(e) = state.store.create_session(&session).await {
        tracing::error!(error = %e, "could not create session");
        return Err(super::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is unavailable; see the server log.",
        ));
    }
    let mut response = Redirect::to(safe_next(next)).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        cookies::set(cookies::SESSION, &token, ttl, secure)
            .parse()
            .expect("cookie"),
    );
    headers.append(
        header::SET_COOKIE,
        cookies::clear(cookies::LOGIN_CSRF, secure)
            .parse()
            .expect("cookie"),
    );
    Ok((response, session.token_hash))
}

pub async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Caller(caller): Caller,
) -> Response {
    let secure = secure_cookies(&state, peer, &headers);
    let mut target = "/login".to_string();
    if let Credential::Session { token_hash, .. } = &caller.credential {
        // A session signed in through OpenID Connect also ends at the provider
        // (RP-initiated logout), which then sends the browser back to the sign-in page.
        if let (Some(oidc), Ok(Some(id_token))) = (
            &state.sign_in.current().await.oidc,
            state.sso.session_id_token(token_hash).await,
        ) {
            match oidc.logout_url(Some(&id_token)).await {
                Ok(url) => target = url.to_string(),
                Err(e) => tracing::warn!(error = %e, "no logout at the identity provider"),
            }
        }
        if let Err(e) = state.store.delete_session(token_hash).await {
            tracing::warn!(error = %e, "could not delete session");
        }
    }
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, secure)
            .parse()
            .expect("cookie"),
    );
    response
}
