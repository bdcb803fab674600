use crate::{both_backends, TestApp};
use opsward_core::{Actor, Role};
use opsward_server::api::users::{create_account, CreateUser};
use opsward_testkit::csrf_token_in;
use reqwest::{header, StatusCode};

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A browser-like client: keeps cookies, does not follow redirects.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn add_user(app: &TestApp, username: &str, role: Role) {
    let input = CreateUser {
        username: username.into(),
        display_name: None,
        email: None,
        role,
        password: PASSWORD.into(),
    };
    create_account(app.db.store.as_ref(), &Actor::system("test"), input)
        .await
        .unwrap();
}

/// A browser (cookie store) signed in as a new user `username` with `role`.
pub(crate) async fn signed_in(app: &TestApp, username: &str, role: Role) -> reqwest::Client {
    add_user(app, username, role).await;
    let http = browser();
    let response = login(app, &http, username, PASSWORD).await;
    assert_eq!(
        response.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{username} signs in"
    );
    http
}

pub(crate) async fn login(
    app: &TestApp,
    http: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = http
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_token_in(&page);
    http.post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
            ("next", "/assets"),
        ])
        .send()
        .await
        .unwrap()
}

both_backends!(session_login_csrf_and_logout, |app: TestApp| async move {
    add_user(&app, "alice", Role::Operator).await;
    let http = browser();
    let response = login(&app, &http, "Alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/assets");
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("opsward_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );

    let page = http.get(app.url("/assets/new")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_token_in(&page.text().await.unwrap());

    // A form post without the token (as a cross-site page would send) is refused.
    let forged = http
        .post(app.url("/assets"))
        .form(&[("name", "evil"), ("kind", "host")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let wrong = http
        .post(app.url("/assets"))
        .form(&[("csrf_token", "nope"), ("name", "evil"), ("kind", "host")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    // So is a JSON API call that rides on the session cookie without the header.
    let api = http
        .post(app.url("/api/v1/teams"))
        .json(&serde_json::json!({"name": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    let api_ok = http
        .post(app.url("/api/v1/teams"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"name": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api_ok.status(), StatusCode::CREATED);

    let ok = http
        .post(app.url("/assets"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "web-01"),
            ("kind", "host"),
            ("environment", "production"),
            ("criticality", "high"),
            ("tags", "web, linux"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let list = http
        .get(app.url("/assets?q=web"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(">web-01</a>"), "{list}");

    let logout = http
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    let after = http.get(app.url("/assets")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(after.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    app.stop().await;
});

both_backends!(login_rejects_and_rate_limits, |app: TestApp| async move {
    add_user(&app, "bob", Role::Viewer).await;
    let http = browser();
    // A post without the sign-in form's token is refused before the password is checked.
    let no_csrf = http
        .post(app.url("/login"))
        .form(&[("username", "bob"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        login(&app, &http, "nobody", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for _ in 0..5 {
        assert_eq!(
            login(&app, &http, "bob", "wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = login(&app, &http, "bob", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key(header::RETRY_AFTER));
    let metrics = http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("opsward_logins_total{outcome=\"rate_limited\"} 1"),
        "{metrics}"
    );
    app.stop().await;
});

both_backends!(
    api_tokens_are_shown_once_and_revocable,
    |app: TestApp| async move {
        let (_, bootstrap) = app.user_with_token("carol", Role::Viewer).await;
        let http = crate::client();
        let created: serde_json::Value = http
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(&bootstrap)
            .json(&serde_json::json!({"name": "ci", "expires_in_days": 1}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = created["token"].as_str().unwrap().to_string();
        assert!(secret.starts_with("ow_"));
        let me = http
            .get(app.url("/api/v1/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        let listed = http
            .get(app.url("/api/v1/tokens"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !listed.contains(&secret[3..]),
            "a listing never contains a secret"
        );
        // A viewer may not mint tokens for others or list everyone's.
        let other = http
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(&secret)
            .json(&serde_json::json!({"name": "x", "user_id": 1}))
            .send()
            .await
            .unwrap();
        assert!(matches!(
            other.status(),
            StatusCode::FORBIDDEN | StatusCode::CREATED
        ));
        let all = http
            .get(app.url("/api/v1/tokens?all=true"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(all.status(), StatusCode::FORBIDDEN);

        let id = created["info"]["id"].as_i64().unwrap();
        let revoked = http
            .delete(app.url(&format!("/api/v1/tokens/{id}")))
            .bearer_auth(&bootstrap)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);
        let refused = http
            .get(app.url("/api/v1/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let garbage = http
            .get(app.url("/api/v1/me"))
            .header(header::AUTHORIZATION, "Basic abc")
            .send()
            .await
            .unwrap();
        assert_eq!(garbage.status(), StatusCode::UNAUTHORIZED);
        app.stop().await;
    }
);

#[tokio::test]
async fn secure_cookies_when_configured() {
    let config = opsward_server::ServerConfig {
        secure_cookies: true,
        ..Default::default()
    };
    let app = TestApp::start_with(
        opsward_testkit::TestDb::sqlite().await,
        config,
        opsward_server::scheduler::JobRegistry::empty(),
    )
    .await;
    add_user(&app, "dave", Role::Viewer).await;
    let response = login(&app, &browser(), "dave", PASSWORD).await;
    let cookies: Vec<_> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("opsward_session=") && c.contains("; Secure")),
        "{cookies:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn secure_cookies_behind_a_tls_proxy() {
    // The test client is the proxy here: only a trusted proxy's X-Forwarded-Proto counts
    // (security::forwarded_headers_need_a_trusted_proxy checks the default, none).
    let app = TestApp::start_with(
        opsward_testkit::TestDb::sqlite().await,
        opsward_server::ServerConfig {
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
            ..opsward_server::ServerConfig::default()
        },
        opsward_server::scheduler::JobRegistry::empty(),
    )
    .await;
    add_user(&app, "erin", Role::Viewer).await;
    let http = browser();
    let page = http
        .get(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let login_cookie = page.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(login_cookie.contains("; Secure"), "{login_cookie}");
    // Plain HTTP without the proxy header: the browser would not send a Secure cookie back.
    let csrf = csrf_token_in(&page.text().await.unwrap());
    let token = login_cookie.split(';').next().unwrap().to_string();
    let response = http
        .post(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .header(header::COOKIE, token)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "erin"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<_> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("opsward_session=") && c.contains("; Secure")),
        "{cookies:?}"
    );
    app.stop().await;
}
