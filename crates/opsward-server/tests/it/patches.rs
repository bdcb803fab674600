//! Patch management over HTTP: an operator mints an enrollment token, an agent enrolls and
//! reports (full, retried, delta, stale delta), people read hosts, compliance and pages.
//! Also the fixtures the role matrix uses for these routes.

use crate::{both_backends, client, TestApp};
use chrono::Utc;
use opsward_core::{Actor, Role};
use opsward_patches::{
    report::{HostReport, ReportKind},
    InstalledPackage, Kernel, OsRelease, PackageManager, PendingUpdate, RebootRequired,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

/// The secret of a fresh enrollment token.
pub async fn fixture_enrollment_token(app: &TestApp) -> (i64, String) {
    let created = opsward_server::api::patches::mint_enrollment_token(
        &app.state.patches,
        &Actor::system("test"),
        &unique("fleet"),
        None,
    )
    .await
    .unwrap();
    (created.info.id, created.token)
}

/// A freshly enrolled host: (id, credential).
pub async fn fixture_host(app: &TestApp) -> (i64, String) {
    let (_, token) = fixture_enrollment_token(app).await;
    let enrolled: Value = client()
        .post(app.url("/api/v1/patches/enroll"))
        .json(&json!({"token": token, "hostname": unique("host")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        enrolled["host_id"].as_i64().unwrap(),
        enrolled["credential"].as_str().unwrap().to_string(),
    )
}

fn pkg(name: &str, version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        version: version.into(),
        arch: "amd64".into(),
        source: name.into(),
        source_version: version.into(),
    }
}

pub fn report(
    sequence: i64,
    packages: Vec<InstalledPackage>,
    pending: Vec<PendingUpdate>,
) -> HostReport {
    HostReport {
        kind: ReportKind::Full,
        sequence,
        base_sequence: None,
        collected_at: Utc::now(),
        hostname: "ignored".into(),
        os: OsRelease {
            id: "debian".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            ..OsRelease::default()
        },
        kernel: Kernel {
            release: "6.1.0-18-amd64".into(),
            ..Kernel::default()
        },
        package_manager: Some(PackageManager::Dpkg),
        reboot: RebootRequired::default(),
        uptime_seconds: Some(90_000),
        posture: Default::default(),
        packages,
        removed: vec![],
        pending,
        language_packages: vec![],
        notes: vec![],
    }
}

async fn send(app: &TestApp, credential: &str, report: &HostReport) -> (StatusCode, Value) {
    let response = client()
        .post(app.url("/api/v1/patches/reports"))
        .header("X-Opsward-Host", credential)
        .json(report)
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

both_backends!(
    an_agent_enrolls_and_reports_and_people_see_it,
    |app: TestApp| async move {
        let (_, operator) = app.user_with_token("patcher", Role::Operator).await;
        let (_, viewer) = app.user_with_token("watcher", Role::Viewer).await;
        let created: Value = client()
            .post(app.url("/api/v1/patches/enrollment-tokens"))
            .bearer_auth(&operator)
            .json(&json!({"name": "web fleet", "expires_in_days": 2}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = created["token"].as_str().unwrap().to_string();
        assert!(token.starts_with("owe_"));

        // A wrong token enrolls nothing.
        let bad = client()
            .post(app.url("/api/v1/patches/enroll"))
            .json(&json!({"token": "owe_nope", "hostname": "web-01"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        let enrolled: Value = client()
            .post(app.url("/api/v1/patches/enroll"))
            .json(&json!({"token": token, "hostname": "web-01"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let credential = enrolled["credential"].as_str().unwrap().to_string();
        assert!(credential.starts_with("owh_"));

        // Without or with a wrong credential: 401. A user's API token is not a host credential.
        let first = report(
            1,
            vec![
                pkg("openssl", "3.0.11-1"),
                pkg("bash", "5.2.15-2"),
                pkg("curl", "7.88.1-10"),
            ],
            vec![PendingUpdate {
                name: "openssl".into(),
                arch: "amd64".into(),
                installed_version: "3.0.11-1".into(),
                candidate_version: "3.0.15-1".into(),
                source: "openssl".into(),
                suites: vec!["stable-security".into()],
                security: true,
            }],
        );
        assert_eq!(
            send(&app, "owh_wrong", &first).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            send(&app, &operator, &first).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (status, body) = send(&app, &credential, &first).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["outcome"], "applied");
        assert_eq!(
            send(&app, &credential, &first).await.1["outcome"],
            "duplicate"
        );

        // A delta: bash upgraded, curl removed. A stale one is a 409.
        let mut second = report(
            2,
            vec![pkg("openssl", "3.0.11-1"), pkg("bash", "5.2.15-3")],
            first.pending.clone(),
        );
        second.reboot.required = true;
        let delta = second.delta_from(&first);
        let mut stale = delta.clone();
        stale.base_sequence = Some(7);
        assert_eq!(
            send(&app, &credential, &stale).await.0,
            StatusCode::CONFLICT
        );
        assert_eq!(
            send(&app, &credential, &delta).await.1["outcome"],
            "applied"
        );

        let hosts: Value = client()
            .get(app.url("/api/v1/patches/hosts"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(hosts.as_array().unwrap().len(), 1);
        let host = &hosts[0];
        assert_eq!(host["hostname"], "web-01");
        assert_eq!(host["package_count"], 2);
        assert_eq!(host["security_updates"], 1);
        assert_eq!(host["reboot_required"], true);
        assert_eq!(host["current"], true);
        let overdue: Value = client()
            .get(app.url("/api/v1/patches/hosts?overdue=true"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(overdue, json!([]));

        let id = host["id"].as_i64().unwrap();
        let detail: Value = client()
            .get(app.url(&format!("/api/v1/patches/hosts/{id}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let packages: Vec<(&str, &str)> = detail["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
            .collect();
        assert_eq!(packages, [("bash", "5.2.15-3"), ("openssl", "3.0.11-1")]);
        assert_eq!(detail["pending"][0]["security"], true);
        assert_eq!(detail["pending"][0]["candidate_version"], "3.0.15-1");

        let compliance: Value = client()
            .get(app.url("/api/v1/patches/compliance"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(compliance["fleet"]["hosts"], 1);
        assert_eq!(compliance["fleet"]["percent_current"], 100.0);
        assert_eq!(compliance["trend"].as_array().unwrap().len(), 30);
        assert_eq!(compliance["policy"]["critical_days"], 7);

        // Policy: viewers read, operators change, nonsense refused.
        let put = |token: &str, body: Value| {
            client()
                .put(app.url("/api/v1/patches/policy"))
                .bearer_auth(token)
                .json(&body)
                .send()
        };
        let policy = json!({"critical_days": 3, "high_days": 10, "other_security_days": 20, "non_security_months": 1});
        assert_eq!(
            put(&viewer, policy.clone()).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            put(&operator, policy.clone()).await.unwrap().status(),
            StatusCode::OK
        );
        let mut bad = policy.clone();
        bad["high_days"] = json!(0);
        assert_eq!(
            put(&operator, bad).await.unwrap().status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );

        // The pages.
        let page = client()
            .get(app.url("/patches"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("web-01"));
        assert!(
            page.contains("id=\"patch-current-trend-title\""),
            "the trend chart"
        );
        assert!(page.contains("100%"));
        let host_page = client()
            .get(app.url(&format!("/patches/hosts/{id}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(host_page.contains("3.0.15-1"));
        assert!(host_page.contains("<strong>security</strong>"));
        assert!(host_page.contains("5.2.15-3"));
        app.stop().await;
    }
);

/// A ring with a unique name and position, its window always open.
pub async fn fixture_ring(app: &TestApp) -> i64 {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let input =
        serde_json::from_value(ring_json(&format!("ring-{n}"), 100 + i64::from(n))).unwrap();
    app.state
        .patches
        .create_ring(&Actor::system("test"), &input)
        .await
        .unwrap()
        .id
}

pub fn ring_json(name: &str, position: i64) -> Value {
    json!({"name": name, "position": position, "soak_hours": 0,
        "window": {"rrule": "FREQ=DAILY", "starts_local": "2026-01-01T00:00:00", "timezone": "UTC", "minutes": 1440}})
}

/// A host in a ring with an approval to run: (credential, approval id).
pub async fn fixture_approval(app: &TestApp) -> (String, i64) {
    let ring = fixture_ring(app).await;
    let (host, credential) = fixture_host(app).await;
    let actor = Actor::system("test");
    app.state
        .patches
        .assign_ring(&actor, host, Some(ring))
        .await
        .unwrap();
    let approval = app
        .state
        .patches
        .approve(&actor, ring, &["openssl".into()], None)
        .await
        .unwrap();
    (credential, approval.id)
}

pub fn run_json(ok: bool) -> Value {
    let now = Utc::now();
    json!({"command": ["apt-get", "install", "--only-upgrade", "openssl"], "started_at": now, "finished_at": now,
        "exit_code": if ok { 0 } else { 100 }, "output": "", "upgraded": [], "reboot_required": false})
}

both_backends!(
    the_rollout_page_shows_rings_approvals_and_runs_and_approves,
    |app: TestApp| async move {
        let (_, operator) = app.user_with_token("roller", Role::Operator).await;
        let (_, viewer) = app.user_with_token("looker", Role::Viewer).await;
        let actor = Actor::system("test");
        let input = serde_json::from_value(json!({"name": "canary-berlin", "position": 1, "soak_hours": 48,
            "window": {"rrule": "FREQ=WEEKLY;BYDAY=TU", "starts_local": "2026-01-06T02:00:00", "timezone": "Europe/Berlin", "minutes": 120}}))
            .unwrap();
        let ring = app.state.patches.create_ring(&actor, &input).await.unwrap();
        let (host, credential) = fixture_host(&app).await;
        app.state
            .patches
            .assign_ring(&actor, host, Some(ring.id))
            .await
            .unwrap();
        let hostname = app.state.patches.ring_members().await.unwrap()[0]
            .hostname
            .clone();

        let page = |token: String| {
            let url = app.url("/patches/rollout");
            async move {
                let r = client().get(url).bearer_auth(token).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                r.text().await.unwrap()
            }
        };
        let seen = page(viewer.clone()).await;
        assert!(seen.contains("canary-berlin") && seen.contains(&hostname));
        assert!(
            seen.contains("48 h") && seen.contains("every week on Tuesday at 02:00 Europe/Berlin"),
            "the window in words: {seen}"
        );
        assert!(
            seen.contains(" 02:00 CE"),
            "next window in Berlin time: {seen}"
        );
        assert!(
            !seen.contains("/patches/rollout/approve"),
            "viewers get no form"
        );
        let seen = page(operator.clone()).await;
        assert!(seen.contains("action=\"/patches/rollout/approve\""));
        assert!(seen.contains("name=\"csrf_token\""));

        // An invalid set is refused with the page and a message.
        let bad = client()
            .post(app.url("/patches/rollout/approve"))
            .bearer_auth(&operator)
            .form(&[("ring_id", ring.id.to_string()), ("packages", " ,".into())])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().await.unwrap().contains("packages"));
        assert!(app.state.patches.list_approvals().await.unwrap().is_empty());

        // Approve through the form.
        let r = client()
            .post(app.url("/patches/rollout/approve"))
            .bearer_auth(&operator)
            .form(&[
                ("ring_id", ring.id.to_string()),
                ("packages", "openssl, curl".into()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/patches/rollout");
        let approvals = app.state.patches.list_approvals().await.unwrap();
        assert_eq!(approvals.len(), 1);
        assert_eq!(approvals[0].packages, ["openssl", "curl"]);
        assert_eq!(approvals[0].approved_by, "token:roller/test");
        assert_eq!(approvals[0].ring_id, ring.id);

        // The host installs it; the page shows the evidence and the settled approval.
        let now = Utc::now();
        let run = client()
            .post(app.url("/api/v1/patches/agent/runs"))
            .header("X-Opsward-Host", &credential)
            .json(&json!({"approval_id": approvals[0].id, "run": {
                "command": ["apt-get", "install", "--only-upgrade", "openssl", "curl"],
                "started_at": now, "finished_at": now, "exit_code": 0, "output": "",
                "upgraded": [{"name": "openssl", "arch": "amd64", "from_version": "3.0.1", "to_version": "3.0.2"}],
                "reboot_required": true}}))
            .send()
            .await
            .unwrap();
        assert_eq!(run.status(), StatusCode::CREATED);
        let seen = page(viewer).await;
        let approval_row = seen
            .split(&format!("id=\"approval-{}\"", approvals[0].id))
            .nth(1)
            .unwrap();
        assert!(approval_row.contains("openssl curl") && approval_row.contains("succeeded"));
        assert!(approval_row.contains("token:roller/test"));
        let runs = seen.split("id=\"runs\"").nth(1).unwrap();
        assert!(runs.contains(&hostname) && runs.contains("openssl 3.0.1 → 3.0.2"));
        assert!(runs.contains("<td>0</td>") && runs.contains("required"));
        app.stop().await;
    }
);

both_backends!(
    a_failed_install_run_is_notified_once,
    |app: TestApp| async move {
        use opsward_ops::notifications::{ChannelConfig, RuleInput, Severity};
        let actor = Actor::system("test");
        let channel = app
            .state
            .notifier
            .create_channel(
                &actor,
                "ops-hook",
                &ChannelConfig::Webhook(opsward_notify::WebhookConfig {
                    url: "http://127.0.0.1:9/hook".into(),
                    secret: "s3cret-s3cret-s3cret".into(),
                    timeout_secs: 2,
                }),
            )
            .await
            .unwrap();
        let rule = RuleInput {
            name: "patch failures".into(),
            channel_id: channel.id,
            events: vec!["patch.install_failed".into()],
            practice: None,
            min_severity: Severity::Info,
            owner_team_id: None,
            owner_person_id: None,
            digest: false,
            quiet_hours: None,
            enabled: true,
        };
        app.state
            .notifier
            .create_rule(&actor, None, &rule)
            .await
            .unwrap();
        let report = |credential: String, approval: i64, ok: bool| {
            let url = app.url("/api/v1/patches/agent/runs");
            async move {
                let r = client()
                    .post(url)
                    .header("X-Opsward-Host", credential)
                    .json(&json!({"approval_id": approval, "run": run_json(ok)}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                r.json::<opsward_patches::store::rollout::RunRecord>()
                    .await
                    .unwrap()
            }
        };

        // A successful run notifies nothing.
        let (credential, approval) = fixture_approval(&app).await;
        report(credential, approval, true).await;
        assert!(app
            .state
            .notifier
            .list_outbox(None, 50)
            .await
            .unwrap()
            .is_empty());

        // A failed run queues one message for the rule's channel.
        let (credential, approval) = fixture_approval(&app).await;
        let failed = report(credential, approval, false).await;
        let outbox = app.state.notifier.list_outbox(None, 50).await.unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].event, "patch.install_failed");
        assert_eq!(outbox[0].channel_id, channel.id);
        assert_eq!(outbox[0].dedupe_key, format!("patch_run:{}", failed.id));
        assert!(outbox[0].subject.contains(&failed.hostname));

        // The same run emitted again is not news.
        let event = opsward_patches::alerts::install_failed_event(&failed).unwrap();
        assert!(app
            .state
            .notifier
            .emit(&event, Utc::now())
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            app.state
                .notifier
                .list_outbox(None, 50)
                .await
                .unwrap()
                .len(),
            1
        );
        app.stop().await;
    }
);
