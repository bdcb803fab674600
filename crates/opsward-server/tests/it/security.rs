//! Issue 19: the failures found by probing as an attacker, each with a regression test, on
//! both backends.

use crate::{
    auth::{add_user, browser, PASSWORD},
    both_backends, client, TestApp,
};
use opsward_core::Role;
use opsward_testkit::csrf_token_in;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

async fn signed_in(app: &TestApp, role: Role) -> reqwest::Client {
    crate::auth::signed_in(app, "alice", role).await
}

/// POST /login with a given `next`, from a fresh browser; the response.
async fn login_with_next(app: &TestApp, next: &str) -> reqwest::Response {
    let http = browser();
    let page = http.get(app.url("/login")).send().await.unwrap();
    let csrf = csrf_token_in(&page.text().await.unwrap());
    http.post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "alice"),
            ("password", PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

// Failures 1 and 2: `next` with a tab (an open redirect: browsers strip it and read
// `//evil.example`) or a newline (a 500, and the POST had already set a session cookie).
both_backends!(
    login_redirects_only_to_same_origin_paths,
    |app: TestApp| async move {
        let http = signed_in(&app, Role::Viewer).await;
        for query in [
            "/%09/evil.example",
            "/%0a/x",
            "//evil.example",
            "/%5Cevil.example",
        ] {
            let response = http
                .get(app.url(&format!("/login?next={query}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{query}");
            assert_eq!(response.headers()[header::LOCATION], "/", "{query}");
        }
        for next in ["/\t/evil.example", "/x\ny", "/x\r\nSet-Cookie: a=b"] {
            let response = login_with_next(&app, next).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
            assert_eq!(response.headers()[header::LOCATION], "/", "{next:?}");
        }
        let fine = login_with_next(&app, "/assets?q=web").await;
        assert_eq!(fine.headers()[header::LOCATION], "/assets?q=web");
    }
);

// Item 10: a page of another origin cannot change anything, even with a valid token.
both_backends!(
    foreign_origin_is_refused_besides_the_token,
    |app: TestApp| async move {
        let http = signed_in(&app, Role::Operator).await;
        let page = http.get(app.url("/assets/new")).send().await.unwrap();
        let csrf = csrf_token_in(&page.text().await.unwrap());
        let form = [
            ("csrf_token", csrf.as_str()),
            ("name", "web-01"),
            ("kind", "host"),
            ("environment", "production"),
            ("criticality", "high"),
        ];
        for (header_name, value) in [
            (header::ORIGIN, "http://evil.example"),
            (header::ORIGIN, "null"),
            (header::REFERER, "http://evil.example/page"),
        ] {
            let refused = http
                .post(app.url("/assets"))
                .header(header_name.clone(), value)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(
                refused.status(),
                StatusCode::FORBIDDEN,
                "{header_name}: {value}"
            );
        }
        assert_eq!(app.db.store.count_assets().await.unwrap(), 0);
        let same = http
            .post(app.url("/assets"))
            .header(header::ORIGIN, format!("http://{}", app.addr))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(same.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.db.store.count_assets().await.unwrap(), 1);
    }
);

// Failure 7: one good and one empty file in one request left the good one attached.
both_backends!(
    attachment_upload_is_all_or_nothing,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("ops", Role::Operator).await;
        let created = app
            .post_json(
                &token,
                "/api/v1/backlog/items",
                &json!({"item_type": "problem", "title": "Printer queue stuck"}),
            )
            .await;
        let id = created["item"]["id"].as_i64().unwrap();
        let part = |bytes: &[u8], name: &str| {
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(name.to_string())
                .mime_str("text/plain")
                .unwrap()
        };
        let url = app.url(&format!("/api/v1/backlog/items/{id}/attachments"));
        let form = reqwest::multipart::Form::new()
            .part("file", part(b"lpstat: stuck\n", "good.txt"))
            .part("file", part(b"", "empty.txt"));
        let response = client()
            .post(&url)
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let listed = app
            .get_json(&token, &format!("/api/v1/backlog/items/{id}/attachments"))
            .await;
        assert_eq!(listed, json!([]), "nothing attached");

        // A file part without a usable name is an error, not a silent drop.
        let nameless = reqwest::multipart::Form::new().text("file", "no file name here");
        let response = client()
            .post(&url)
            .bearer_auth(&token)
            .multipart(nameless)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Too large is 413 (the attachment limit, then the body limit).
        for size in [26usize << 20, 33 << 20] {
            let big =
                reqwest::multipart::Form::new().part("file", part(&vec![b'x'; size], "big.log"));
            let response = client()
                .post(&url)
                .bearer_auth(&token)
                .multipart(big)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "{size} bytes"
            );
        }
    }
);

// Failure 10: weak, common and username-containing passwords were accepted.
both_backends!(
    weak_passwords_are_refused_with_a_reason,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("root", Role::Admin).await;
        for (password, why) in [
            ("password1234", "common"),
            ("123456789012", "common"),
            ("aaaaaaaaaaaa", "common"),
            ("abcabcabcabcabc", "easy to guess"),
            ("bob.builder-2026", "username"),
        ] {
            let response = client()
                .post(app.url("/api/v1/users"))
                .bearer_auth(&token)
                .json(&json!({"username": "bob.builder", "role": "viewer", "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{password}"
            );
            let body: Value = response.json().await.unwrap();
            assert!(body.to_string().contains(why), "{password}: {body}");
        }
        let created = client()
            .post(app.url("/api/v1/users"))
            .bearer_auth(&token)
            .json(&json!({"username": "bob.builder", "role": "viewer", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    }
);

// Item 9: a password change revokes the user's API tokens (by default).
both_backends!(
    password_change_revokes_api_tokens,
    |app: TestApp| async move {
        let (_, admin) = app.user_with_token("root", Role::Admin).await;
        let (user, token) = app.user_with_token("dana", Role::Operator).await;
        assert_eq!(
            client()
                .get(app.url("/api/v1/assets"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        let changed = client()
            .patch(app.url(&format!("/api/v1/users/{}", user.id)))
            .bearer_auth(&admin)
            .json(&json!({"password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(
            client()
                .get(app.url("/api/v1/assets"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
);

// Item 8: X-Forwarded-Proto (and -For) were believed from any client.
both_backends!(
    forwarded_headers_need_a_trusted_proxy,
    |app: TestApp| async move {
        let page = browser()
            .get(app.url("/login"))
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .unwrap();
        let cookie = page.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            !cookie.contains("Secure"),
            "untrusted peer believed: {cookie}"
        );
        // Nor can a client spread its failed sign-ins over made-up addresses: after the
        // per-address limit, a new X-Forwarded-For does not help.
        add_user(&app, "alice", Role::Viewer).await;
        let mut last = StatusCode::OK;
        for attempt in 0..25 {
            let http = browser();
            let page = http.get(app.url("/login")).send().await.unwrap();
            let csrf = csrf_token_in(&page.text().await.unwrap());
            last = http
                .post(app.url("/login"))
                .header("x-forwarded-for", format!("198.51.100.{attempt}"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", format!("nobody{attempt}").as_str()),
                    ("password", "wrong password here"),
                ])
                .send()
                .await
                .unwrap()
                .status();
        }
        assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    }
);
