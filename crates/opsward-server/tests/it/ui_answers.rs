//! Issue 20's small things: answers axum gives on its own are readable (a 405 says what the
//! address takes; a path parameter that does not parse is an HTML page on UI addresses), and
//! the favicon is served and linked.

use crate::{auth::signed_in, both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::{header, StatusCode};
use serde_json::Value;

fn content_type(response: &reqwest::Response) -> String {
    response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string()
}

both_backends!(
    method_not_allowed_and_unparsable_paths_answer_in_words,
    |app: TestApp| async move {
        let http = signed_in(&app, "alice", Role::Operator).await;

        // A UI address asked with a method it does not take: a page that names the methods.
        let response = http.delete(app.url("/assets")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        let allow = response.headers()[header::ALLOW]
            .to_str()
            .unwrap()
            .to_string();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        assert!(content_type(&response).starts_with("text/html"));
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!(
                "This address answers {} only.",
                allow.replace(',', ", ")
            )),
            "{page}"
        );

        // The same for the API, as its JSON error.
        let (_, token) = app.user_with_token("bob", Role::Viewer).await;
        let response = client()
            .put(app.url("/api/v1/summary"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert_eq!(
            body["error"]["message"],
            "This address answers GET, HEAD only."
        );

        // A record number that is not a number: the error page, not a line of plain text.
        let response = http.get(app.url("/assets/abc")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(content_type(&response).starts_with("text/html"));
        assert!(
            response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("default-src 'self'"),
            "the page keeps the security headers"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("“abc” is not a number"), "{page}");
        assert!(!page.contains("Cannot parse"), "{page}");
    }
);

both_backends!(
    the_favicon_is_served_and_linked,
    |app: TestApp| async move {
        let response = client().get(app.url("/favicon.svg")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(content_type(&response), "image/svg+xml");
        assert!(response.text().await.unwrap().starts_with("<svg"));
        let login_page = client()
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            login_page.contains(r#"<link rel="icon" href="/favicon.svg" type="image/svg+xml">"#),
            "{login_page}"
        );
    }
);
