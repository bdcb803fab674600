//! Ring management over HTTP: the API's change and delete, and the rollout page's forms
//! (create, change, delete, assign hosts) for operators with CSRF, on both backends.

use crate::{
    auth::{add_user, browser, login, signed_in, PASSWORD},
    both_backends, client,
    patches::{fixture_host, ring_json},
    TestApp,
};
use opsward_core::{audit::AuditFilter, page::PageRequest, Role};
use opsward_testkit::csrf_token_in;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    rings_are_changed_and_deleted_through_the_api,
    |app: TestApp| async move {
        let (_, operator) = app.user_with_token("ringer", Role::Operator).await;
        let (_, viewer) = app.user_with_token("watcher", Role::Viewer).await;
        let created: Value = client()
            .post(app.url("/api/v1/patches/rings"))
            .bearer_auth(&operator)
            .json(&ring_json("canary", 1))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_i64().unwrap();
        client()
            .post(app.url("/api/v1/patches/rings"))
            .bearer_auth(&operator)
            .json(&ring_json("broad", 2))
            .send()
            .await
            .unwrap();

        let mut change = ring_json("canary-eu", 3);
        change["window"]["timezone"] = json!("Europe/Paris");
        change["soak_hours"] = json!(12);
        let put = |token: String, body: Value, id: i64| {
            let url = app.url(&format!("/api/v1/patches/rings/{id}"));
            async move {
                client()
                    .put(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            put(viewer.clone(), change.clone(), id).await.status(),
            StatusCode::FORBIDDEN
        );
        let r = put(operator.clone(), change.clone(), id).await;
        assert_eq!(r.status(), StatusCode::OK);
        let changed: Value = r.json().await.unwrap();
        assert_eq!(changed["id"], id);
        assert_eq!(changed["name"], "canary-eu");
        assert_eq!(changed["soak_hours"], 12);
        assert_eq!(changed["window"]["timezone"], "Europe/Paris");
        let mut bad = change.clone();
        bad["window"]["rrule"] = json!("FREQ=NEVER");
        assert_eq!(
            put(operator.clone(), bad, id).await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            put(operator.clone(), ring_json("broad", 9), id)
                .await
                .status(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            put(operator.clone(), ring_json("z", 9), 987_654)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );

        // A ring with an approval is kept (409); without, it goes and its hosts have none.
        let (host, _) = fixture_host(&app).await;
        client()
            .put(app.url(&format!("/api/v1/patches/hosts/{host}/ring")))
            .bearer_auth(&operator)
            .json(&json!({"ring_id": id}))
            .send()
            .await
            .unwrap();
        let delete = |id: i64| {
            let url = app.url(&format!("/api/v1/patches/rings/{id}"));
            let token = operator.clone();
            async move {
                client()
                    .delete(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = delete(id).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["name"], "canary-eu");
        assert!(app.state.patches.ring_members().await.unwrap().is_empty());
        assert_eq!(delete(id).await.status(), StatusCode::NOT_FOUND);
        let broad = app.state.patches.list_rings().await.unwrap()[0].id;
        client()
            .post(app.url("/api/v1/patches/approvals"))
            .bearer_auth(&operator)
            .json(&json!({"ring_id": broad, "packages": ["openssl"]}))
            .send()
            .await
            .unwrap();
        let r = delete(broad).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(r.text().await.unwrap().contains("evidence"));

        let audit = app
            .db
            .store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("patch_ring".into()),
                    ..Default::default()
                },
                PageRequest::first(20),
            )
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> = audit
            .items
            .iter()
            .map(|a| (a.action.as_str(), a.actor.as_str()))
            .collect();
        assert!(
            actions.contains(&("update", "token:ringer/test")),
            "{actions:?}"
        );
        assert!(
            actions.contains(&("delete", "token:ringer/test")),
            "{actions:?}"
        );
        app.stop().await;
    }
);

both_backends!(
    operators_manage_rings_and_hosts_on_the_rollout_page,
    |app: TestApp| async move {
        let http = signed_in(&app, "olga", Role::Operator).await;
        let page = || {
            let url = app.url("/patches/rollout");
            let http = http.clone();
            async move { http.get(url).send().await.unwrap().text().await.unwrap() }
        };
        let seen = page().await;
        assert!(seen.contains("action=\"/patches/rollout/rings\""));
        let csrf = csrf_token_in(&seen);
        let ring_form = |name: &str, order: &str, tz: &str| {
            vec![
                ("csrf_token", csrf.clone()),
                ("name", name.to_string()),
                ("position", order.to_string()),
                ("rrule", "FREQ=WEEKLY;BYDAY=WE".to_string()),
                ("start", "2026-01-07T03:30".to_string()),
                ("timezone", tz.to_string()),
                ("minutes", "90".to_string()),
                ("soak_hours", "6".to_string()),
            ]
        };
        let post = |path: &str, form: Vec<(&'static str, String)>| {
            let url = app.url(path);
            let http = http.clone();
            async move { http.post(url).form(&form).send().await.unwrap() }
        };

        // Without the CSRF token the session's form is refused and nothing is made.
        let mut forged = ring_form("pilot", "2", "Asia/Tokyo");
        forged.remove(0);
        assert_eq!(
            post("/patches/rollout/rings", forged).await.status(),
            StatusCode::FORBIDDEN
        );
        assert!(app.state.patches.list_rings().await.unwrap().is_empty());

        let r = post(
            "/patches/rollout/rings",
            ring_form("pilot", "2", "Asia/Tokyo"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let rings = app.state.patches.list_rings().await.unwrap();
        assert_eq!(rings.len(), 1);
        let pilot = &rings[0];
        assert_eq!(pilot.window.timezone, "Asia/Tokyo");
        assert_eq!(pilot.window.starts_local.to_string(), "2026-01-07 03:30:00");
        assert_eq!((pilot.window.minutes, pilot.soak_hours), (90, 6));

        // A refused form comes back with the message and what was typed.
        let r = post(
            "/patches/rollout/rings",
            ring_form("second", "x", "Mars/Base"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("order: must be a whole number"), "{body}");
        assert!(body.contains("value=\"Mars/Base\""));
        let r = post(
            "/patches/rollout/rings",
            ring_form("second", "7", "Mars/Base"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("window"));
        assert_eq!(app.state.patches.list_rings().await.unwrap().len(), 1);

        // The edit form changes the ring in place.
        let seen = page().await;
        assert!(seen.contains(&format!("action=\"/patches/rollout/rings/{}\"", pilot.id)));
        let r = post(
            &format!("/patches/rollout/rings/{}", pilot.id),
            ring_form("pilot-apac", "4", "Australia/Sydney"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let changed = &app.state.patches.list_rings().await.unwrap()[0];
        assert_eq!(
            (changed.id, changed.name.as_str()),
            (pilot.id, "pilot-apac")
        );
        assert_eq!(changed.window.timezone, "Australia/Sydney");
        let r = post(
            &format!("/patches/rollout/rings/{}", pilot.id),
            ring_form("pilot-apac", "4", "Nowhere/Else"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(
            body.contains(&format!("id=\"edit-ring-{}\" open", pilot.id)),
            "the refused edit stays open"
        );

        // Assign hosts by name; an unknown name changes nothing.
        let (h1, _) = fixture_host(&app).await;
        let (h2, _) = fixture_host(&app).await;
        let hosts = app
            .state
            .patches
            .list_hosts(chrono::Utc::now())
            .await
            .unwrap();
        let name = |id: i64| {
            hosts
                .iter()
                .find(|h| h.host.id == id)
                .unwrap()
                .host
                .hostname
                .clone()
        };
        let seen = page().await;
        assert!(
            seen.contains(&name(h1)) && seen.contains(&name(h2)),
            "unassigned hosts are listed"
        );
        let assign = |hosts: String, ring: String| {
            vec![
                ("csrf_token", csrf.clone()),
                ("ring_id", ring),
                ("hosts", hosts),
            ]
        };
        let r = post(
            "/patches/rollout/assign",
            assign(format!("{} nosuchhost", name(h1)), pilot.id.to_string()),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("no enrolled host named"));
        assert!(app.state.patches.ring_members().await.unwrap().is_empty());
        let r = post(
            "/patches/rollout/assign",
            assign(format!("{}, {}", name(h1), name(h2)), pilot.id.to_string()),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.state.patches.ring_members().await.unwrap().len(), 2);
        let r = post("/patches/rollout/assign", assign(name(h2), String::new())).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let members = app.state.patches.ring_members().await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].host_id, h1);

        // Delete; the remaining host is left in no ring. Audit names the operator.
        let r = post(
            &format!("/patches/rollout/rings/{}/delete", pilot.id),
            vec![("csrf_token", csrf.clone()), ("confirm", "yes".into())],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(app.state.patches.list_rings().await.unwrap().is_empty());
        assert!(app.state.patches.ring_members().await.unwrap().is_empty());
        let audit = app
            .db
            .store
            .list_audit(&AuditFilter::default(), PageRequest::first(100))
            .await
            .unwrap();
        let did: Vec<(&str, &str, &str)> = audit
            .items
            .iter()
            .map(|a| (a.action.as_str(), a.entity_type.as_str(), a.actor.as_str()))
            .collect();
        for want in [
            ("create", "patch_ring", "user:olga"),
            ("update", "patch_ring", "user:olga"),
            ("assign_ring", "patch_host", "user:olga"),
            ("delete", "patch_ring", "user:olga"),
        ] {
            assert!(did.contains(&want), "{want:?} in {did:?}");
        }
        app.stop().await;
    }
);

both_backends!(
    reboot_policies_are_set_on_rings_and_approvals_by_api_and_page,
    |app: TestApp| async move {
        let (_, operator) = app.user_with_token("rebooter", Role::Operator).await;
        let post_api = |path: &str, body: Value| {
            let url = app.url(path);
            let token = operator.clone();
            async move {
                client()
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        // API: a ring without a policy never reboots; a policy is one of two words.
        let r = post_api("/api/v1/patches/rings", ring_json("canary", 1)).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let canary: Value = r.json().await.unwrap();
        assert_eq!(canary["reboot_policy"], "never");
        let mut pilot = ring_json("pilot", 2);
        pilot["reboot_policy"] = json!("if-required");
        let r = post_api("/api/v1/patches/rings", pilot.clone()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let pilot_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let mut always = ring_json("broad", 3);
        always["reboot_policy"] = json!("always");
        assert!(post_api("/api/v1/patches/rings", always)
            .await
            .status()
            .is_client_error());
        let r = post_api(
            "/api/v1/patches/approvals",
            json!({"ring_id": canary["id"], "packages": ["openssl"], "reboot_policy": "if-required"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(
            r.json::<Value>().await.unwrap()["reboot_policy"],
            "if-required"
        );
        let r = post_api(
            "/api/v1/patches/approvals",
            json!({"ring_id": canary["id"], "packages": ["--allow-downgrades"]}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // The page: the ring form's select, the approval form's choice, refused words.
        add_user(&app, "rita", Role::Operator).await;
        let http = browser();
        login(&app, &http, "rita", PASSWORD).await;
        let page = || {
            let url = app.url("/patches/rollout");
            let http = http.clone();
            async move { http.get(url).send().await.unwrap().text().await.unwrap() }
        };
        let seen = page().await;
        assert!(
            seen.contains("<td>if-required</td>"),
            "pilot's policy is shown"
        );
        let csrf = csrf_token_in(&seen);
        let post = |path: String, form: Vec<(&'static str, String)>| {
            let url = app.url(&path);
            let http = http.clone();
            async move { http.post(url).form(&form).send().await.unwrap() }
        };
        let ring_form = |policy: &str| {
            vec![
                ("csrf_token", csrf.clone()),
                ("name", "pilot".to_string()),
                ("position", "2".to_string()),
                ("rrule", "FREQ=WEEKLY;BYDAY=WE".to_string()),
                ("start", "2026-01-07T03:30".to_string()),
                ("timezone", "UTC".to_string()),
                ("minutes", "90".to_string()),
                ("soak_hours", "6".to_string()),
                ("reboot_policy", policy.to_string()),
            ]
        };
        let r = post(
            format!("/patches/rollout/rings/{pilot_id}"),
            ring_form("sometimes"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("reboot policy"));
        let r = post(
            format!("/patches/rollout/rings/{pilot_id}"),
            ring_form("never"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let rings = app.state.patches.list_rings().await.unwrap();
        let changed = rings.iter().find(|r| r.id == pilot_id).unwrap();
        assert_eq!(
            changed.reboot_policy,
            opsward_patches::reboot::RebootPolicy::Never
        );
        let approve = |policy: &str| {
            vec![
                ("csrf_token", csrf.clone()),
                ("ring_id", pilot_id.to_string()),
                ("packages", "bash".to_string()),
                ("reboot_policy", policy.to_string()),
            ]
        };
        let r = post("/patches/rollout/approve".into(), approve("maybe")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            post("/patches/rollout/approve".into(), approve("if-required"))
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            post("/patches/rollout/approve".into(), approve(""))
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
        let approvals = app.state.patches.list_approvals().await.unwrap();
        let policies: Vec<_> = approvals
            .iter()
            .filter(|a| a.ring_id == pilot_id)
            .map(|a| a.reboot_policy.map(|p| p.to_string()))
            .collect();
        assert_eq!(policies, [None, Some("if-required".to_string())]);

        // Every change is audited with the policy.
        let audit = app
            .db
            .store
            .list_audit(&AuditFilter::default(), PageRequest::first(100))
            .await
            .unwrap();
        assert!(audit.items.iter().any(|a| a.action == "update"
            && a.actor == "user:rita"
            && a.before.as_ref().unwrap()["reboot_policy"] == "if-required"
            && a.after.as_ref().unwrap()["reboot_policy"] == "never"));
        assert!(audit.items.iter().any(|a| a.action == "approve"
            && a.actor == "user:rita"
            && a.after.as_ref().unwrap()["reboot_policy"] == "if-required"));
        app.stop().await;
    }
);
