//! "Sign in with <provider>": the two legs of the OpenID Connect authorization code flow.
//! `/auth/oidc/start` sends the browser to the provider; `/auth/oidc/callback` takes it back,
//! checks that the `state` belongs to this browser and is used once, and lets
//! `opsward_sso` verify the ID token and decide the account and role.

use super::login::{login_page, open_session, safe_next, secure_cookies};
use crate::{
    auth::{cookies, secret},
    AppState,
};
use axum::{
    extract::{ConnectInfo, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use chrono::Utc;
use opsward_sso::SignInOutcome;
use serde::Deserialize;
use std::net::SocketAddr;

/// The browser's copy of the pending sign-in's `state`: a callback whose `state` is not
/// this browser's is refused (login CSRF).
pub const STATE_COOKIE: &str = "opsward_oidc_state";

/// The `Content-Security-Policy` of every response. Signing out ends with a redirect from
/// the sign-out form to the provider's logout page, which `form-action` governs too: with
/// OpenID Connect configured, the provider's origin is the one other place forms may lead.
pub fn content_security_policy(sso: &opsward_sso::SsoSettings) -> axum::http::HeaderValue {
    let provider = sso
        .oidc
        .as_ref()
        .and_then(|o| url::Url::parse(&o.issuer).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'{provider}; base-uri 'none'"
    );
    axum::http::HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        axum::http::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
    })
}

/// The policy for the settings in force (the provider may be changed on the admin page),
/// on every response that did not set its own.
pub async fn set_content_security_policy(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    if !response
        .headers()
        .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        let policy = content_security_policy(&state.sign_in.cached().settings);
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    next: String,
}

pub async fn start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Response {
    let secure = secure_cookies(&state, peer, &headers);
    let live = state.sign_in.current().await;
    let Some(oidc) = &live.oidc else {
        return super::error_page(
            StatusCode::NOT_FOUND,
            "Sign-in with an identity provider is not configured.",
        );
    };
    let (url, pending, state_secret) = match oidc.begin(safe_next(&q.next), Utc::now()).await {
        Ok(begun) => begun,
        Err(e) => {
            tracing::error!(error = %e, "OpenID Connect sign-in could not start");
            return refuse(&state, secure, StatusCode::BAD_GATEWAY, &e.to_string());
        }
    };
    if let Err(e) = state.sso.put_pending(&pending).await {
        tracing::error!(error = %e, "could not store the pending sign-in");
        return super::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is unavailable; see the server log.",
        );
    }
    let mut response = Redirect::to(url.as_str()).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            STATE_COOKIE,
            &state_secret,
            opsward_sso::oidc::PENDING_TTL,
            secure,
        )
        .parse()
        .expect("cookie"),
    );
    response
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

fn refuse(state: &AppState, secure: bool, status: StatusCode, message: &str) -> Response {
    login_page(state, secure, status, "", "", Some(message.to_string()))
}

pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let secure = secure_cookies(&state, peer, &headers);
    // The browser's state is used up only by its own callback: a forged callback with
    // another state must not spoil the sign-in this browser has under way.
    let own = cookies::get(&headers, STATE_COOKIE)
        .is_some_and(|c| !c.is_empty() && secret::constant_time_eq(c, &q.state));
    let mut response = callback_outcome(&state, secure, peer, &headers, q).await;
    if !own {
        return response;
    }
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(STATE_COOKIE, secure)
            .parse()
            .expect("cookie"),
    );
    response
}

