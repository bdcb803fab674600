//! Sign-in through OpenID Connect against a real provider: the npm package `oidc-provider`
//! (installed by `.ci/run` into `.tools/oidc`, run by `.ci/oidc-provider.mjs` on loopback).
//! Each test starts its own provider; accounts and their groups live in a JSON file the
//! provider reads at every sign-in, so a test can change someone's groups in between.

use crate::{auth, TestApp};
use opsward_core::{audit::AuditFilter, page::PageRequest, Role};
use opsward_server::{AppState, ServerConfig};
use opsward_sso::{oidc::OidcSettings, GroupMapping, Provisioning, Secret, SsoSettings};
use opsward_testkit::{oidc::OidcPeer, Backend, TestDb};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

/// Run a test body once per backend with the backend as argument (each test starts its own
/// provider and server, whose configuration needs the provider's address).
macro_rules! both_backends_with {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(Backend::Postgres).await;
            }
        }
    };
}

const CLIENT_SECRET: &str = opsward_testkit::oidc::CLIENT_SECRET;

pub fn oidc_settings(issuer: &str, app_origin: &str) -> OidcSettings {
    OidcSettings {
        name: "Test IdP".into(),
        issuer: issuer.into(),
        client_id: "opsward".into(),
        client_secret_file: None,
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        redirect_url: format!("{app_origin}/auth/oidc/callback"),
        post_logout_redirect_url: None,
        scopes: vec!["profile".into(), "email".into(), "groups".into()],
        username_claim: "preferred_username".into(),
        groups_claim: "groups".into(),
        timeout_secs: 10,
    }
}

fn mapping() -> GroupMapping {
    GroupMapping {
        groups: GroupMapping::parse_pairs("admins=admin, ops=operator").unwrap(),
        default_role: None,
    }
}

/// A server whose `[sso]` is `tweak`ed from OIDC against a fresh provider, with `accounts`.
async fn start(
    backend: Backend,
    accounts: Value,
    tweak: impl FnOnce(&mut SsoSettings),
) -> (TestApp, OidcPeer) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let peer = OidcPeer::start(&origin, &accounts, 600).await;
    let mut sso = SsoSettings {
        mapping: mapping(),
        oidc: Some(oidc_settings(&peer.issuer, &origin)),
        ..SsoSettings::default()
    };
    tweak(&mut sso);
    let attachments = std::env::temp_dir().join(format!("opsward-sso-{}", std::process::id()));
    let config = ServerConfig {
        attachments_dir: attachments,
        sso,
        ..ServerConfig::default()
    };
    let db = TestDb::new(backend).await;
    let state = AppState::new(db.store.clone(), config);
    (TestApp::start_on(listener, db, state).await, peer)
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// Sign in at the provider as `username` through its login form, starting from `start_url`
/// (the provider's authorization URL). Returns the callback URL the provider sends the
/// browser back to, not yet followed.
pub async fn through_provider(http: &reqwest::Client, start_url: &str, username: &str) -> String {
    let mut url = start_url.to_string();
    for _ in 0..10 {
        if url.contains("/auth/oidc/callback") {
            return url;
        }
        let response = http.get(&url).send().await.unwrap();
        let status = response.status();
        if status.is_redirection() {
            url = absolute(&url, &location(&response));
            continue;
        }
        assert_eq!(status, StatusCode::OK, "provider page {url}");
        // The provider's development login form posts back to the interaction URL.
        let posted = http
            .post(&url)
            .form(&[
                ("prompt", "login"),
                ("login", username),
                ("password", "any"),
            ])
            .send()
            .await
            .unwrap();
        assert!(posted.status().is_redirection(), "login form accepted");
        url = absolute(&url, &location(&posted));
    }
    panic!("the provider did not send the browser back to opsward");
}

