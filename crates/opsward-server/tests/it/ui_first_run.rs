//! The first run in the browser (issue 20 item 8): the dashboard's getting-started checklist
//! follows the data; enrollment tokens, API tokens and calendar feeds are minted with
//! Post/Redirect/Get and their secret shown once; advisory files are uploaded and bad ones
//! refused; TLS scans are started from the certificates page and from an asset's page.

use crate::{
    auth::signed_in,
    both_backends,
    cert_targets::{private_pki, Server},
    client, TestApp,
};
use opsward_core::{Actor, Role};
use opsward_testkit::csrf_token_in;
use opsward_vulns::findings::FeedKind;
use reqwest::{header, multipart, Client, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;

fn shared_data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

async fn text(http: &Client, url: String) -> String {
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// POST a form; it must answer 303 to `to`, which must not carry any secret.
async fn post_redirects(
    http: &Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    to: &str,
) {
    let r = http.post(app.url(path)).form(fields).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{path}: {:?}",
        r.text().await
    );
    assert_eq!(r.headers()[header::LOCATION], to, "{path}");
}

/// Upload a feed file through the page's form (multipart, the CSRF token in the action URL
/// as the form has it); the next page's message.
async fn upload(
    http: &Client,
    app: &TestApp,
    csrf: &str,
    feed: &str,
    name: &str,
    bytes: Vec<u8>,
) -> String {
    let form = multipart::Form::new().text("feed", feed.to_string()).part(
        "file",
        multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let r = http
        .post(app.url(&format!("/vulns/imports?csrf_token={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    assert_eq!(r.headers()[header::LOCATION], "/vulns/imports");
    text(http, app.url("/vulns/imports")).await
}

both_backends!(
    enrollment_token_is_shown_once_and_enrolls_a_host,
    |app: TestApp| async move {
        let http = signed_in(&app, "enroller", Role::Operator).await;
        let page = text(&http, app.url("/patches/enrollment")).await;
        let csrf = csrf_token_in(&page);
        // A refused form keeps the input and says why.
        let r = http
            .post(app.url("/patches/enrollment"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "web"),
                ("expires_in_days", "999"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("1-365"));

        post_redirects(
            &http,
            &app,
            "/patches/enrollment",
            &[
                ("csrf_token", &csrf),
                ("name", "web fleet"),
                ("expires_in_days", "7"),
            ],
            "/patches/enrollment",
        )
        .await;
        let shown = text(&http, app.url("/patches/enrollment")).await;
        assert!(
            shown.contains("Enrollment token web fleet created."),
            "{shown}"
        );
        let start = shown.find("owe_").expect("the token is shown");
        let token: String = shown[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        assert!(shown.contains("opsward agent /etc/opsward/agent.toml"));
        assert!(shown.contains("enrollment_token_file = "));
        assert!(shown.contains("/etc/opsward/enroll.token"));
        // A refresh: the token is gone for good.
        let again = text(&http, app.url("/patches/enrollment")).await;
        assert!(!again.contains(&token), "shown twice");
        assert!(again.contains("web fleet"));

        // The token shown is the real one: a host enrolls with it.
        let enrolled = client()
            .post(app.url("/api/v1/patches/enroll"))
            .json(&json!({"token": token, "hostname": "web-01"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            enrolled.status(),
            StatusCode::CREATED,
            "{:?}",
            enrolled.text().await
        );
        let tokens = app.state.patches.list_enrollment_tokens().await.unwrap();
        assert_eq!(tokens.iter().map(|t| t.uses).sum::<i64>(), 1);

        // Revoking asks first, then refuses further enrollments.
        let id = tokens[0].id;
        let ask = http
            .post(app.url(&format!("/patches/enrollment/{id}/revoke")))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(ask.status(), StatusCode::OK);
        assert!(ask.text().await.unwrap().contains("can no longer enroll"));
        post_redirects(
            &http,
            &app,
            &format!("/patches/enrollment/{id}/revoke"),
            &[("csrf_token", &csrf), ("confirm", "yes")],
            "/patches/enrollment",
        )
        .await;
        let refused = client()
            .post(app.url("/api/v1/patches/enroll"))
            .json(&json!({"token": token, "hostname": "web-02"}))
            .send()
            .await
            .unwrap();
        assert!(refused.status().is_client_error());
        app.stop().await;
    }
);

both_backends!(
    api_tokens_and_feeds_redirect_and_show_the_secret_once,
    |app: TestApp| async move {
        let http = signed_in(&app, "minter", Role::Viewer).await;
        let csrf = csrf_token_in(&text(&http, app.url("/tokens")).await);
        post_redirects(
            &http,
            &app,
            "/tokens",
            &[
                ("csrf_token", &csrf),
                ("name", "ci"),
                ("expires_in_days", "30"),
            ],
            "/tokens",
        )
        .await;
        let shown = text(&http, app.url("/tokens")).await;
        let start = shown.find("id=\"new-token\">").expect("the token is shown") + 15;
        let token = shown[start..shown[start..].find('<').unwrap() + start].to_string();
        assert!(!text(&http, app.url("/tokens")).await.contains(&token));
        let me = client()
            .get(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), StatusCode::OK, "the shown token works");

        post_redirects(
            &http,
            &app,
            "/calendar/feeds",
            &[("csrf_token", &csrf), ("name", "my work")],
            "/calendar/feeds",
        )
        .await;
        let shown = text(&http, app.url("/calendar/feeds")).await;
        let start = shown
            .find("id=\"feed-url\">")
            .expect("the address is shown")
            + 14;
        let url = shown[start..shown[start..].find('<').unwrap() + start].to_string();
        assert!(!text(&http, app.url("/calendar/feeds")).await.contains(&url));
        let path = &url[url.find("/ical/").unwrap()..];
        let feed = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(feed.status(), StatusCode::OK, "the shown address works");
        assert!(feed.text().await.unwrap().starts_with("BEGIN:VCALENDAR"));
        app.stop().await;
    }
);

both_backends!(
    advisory_files_are_imported_and_bad_ones_refused,
    |app: TestApp| async move {
        let http = signed_in(&app, "importer", Role::Operator).await;
        let csrf = csrf_token_in(&text(&http, app.url("/vulns/imports")).await);
        let osv = std::fs::read(shared_data("osv/crates.io/RUSTSEC-2019-0009.json")).unwrap();
        let page = upload(&http, &app, &csrf, "osv", "RUSTSEC-2019-0009.json", osv).await;
        assert!(
            page.contains("OSV import of RUSTSEC-2019-0009.json: 1 read, 1 new"),
            "{page}"
        );

        let kev = std::fs::read(shared_data("kev/known_exploited_vulnerabilities.json")).unwrap();
        let page = upload(
            &http,
            &app,
            &csrf,
            "kev",
            "known_exploited_vulnerabilities.json",
            kev,
        )
        .await;
        assert!(
            page.contains("KEV import of known_exploited_vulnerabilities.json: 1404 read"),
            "{page}"
        );

        // EPSS as FIRST publishes it: gzip-compressed CSV, scores in scientific notation.
        let csv = "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2019-15542,1.2e-05,0.001\nCVE-2021-44228,0.97,0.99\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, csv.as_bytes()).unwrap();
        let page = upload(
            &http,
            &app,
            &csrf,
            "epss",
            "epss_scores.csv.gz",
            gz.finish().unwrap(),
        )
        .await;
        assert!(
            page.contains("EPSS import of epss_scores.csv.gz: 2 read"),
            "{page}"
        );

        // Malformed files: refused with where and why, nothing replaced.
        let page = upload(
            &http,
            &app,
            &csrf,
            "kev",
            "kev.json",
            b"{\"vulnerabilities\": [".to_vec(),
        )
        .await;
        assert!(
            page.contains("KEV file refused, nothing changed."),
            "{page}"
        );
        let page = upload(
            &http,
            &app,
            &csrf,
            "epss",
            "scores.csv",
            b"cve,epss,percentile\nCVE-1,high,0.5\n".to_vec(),
        )
        .await;
        assert!(
            page.contains("EPSS file refused, nothing changed. scores.csv line 2"),
            "{page}"
        );
        let page = upload(
            &http,
            &app,
            &csrf,
            "osv",
            "broken.json",
            b"{\"id\": 3}".to_vec(),
        )
        .await;
        assert!(
            page.contains("OSV file refused, nothing changed. broken.json"),
            "{page}"
        );
        let page = upload(&http, &app, &csrf, "osv", "empty.json", Vec::new()).await;
        assert!(page.contains("the file is empty"), "{page}");

        let runs = app.state.vulns.import_runs(20).await.unwrap();
        let imported = |kind| {
            runs.iter()
                .filter(|r| r.kind == kind && r.outcome == "imported")
                .count()
        };
        assert_eq!(
            (
                imported(FeedKind::Osv),
                imported(FeedKind::Kev),
                imported(FeedKind::Epss)
            ),
            (1, 1, 1)
        );
        assert_eq!(runs.iter().filter(|r| r.outcome == "rejected").count(), 4);
        // The KEV catalog is the good one still.
        let kev = app.state.vulns.import_runs(20).await.unwrap();
        assert!(kev
            .iter()
            .any(|r| r.kind == FeedKind::Kev && r.records_read == 1404));

        // A viewer sees the runs but may not upload.
        let viewer = signed_in(&app, "reader", Role::Viewer).await;
        let page = text(&viewer, app.url("/vulns/imports")).await;
        assert!(page.contains("RUSTSEC-2019-0009.json") && !page.contains("feed-upload"));
        app.stop().await;
    }
);

both_backends!(
    tls_scans_start_from_the_certificates_and_asset_pages,
    |app: TestApp| async move {
        let dir = tempfile::tempdir().unwrap();
        private_pki(dir.path(), 40);
        let server = Server::start(&dir.path().join("leaf.crt"), &dir.path().join("leaf.key"));
        let http = signed_in(&app, "scanner", Role::Operator).await;
        let csrf = csrf_token_in(&text(&http, app.url("/certificates/scans")).await);
        let endpoint = format!("127.0.0.1:{}", server.port);
        post_redirects(
            &http,
            &app,
            "/certificates/scans",
            &[
                ("csrf_token", &csrf),
                ("targets", &endpoint),
                ("starttls", "auto"),
            ],
            "/certificates/scans",
        )
        .await;
        let page = text(&http, app.url("/certificates/scans")).await;
        assert!(
            page.contains("1 place(s) scanned, 1 certificate(s) found (1 new), 0 error(s)"),
            "{page}"
        );
        let found = app.state.certs.list(&Default::default()).await.unwrap();
        assert_eq!(found.len(), 1, "the certificate is in the inventory");

        // A bad range: nothing scanned, the reason on the page.
        post_redirects(
            &http,
            &app,
            "/certificates/scans",
            &[("csrf_token", &csrf), ("targets", "10.0.0.0/99:443")],
            "/certificates/scans",
        )
        .await;
        let page = text(&http, app.url("/certificates/scans")).await;
        assert!(page.contains("Not scanned: targets"), "{page}");

        // From an asset's page: its TLS endpoints, then back to the asset.
        let asset = app
            .db
            .store
            .create_asset(
                &Actor::system("test"),
                &opsward_testkit::asset_input("tls-box"),
            )
            .await
            .unwrap();
        let r = client()
            .put(app.url(&format!("/api/v1/certificates/assets/{}", asset.id)))
            .bearer_auth(app.user_with_token("certop", Role::Operator).await.1)
            .json(&json!({"hostname": "localhost", "ports": [server.port]}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.json::<Value>().await);
        let asset_page = format!("/assets/{}", asset.id);
        assert!(text(&http, app.url(&asset_page))
            .await
            .contains("Scan its TLS endpoints"));
        post_redirects(
            &http,
            &app,
            "/certificates/scans",
            &[
                ("csrf_token", &csrf),
                ("asset", "tls-box"),
                ("back", &asset_page),
            ],
            &asset_page,
        )
        .await;
        let page = text(&http, app.url(&asset_page)).await;
        assert!(
            page.contains("1 place(s) scanned, 1 certificate(s) found (0 new)"),
            "{page}"
        );
        app.stop().await;
    }
);

both_backends!(
    getting_started_checklist_follows_the_data,
    |app: TestApp| async move {
        let http = signed_in(&app, "newcomer", Role::Admin).await;
        let page = text(&http, app.url("/")).await;
        assert!(page.contains("Getting started: 0 of 5 done"), "{page}");
        for href in [
            "/assets/new",
            "/certificates/scans",
            "/patches/enrollment",
            "/vulns/imports",
            "/calendar/activities/new",
        ] {
            assert!(page.contains(&format!("href=\"{href}\"")), "{href}");
            assert_eq!(
                http.get(app.url(href)).send().await.unwrap().status(),
                StatusCode::OK,
                "{href}"
            );
        }
        // Viewers cannot act on it and do not see it.
        let viewer = signed_in(&app, "watcher", Role::Viewer).await;
        assert!(!text(&viewer, app.url("/"))
            .await
            .contains("Getting started"));

        let actor = Actor::system("test");
        app.db
            .store
            .create_asset(&actor, &opsward_testkit::asset_input("first"))
            .await
            .unwrap();
        crate::patches::fixture_host(&app).await;
        let page = text(&http, app.url("/")).await;
        assert!(page.contains("Getting started: 2 of 5 done"), "{page}");
        assert!(page.contains("1 host enrolled"));

        let record =
            opsward_vulns::osv::load_path(&shared_data("osv/crates.io/RUSTSEC-2019-0009.json"));
        app.state
            .vulns
            .import_osv(&actor, "fixture", &record)
            .await
            .unwrap();
        let csrf = csrf_token_in(&page);
        post_redirects(
            &http,
            &app,
            "/certificates/scans",
            &[("csrf_token", &csrf), ("targets", "127.0.0.1:9")],
            "/certificates/scans",
        )
        .await;
        assert!(text(&http, app.url("/"))
            .await
            .contains("Getting started: 4 of 5 done"));
        let r = http
            .post(app.url("/calendar/activities"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("title", "Restore drill"),
                ("practice", "resilience"),
                ("starts_local", "2026-01-05T10:00"),
                ("timezone", "UTC"),
                ("rrule", ""),
                ("duration_minutes", "60"),
                ("active", "true"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = text(&http, app.url("/")).await;
        assert!(
            !page.contains("Getting started"),
            "all done: the checklist is gone"
        );
        app.stop().await;
    }
);

both_backends!(
    the_feed_upload_api_answers_the_run_and_a_malformed_form_is_a_400,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("feeds", Role::Operator).await;
        let http = client();
        let send = |feed: &'static str, name: &'static str, bytes: Vec<u8>| {
            let form = multipart::Form::new()
                .text("feed", feed)
                .part("file", multipart::Part::bytes(bytes).file_name(name));
            http.post(app.url("/api/v1/vulns/imports"))
                .bearer_auth(&token)
                .multipart(form)
                .send()
        };
        let osv = std::fs::read(shared_data("osv/crates.io/RUSTSEC-2019-0009.json")).unwrap();
        let r = send("osv", "RUSTSEC-2019-0009.json", osv).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let run: Value = r.json().await.unwrap();
        assert_eq!(
            (run["outcome"].as_str(), run["created"].as_i64()),
            (Some("imported"), Some(1)),
            "{run}"
        );

        // A file that is read and refused: 422 with the run and its problems.
        let r = send("kev", "kev.json", b"{\"vulnerabilities\": [".to_vec())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let run: Value = r.json().await.unwrap();
        assert_eq!(run["outcome"], "rejected", "{run}");

        // A form without a feed (schemathesis sent one): 400 in the error body, the field named.
        let r = send("", "x.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], "feed", "{body}");
    }
);