async fn callback_outcome(
    state: &AppState,
    secure: bool,
    peer: SocketAddr,
    headers: &HeaderMap,
    q: CallbackQuery,
) -> Response {
    let live = state.sign_in.current().await;
    let Some(oidc) = &live.oidc else {
        return super::error_page(
            StatusCode::NOT_FOUND,
            "Sign-in with an identity provider is not configured.",
        );
    };
    if let Some(error) = &q.error {
        state.metrics.login("failed");
        tracing::info!(%peer, error, description = ?q.error_description, "identity provider refused the sign-in");
        return refuse(
            state,
            secure,
            StatusCode::UNAUTHORIZED,
            &format!("The identity provider refused the sign-in ({error})."),
        );
    }
    let browser_state = cookies::get(headers, STATE_COOKIE).unwrap_or("");
    let stale = "This sign-in does not match the one this browser started (wrong, reused or expired state). Please sign in again.";
    if q.state.is_empty()
        || browser_state.is_empty()
        || !secret::constant_time_eq(browser_state, &q.state)
    {
        state.metrics.login("failed");
        tracing::warn!(%peer, "OpenID Connect callback with a state this browser did not start");
        return refuse(state, secure, StatusCode::FORBIDDEN, stale);
    }
    let pending = match state
        .sso
        .take_pending(&opsward_sso::hash_state(&q.state), Utc::now())
        .await
    {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            state.metrics.login("failed");
            tracing::warn!(%peer, "OpenID Connect callback with a used or expired state");
            return refuse(state, secure, StatusCode::FORBIDDEN, stale);
        }
        Err(e) => {
            tracing::error!(error = %e, "pending sign-in lookup failed");
            return super::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is unavailable; see the server log.",
            );
        }
    };
    let login = match oidc.finish(&pending, &q.code).await {
        Ok(login) => login,
        Err(e) => {
            state.metrics.login("failed");
            tracing::warn!(%peer, error = %e, "OpenID Connect sign-in failed");
            return refuse(
                state,
                secure,
                StatusCode::UNAUTHORIZED,
                &format!("Sign-in failed: {e}."),
            );
        }
    };
    sign_in(
        state,
        secure,
        peer,
        &login.identity,
        Some(&login.id_token),
        &pending.next_path,
    )
    .await
}

/// Map the verified identity's groups to a role and let the store decide the account; a
/// session for it, remembering the ID token (OpenID Connect) for the logout. Shared by
/// OpenID Connect and LDAP.
pub(crate) async fn sign_in(
    state: &AppState,
    secure: bool,
    peer: SocketAddr,
    who: &opsward_sso::ProviderIdentity,
    id_token: Option<&str>,
    next: &str,
) -> Response {
    let live = state.sign_in.current().await;
    let sso = &live.settings;
    let unavailable = |e: opsward_store::StoreError| {
        tracing::error!(error = %e, "identity-provider sign-in could not be recorded");
        super::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is unavailable; see the server log.",
        )
    };
    let role = match sso.mapping.role_for(&who.groups) {
        Ok(role) => role,
        Err(unmapped) => {
            state.metrics.login("refused");
            tracing::info!(username = %who.username, %peer, groups = ?who.groups, "sign-in refused: no mapped group");
            if let Err(e) = state.sso.refuse_unmapped(who, &unmapped.to_string()).await {
                return unavailable(e);
            }
            return refuse(
                state,
                secure,
                StatusCode::FORBIDDEN,
                "None of your groups gives you a role in opsward. Ask an administrator to map one of your groups.",
            );
        }
    };
    let user = match state
        .sso
        .sign_in(who, role, sso.provisioning, &sso.break_glass_users)
        .await
    {
        Ok(SignInOutcome::SignedIn { user, .. }) => user,
        Ok(SignInOutcome::Refused(refusal)) => {
            state.metrics.login("refused");
            tracing::info!(username = %who.username, %peer, reason = %refusal, "sign-in refused");
            return refuse(
                state,
                secure,
                StatusCode::FORBIDDEN,
                &format!("Sign-in refused: {refusal}."),
            );
        }
        Err(e) => return unavailable(e),
    };
    let (response, token_hash) = match open_session(state, user.id, secure, next).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    if let Err(e) = state
        .sso
        .attach_session(&token_hash, who.method, id_token)
        .await
    {
        tracing::warn!(error = %e, "could not keep the ID token for logout");
    }
    state.metrics.login("succeeded");
    tracing::info!(username = %user.username, %peer, method = who.method.as_str(), role = %user.role, "signed in");
    response
}