fn absolute(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// Start a sign-in at opsward with `http` and sign in at the provider as `username`.
async fn callback_url(app: &TestApp, http: &reqwest::Client, username: &str) -> String {
    let started = http
        .get(app.url("/auth/oidc/start?next=/assets"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    through_provider(http, &location(&started), username).await
}

/// A whole sign-in; the callback's response.
async fn sign_in(app: &TestApp, http: &reqwest::Client, username: &str) -> reqwest::Response {
    let callback = callback_url(app, http, username).await;
    http.get(callback).send().await.unwrap()
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<Value> {
    let filter = AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    app.db
        .store
        .list_audit(&filter, PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.after.unwrap_or_default())
        .collect()
}

async fn api_status(app: &TestApp, token: &str) -> StatusCode {
    crate::client()
        .get(app.url("/api/v1/assets"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn role_of(app: &TestApp, username: &str) -> Role {
    let (user, _) = app
        .db
        .store
        .user_credentials(username)
        .await
        .unwrap()
        .expect("account exists");
    user.role
}

both_backends_with!(
    sign_in_creates_the_account_maps_the_role_and_logs_out_at_the_provider,
    |backend| async move {
        let (app, _peer) = start(
            backend,
            json!({"alice": {"groups": ["ops"], "name": "Alice A."}}),
            |_| {},
        )
        .await;
        let login_page = auth::browser()
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(login_page.contains("Sign in with Test IdP"), "{login_page}");

        let http = auth::browser();
        let response = sign_in(&app, &http, "alice").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/assets");
        assert_eq!(
            http.get(app.url("/assets")).send().await.unwrap().status(),
            StatusCode::OK
        );
        assert_eq!(role_of(&app, "alice").await, Role::Operator);
        let rows = audit_rows(&app, "sign_in").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["method"], "oidc");
        assert_eq!(rows[0]["role"], "operator");
        assert_eq!(rows[0]["created"], true);

        // Logout ends the session here and sends the browser to the provider's logout with
        // the ID token as hint; the provider accepts it (it answers 400 to a bad hint or an
        // unregistered return address).
        let page = http
            .get(app.url("/assets"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = opsward_testkit::csrf_token_in(&page);
        let out = http
            .post(app.url("/logout"))
            .form(&[("csrf_token", csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let end = location(&out);
        assert!(
            end.starts_with(&format!("{}/session/end?", _peer.issuer)),
            "{end}"
        );
        assert!(end.contains("id_token_hint="), "{end}");
        let confirm = http.get(&end).send().await.unwrap();
        assert_eq!(
            confirm.status(),
            StatusCode::OK,
            "provider accepts the logout request"
        );
        assert_eq!(
            http.get(app.url("/assets")).send().await.unwrap().status(),
            StatusCode::SEE_OTHER,
            "the session ended"
        );
        app.stop().await;
    }
);

both_backends_with!(
    role_follows_the_groups_at_each_sign_in_and_unmapped_users_lose_sessions_and_tokens,
    |backend| async move {
        let (app, peer) = start(backend, json!({"alice": {"groups": ["ops"]}}), |_| {}).await;
        let first = auth::browser();
        assert_eq!(
            sign_in(&app, &first, "alice").await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(role_of(&app, "alice").await, Role::Operator);

        // Promoted at the provider: the next sign-in makes alice an admin, and her sessions
        // (which read the role at every request) have the new role at once.
        peer.set_accounts(&json!({"alice": {"groups": ["ops", "admins"]}}));
        let second = auth::browser();
        assert_eq!(
            sign_in(&app, &second, "alice").await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(role_of(&app, "alice").await, Role::Admin);
        assert_eq!(
            first
                .get(app.url("/admin/users"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        let rows = audit_rows(&app, "sign_in").await;
        assert!(
            rows.iter()
                .any(|r| r["role"] == "admin" && r["created"] == false),
            "{rows:?}"
        );

        // An API token made meanwhile, then her groups no longer map: the sign-in is refused,
        // her sessions end and the token stops working.
        let alice = app
            .db
            .store
            .user_credentials("alice")
            .await
            .unwrap()
            .unwrap()
            .0;
        let token = opsward_server::auth::secret::new_api_token();
        app.db
            .store
            .create_api_token(
                &opsward_core::Actor::user(alice.id, "alice"),
                &opsward_core::user::NewApiToken {
                    user_id: alice.id,
                    name: "ci".into(),
                    prefix: "ow_".into(),
                    token_hash: opsward_server::auth::secret::hash_secret(&token),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(api_status(&app, &token).await, StatusCode::OK);
        peer.set_accounts(&json!({"alice": {"groups": ["staff"]}}));
        let third = auth::browser();
        let refused = sign_in(&app, &third, "alice").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("None of your groups"));
        assert_eq!(
            first.get(app.url("/assets")).send().await.unwrap().status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            second
                .get(app.url("/assets"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(api_status(&app, &token).await, StatusCode::UNAUTHORIZED);
        let refusals = audit_rows(&app, "sign_in_refused").await;
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0]["groups"], json!(["staff"]));
        assert_eq!(refusals[0]["sessions_ended"], 2);
        assert_eq!(refusals[0]["api_tokens_revoked"], 1);

        // Someone who never had an account and has no mapped group gets none.
        let bob = auth::browser();
        peer.set_accounts(&json!({"bob": {"groups": []}}));
        assert_eq!(
            sign_in(&app, &bob, "bob").await.status(),
            StatusCode::FORBIDDEN
        );
        assert!(app
            .db
            .store
            .user_credentials("bob")
            .await
            .unwrap()
            .is_none());
        app.stop().await;
    }
);

both_backends_with!(
    a_wrong_state_or_a_replayed_code_is_refused,
    |backend| async move {
        let (app, _peer) = start(backend, json!({"alice": {"groups": ["ops"]}}), |_| {}).await;
        let http = auth::browser();
        let callback = callback_url(&app, &http, "alice").await;
        let mut url = url::Url::parse(&callback).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let code = pairs.iter().find(|(k, _)| k == "code").unwrap().1.clone();
        let wrong_state: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if k == "state" {
                        format!("{v}x")
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(&wrong_state);
        let refused = http.get(url.as_str()).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "wrong state");
        assert!(refused.text().await.unwrap().contains("does not match"));

        // Another browser cannot finish this browser's sign-in (its state cookie is missing).
        let other = auth::browser();
        assert_eq!(
            other.get(&callback).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );

        // A wrong state used nothing up: the real callback still works, once.
        assert_eq!(
            http.get(&callback).send().await.unwrap().status(),
            StatusCode::SEE_OTHER
        );
        let replay = auth::browser();
        let fresh = callback_url(&app, &replay, "alice").await;
        assert_eq!(
            http.get(&callback).send().await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "state used up"
        );

        // The used code with a fresh, valid state: the provider refuses the code.
        let mut reused = url::Url::parse(&fresh).unwrap();
        let fresh_pairs: Vec<(String, String)> = reused
            .query_pairs()
            .into_owned()
            .map(|(k, v)| {
                if k == "code" {
                    (k, code.clone())
                } else {
                    (k, v)
                }
            })
            .collect();
        reused.query_pairs_mut().clear().extend_pairs(&fresh_pairs);
        let replayed = replay.get(reused.as_str()).send().await.unwrap();
        assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED, "replayed code");
        assert!(replayed
            .text()
            .await
            .unwrap()
            .contains("refused the sign-in code"));
        assert_eq!(audit_rows(&app, "sign_in").await.len(), 1);
        app.stop().await;
    }
);

both_backends_with!(
    pre_created_accounts_and_break_glass_local_login,
    |backend| async move {
        let (app, _peer) = start(
            backend,
            json!({"bob": {"groups": ["ops"]}, "root": {"groups": ["admins"]}}),
            |sso| {
                sso.provisioning = Provisioning::PreCreated;
                sso.local_login = opsward_sso::LocalLogin::BreakGlass;
                sso.break_glass_users = vec!["root".into()];
            },
        )
        .await;
        let refused = sign_in(&app, &auth::browser(), "bob").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("only created by an administrator"));

        // Once an administrator creates bob, he signs in with the mapped role (not the one
        // he was created with), and his local password no longer works.
        auth::add_user(&app, "bob", Role::Viewer).await;
        assert_eq!(
            sign_in(&app, &auth::browser(), "bob").await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(role_of(&app, "bob").await, Role::Operator);
        let local = auth::login(&app, &auth::browser(), "bob", auth::PASSWORD).await;
        assert_eq!(local.status(), StatusCode::UNAUTHORIZED);

        // The break-glass account keeps its password and is never taken over by the provider.
        auth::add_user(&app, "root", Role::Admin).await;
        let root = auth::browser();
        let local = auth::login(&app, &root, "root", auth::PASSWORD).await;
        assert_eq!(local.status(), StatusCode::SEE_OTHER);
        // The settings page says how sign-in works, and never shows the secret.
        let settings = root.get(app.url("/admin/sign-in")).send().await.unwrap();
        assert_eq!(settings.status(), StatusCode::OK);
        let settings = settings.text().await.unwrap();
        assert!(settings.contains("value=\"Test IdP\""), "{settings}");
        assert!(settings.contains("discovery works"), "{settings}");
        assert!(
            settings.contains("<option value=\"break_glass\" selected>"),
            "{settings}"
        );
        assert!(!settings.contains(CLIENT_SECRET), "{settings}");
        let rows = audit_rows(&app, "sign_in").await;
        assert!(
            rows.iter()
                .any(|r| r["method"] == "password" && r["role"] == "admin"),
            "{rows:?}"
        );
        let taken = sign_in(&app, &auth::browser(), "root").await;
        assert_eq!(taken.status(), StatusCode::FORBIDDEN);
        assert!(taken
            .text()
            .await
            .unwrap()
            .contains("another sign-in method"));
        app.stop().await;
    }
);

/// The ID token checks themselves, on a real token from the provider: a changed payload
/// breaks the signature, a later clock finds it expired, and another nonce is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_expired_and_foreign_nonce_id_tokens_are_refused() {
    let origin = "http://127.0.0.1:9";
    let peer = OidcPeer::start(origin, &json!({"carol": {"groups": ["ops"]}}), 60).await;
    let client = opsward_sso::oidc::OidcClient::new(oidc_settings(&peer.issuer, origin)).unwrap();
    let now = chrono::Utc::now();
    let (url, pending, _) = client.begin("/", now).await.unwrap();
    let callback = through_provider(&auth::browser(), url.as_str(), "carol").await;
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let login = client.finish(&pending, &code).await.unwrap();
    assert_eq!(login.identity.username, "carol");
    assert_eq!(login.identity.groups, ["ops"]);
    let raw = login.id_token;
    assert!(client.verify(&raw, &pending.nonce, now).await.is_ok());

    let parts: Vec<&str> = raw.split('.').collect();
    let mut claims = opsward_sso::oidc::payload_json(&raw).unwrap();
    claims["groups"] = json!(["admins"]);
    use base64::Engine;
    let forged_payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let err = client
        .verify(&tampered, &pending.nonce, now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid"), "{err}");

    let later = now + chrono::Duration::seconds(120);
    let err = client
        .verify(&raw, &pending.nonce, later)
        .await
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("expired"), "{err}");

    let err = client.verify(&raw, "another-nonce", now).await.unwrap_err();
    assert!(err.to_string().contains("nonce"), "{err}");
}
