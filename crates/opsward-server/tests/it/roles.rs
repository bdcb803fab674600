//! Walk the whole route table for every role and for anonymous callers: each route answers
//! 401 (API) or a redirect to sign-in (UI) without credentials, 403 below its role, and
//! succeeds (2xx, or a redirect that is not to sign-in) at or above it.

use crate::{both_backends, client, TestApp};
use opsward_core::{
    people::{PersonInput, TeamInput},
    user::{NewApiToken, NewUser},
    Actor, Role,
};
use opsward_server::{
    auth::{secret, Access},
    routes::{route_table, RouteSpec},
};
use reqwest::{header, Method, StatusCode};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

enum Body {
    None,
    Multipart,
    Json(serde_json::Value),
    Form(Vec<(&'static str, String)>),
    Csv(String),
    /// A feed file for `POST /vulns/imports`: the feed's name and the file.
    FeedFile(&'static str, &'static str, Vec<u8>),
    /// A JSON body sent with an agent's host credential.
    Host(String, serde_json::Value),
}

/// A concrete, valid request for a route, creating whatever it acts on.
async fn prepare(app: &TestApp, spec: &RouteSpec, caller_id: i64) -> (String, Body) {
    let store = &app.db.store;
    let actor = Actor::system("test");
    let mut path = spec.path.to_string();
    if path.contains("{id}") {
        let id = if path.contains("/assets/") {
            store
                .create_asset(&actor, &opsward_testkit::asset_input(&unique("asset")))
                .await
                .unwrap()
                .id
        } else if path.contains("/teams/") {
            store
                .create_team(
                    &actor,
                    &TeamInput {
                        name: unique("team"),
                        email: None,
                    },
                )
                .await
                .unwrap()
                .id
        } else if path.contains("/people/") {
            let name = unique("person");
            store
                .create_person(
                    &actor,
                    &PersonInput {
                        email: format!("{name}@example.com"),
                        name,
                        team_id: None,
                    },
                )
                .await
                .unwrap()
                .id
        } else if path.contains("/users/") {
            let username = unique("user");
            let user = NewUser {
                display_name: username.clone(),
                username,
                email: None,
                role: Role::Viewer,
                password_hash: "x".into(),
            };
            store.create_user(&actor, &user).await.unwrap().id
        } else if path.contains("/channels/") {
            test_channel(app).await
        } else if path.contains("/rules/") {
            let channel = test_channel(app).await;
            let rule = opsward_ops::notifications::RuleInput {
                name: unique("rule"),
                channel_id: channel,
                events: vec![],
                practice: None,
                min_severity: opsward_notify::Severity::Info,
                owner_team_id: None,
                owner_person_id: None,
                digest: false,
                quiet_hours: None,
                enabled: true,
            };
            app.state
                .notifier
                .create_rule(&actor, Some(caller_id), &rule)
                .await
                .unwrap()
                .id
        } else if path.contains("/customers/") {
            customer(app).await
        } else if path.contains("/review-actions/") {
            review_action(app).await
        } else if path.contains("/backlog/attachments/") {
            backlog_attachment(app).await
        } else if path.contains("/backlog/filters/") {
            let input = opsward_backlog::filters::SavedFilterInput {
                name: unique("filter"),
                shared: false,
                filter: opsward_backlog::ItemFilter::default(),
            };
            opsward_backlog::filters::SavedFilters::new(app.db.store.as_ref())
                .save(&actor, Some(caller_id), &input)
                .await
                .unwrap()
                .id
        } else if path.contains("/backlog/") {
            let input = serde_json::from_value(
                serde_json::json!({"item_type": "problem", "title": unique("item")}),
            )
            .unwrap();
            app.state
                .backlog
                .create_item(&actor, &input)
                .await
                .unwrap()
                .id
        } else if path.contains("/activities/") {
            app.state
                .ops
                .create_activity(&actor, &activity_input(&unique("activity")))
                .await
                .unwrap()
                .id
        } else if path.contains("/evidence/") {
            evidence_with_file(app).await.0
        } else if path.contains("/attachments/") {
            evidence_with_file(app).await.1
        } else if path.contains("feeds/") {
            let secret = secret::random_secret();
            app.state
                .ops
                .create_feed(
                    &actor,
                    caller_id,
                    None,
                    "matrix",
                    &secret::hash_secret(&secret),
                )
                .await
                .unwrap()
                .id
        } else if path.contains("/tokens/") {
            let secret = secret::new_api_token();
            let token = NewApiToken {
                user_id: caller_id,
                name: "victim".into(),
                prefix: "ow_".into(),
                token_hash: secret::hash_secret(&secret),
                expires_at: None,
            };
            store.create_api_token(&actor, &token).await.unwrap().id
        } else if path.contains("/contracts/documents/") {
            crate::suppliers::fixture_document(app).await
        } else if path.contains("/contracts/") {
            crate::suppliers::fixture_contract(app).await
        } else if path.contains("/supplier-reviews/actions/") {
            crate::suppliers::fixture_review(app).await.1
        } else if path.contains("/supplier-reviews/") {
            crate::suppliers::fixture_review(app).await.0
        } else if path.contains("/suppliers/") {
            crate::suppliers::fixture_supplier(app).await
        } else if path.contains("/port-policies/") || path.contains("/vulns/policy/") {
            crate::vuln_checks::fixture_port_policy(app, &unique("tag")).await
        } else if path.contains("/vulns/findings/") {
            crate::vulns::fixture_finding(app).await
        } else if path.contains("/resilience/") {
            crate::resilience::fixture_measure(app).await
        } else if path.contains("/patches/enrollment-tokens/")
            || path.contains("/patches/enrollment/")
        {
            crate::patches::fixture_enrollment_token(app).await.0
        } else if path.contains("/rings/") {
            crate::patches::fixture_ring(app).await
        } else if path.contains("/patches/hosts/") {
            crate::patches::fixture_host(app).await.0
        } else if path.contains("/certificates/") {
            crate::certs::fixture_certificate(app).await
        } else {
            panic!("no fixture for {}", spec.path)
        };
        path = path.replace("{id}", &id.to_string());
    }
    path = path.replace("{practice}", "certificates");
    if path.contains("{token}") {
        path = path.replace("{token}", &survey_token(app).await);
    }
    if spec.method == Method::DELETE && spec.path == "/api/v1/suppliers/{id}/links" {
        let supplier = path.split('/').nth(4).unwrap().parse::<i64>().unwrap();
        let item = crate::suppliers::fixture_item(app).await;
        let link = opsward_suppliers::LinkInput {
            item_id: item,
            relation: opsward_suppliers::LinkRelation::CausedBy,
        };
        app.state
            .suppliers
            .link_item(&actor, supplier, &link)
            .await
            .unwrap();
        path = format!("{path}?item_id={item}&relation=caused_by");
    }
    if path.contains("{file}") {
        let token = secret::random_secret();
        app.state
            .ops
            .create_feed(
                &actor,
                caller_id,
                None,
                "matrix",
                &secret::hash_secret(&token),
            )
            .await
            .unwrap();
        path = path.replace("{file}", &format!("{token}.ics"));
    }
    let name = unique("new");
    let body = match (spec.method.as_str(), spec.path) {
        ("POST" | "PUT", "/api/v1/assets" | "/api/v1/assets/{id}") => {
            Body::Json(serde_json::json!({"name": name, "kind": "host"}))
        }
        ("POST", "/api/v1/assets/import") => Body::Csv(format!("name,kind\n{name},service\n")),
        ("POST" | "PUT", "/api/v1/teams" | "/api/v1/teams/{id}") => {
            Body::Json(serde_json::json!({"name": name}))
        }
        ("POST" | "PUT", "/api/v1/people" | "/api/v1/people/{id}") => {
            Body::Json(serde_json::json!({"name": name, "email": format!("{name}@example.com")}))
        }
        ("POST", "/api/v1/users") => Body::Json(
            serde_json::json!({"username": name, "role": "viewer", "password": "a long enough password"}),
        ),
        ("PATCH", "/api/v1/users/{id}") => {
            Body::Json(serde_json::json!({"display_name": "Renamed"}))
        }
        ("POST", "/api/v1/tokens") => Body::Json(serde_json::json!({"name": "ci"})),
        ("POST" | "PUT", "/api/v1/activities" | "/api/v1/activities/{id}") => Body::Json(
            serde_json::json!({"title": name, "practice": "general", "starts_local": "2026-01-05T09:00:00", "rrule": "FREQ=WEEKLY"}),
        ),
        ("POST", "/api/v1/backlog/items") => {
            Body::Json(serde_json::json!({"item_type": "risk", "title": name}))
        }
        ("PATCH", "/api/v1/backlog/items/{id}") => {
            Body::Json(serde_json::json!({"state": "triaged", "urgency": 1}))
        }
        ("POST", "/api/v1/backlog/items/{id}/comments") => {
            Body::Json(serde_json::json!({"body": "seen it again"}))
        }
        ("POST", "/api/v1/backlog/items/bulk") => Body::Json(serde_json::json!({
            "ids": [backlog_item(app).await], "patch": {"urgency": 1}
        })),
        ("POST", "/api/v1/backlog/import") => Body::Json(serde_json::json!({
            "format": "csv", "data": format!("title,item_type\n{name},risk\n")
        })),
        // Runs every enabled source on an empty database: nothing to open, 200.
        ("POST", "/api/v1/backlog/auto-items/run") => Body::None,
        ("PUT", "/api/v1/backlog/sla/policy") => {
            Body::Json(serde_json::to_value(opsward_backlog::sla::SlaPolicy::default()).unwrap())
        }
        ("POST" | "PUT", "/api/v1/customers" | "/api/v1/customers/{id}") => {
            Body::Json(serde_json::json!({"name": name}))
        }
        ("POST", "/api/v1/customers/{id}/contacts") => {
            Body::Json(serde_json::json!({"name": name, "email": format!("{name}@example.com")}))
        }
        ("POST", "/api/v1/customers/{id}/items") => {
            Body::Json(serde_json::json!({"item_id": backlog_item(app).await}))
        }
        ("PUT", "/api/v1/customers/{id}/review-schedule") => Body::Json(
            serde_json::json!({"rrule": "FREQ=MONTHLY;INTERVAL=3", "starts_local": "2026-01-05T10:00:00"}),
        ),
        ("POST", "/api/v1/customers/{id}/reviews") => Body::Json(
            serde_json::json!({"period_start": "2026-01-01", "period_end": "2026-03-31", "held_on": "2026-04-02", "actions": [{"title": "follow up"}]}),
        ),
        ("PUT", "/api/v1/review-actions/{id}") => Body::Json(serde_json::json!({"done": true})),
        ("POST", "/api/v1/surveys/answer") => {
            Body::Json(serde_json::json!({"token": survey_token(app).await, "score": 4}))
        }
        ("PUT", "/api/v1/surveys/settings") => Body::Json(serde_json::json!({
            "channel_id": null, "base_url": "http://127.0.0.1:8080", "csat_delay_minutes": 60,
            "sampling_percent": 100, "throttle_days": 30, "link_valid_days": 14,
            "nps_interval_days": 0, "sampling_seed": "matrix"
        })),
        ("POST", "/customers") => Body::Form(vec![("name", name)]),
        ("POST", "/customers/{id}/edit") => {
            Body::Form(vec![("name", name), ("asset_ids", String::new())])
        }
        ("POST", "/customers/settings") => Body::Form(vec![
            ("base_url", "http://127.0.0.1:8080".into()),
            ("csat_delay_minutes", "60".into()),
            ("sampling_percent", "100".into()),
            ("throttle_days", "30".into()),
            ("link_valid_days", "14".into()),
            ("nps_interval_days", "0".into()),
            ("sampling_seed", "matrix".into()),
        ]),
        ("POST", "/customers/{id}/contacts") => Body::Form(vec![
            ("email", format!("{name}@example.com")),
            ("name", name),
        ]),
        ("POST", "/customers/{id}/items") => {
            Body::Form(vec![("item_id", backlog_item(app).await.to_string())])
        }
        ("POST", "/customers/{id}/review-schedule") => Body::Form(vec![
            ("rrule", "FREQ=MONTHLY;INTERVAL=3".into()),
            ("starts_local", "2026-01-05T10:00".into()),
        ]),
        ("POST", "/customers/{id}/reviews") => Body::Form(vec![
            ("period_start", "2026-01-01".into()),
            ("period_end", "2026-03-31".into()),
            ("held_on", "2026-04-02".into()),
        ]),
        ("POST", "/review-actions/{id}") => Body::Form(vec![("done", "true".into())]),
        ("POST", "/survey/{token}") => Body::Form(vec![("score", "4".into())]),
        ("POST", "/backlog") => Body::Form(vec![
            ("item_type", "incident".into()),
            ("title", name),
            ("impact", "2".into()),
            ("urgency", "1".into()),
        ]),
        ("POST", "/backlog/{id}/state") => Body::Form(vec![("state", "triaged".into())]),
        ("POST", "/backlog/{id}/comments") => Body::Form(vec![("body", "seen again".into())]),
        ("POST", "/backlog/board/{id}") => Body::Form(vec![("state", "triaged".into())]),
        ("POST", "/backlog/{id}/edit") => Body::Form(vec![
            ("title", name),
            ("item_type", "problem".into()),
            ("impact", "2".into()),
            ("urgency", "2".into()),
        ]),
        ("POST", "/api/v1/activities/{id}/complete") => {
            Body::Json(serde_json::json!({"result": "passed"}))
        }
        ("POST", "/api/v1/notifications/channels") => Body::Json(
            serde_json::json!({"name": name, "settings": {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s"}}),
        ),
        ("PATCH", "/api/v1/notifications/channels/{id}") => {
            Body::Json(serde_json::json!({"enabled": false}))
        }
        ("POST", "/api/v1/notifications/rules") => {
            Body::Json(serde_json::json!({"name": name, "channel_id": test_channel(app).await}))
        }
        ("POST", "/api/v1/notifications/snooze") => {
            Body::Json(serde_json::json!({"dedupe_key": "k", "until": "2030-01-01T00:00:00Z"}))
        }
        ("POST", "/admin/notifications/channels") => Body::Form(vec![
            ("name", name),
            ("kind", "slack".into()),
            ("webhook_url", "http://127.0.0.1:9/slack".into()),
        ]),
        ("POST", "/admin/notifications/rules") => Body::Form(vec![
            ("name", name),
            ("channel_id", test_channel(app).await.to_string()),
        ]),
        ("POST", "/admin/notifications/snooze") => Body::Form(vec![("dedupe_key", "k".into())]),
        ("POST", "/notifications/rules") => Body::Form(vec![
            ("name", name),
            ("channel_id", test_channel(app).await.to_string()),
        ]),
        ("POST", "/api/v1/ical-feeds") => Body::Json(serde_json::json!({"name": name})),
        ("POST", "/api/v1/evidence") => Body::Json(
            serde_json::json!({"practice": "resilience", "title": name, "result": "failed"}),
        ),
        ("POST", "/calendar/activities" | "/calendar/activities/{id}") => Body::Form(vec![
            ("title", name),
            ("practice", "patches".into()),
            ("starts_local", "2026-01-05T09:00".into()),
            ("timezone", "Europe/Berlin".into()),
            ("rrule", "FREQ=MONTHLY;BYDAY=2WE".into()),
            ("duration_minutes", "60".into()),
            ("active", "true".into()),
        ]),
        ("POST", "/calendar/activities/{id}/complete" | "/contracts/{id}/documents") => {
            Body::Multipart
        }
        ("POST", "/calendar/feeds") => Body::Form(vec![("name", name)]),
        ("POST", "/assets" | "/assets/{id}") => Body::Form(vec![
            ("name", name),
            ("kind", "host".into()),
            ("environment", "production".into()),
            ("criticality", "high".into()),
        ]),
        ("POST", "/assets/import") => {
            Body::Form(vec![("csv", format!("name,kind\n{name},host\n"))])
        }
        ("POST", "/teams") => Body::Form(vec![("name", name)]),
        ("POST", "/people") => Body::Form(vec![
            ("email", format!("{name}@example.com")),
            ("name", name),
        ]),
        ("POST", "/tokens") => Body::Form(vec![("name", name)]),
        ("POST", "/admin/users") => Body::Form(vec![
            ("username", name),
            ("role", "viewer".into()),
            ("password", "a long enough password".into()),
        ]),
        ("POST", "/admin/users/{id}") => Body::Form(vec![
            ("role", "operator".into()),
            ("status", "active".into()),
        ]),
        ("POST" | "PUT", "/api/v1/suppliers" | "/api/v1/suppliers/{id}") => {
            Body::Json(serde_json::json!({"name": name, "criticality": "high"}))
        }
        ("POST", "/api/v1/suppliers/{id}/links") => Body::Json(
            serde_json::json!({"item_id": crate::suppliers::fixture_item(app).await, "relation": "waiting_on"}),
        ),
        ("POST" | "PUT", "/api/v1/contracts" | "/api/v1/contracts/{id}") => Body::Json(
            crate::suppliers::contract_json(crate::suppliers::fixture_supplier(app).await),
        ),
        ("POST", "/api/v1/contracts/{id}/decisions") => {
            Body::Json(serde_json::json!({"decision": "renegotiate"}))
        }
        ("POST", "/api/v1/contracts/{id}/documents") => Body::Multipart,
        ("POST", "/api/v1/supplier-reviews") => Body::Json(serde_json::json!({
            "supplier_id": crate::suppliers::fixture_supplier(app).await, "review_date": "2026-01-15",
            "outcome": "satisfactory", "scores": crate::suppliers::scores_json()})),
        ("PUT", "/api/v1/supplier-reviews/criteria") => {
            Body::Json(serde_json::to_value(app.state.suppliers.criteria().await.unwrap()).unwrap())
        }
        ("POST", "/api/v1/supplier-reviews/{id}/actions") => {
            Body::Json(serde_json::json!({"title": "call them"}))
        }
        ("PATCH", "/api/v1/supplier-reviews/actions/{id}") => {
            Body::Json(serde_json::json!({"done": true}))
        }
        ("POST", "/suppliers") => Body::Form(vec![("name", name), ("criticality", "low".into())]),
        ("POST", "/suppliers/{id}/edit") => {
            Body::Form(vec![("name", name), ("criticality", "high".into())])
        }
        ("POST", "/suppliers/{id}/links") => Body::Form(vec![
            (
                "item_id",
                crate::suppliers::fixture_item(app).await.to_string(),
            ),
            ("relation", "waiting_on".into()),
        ]),
        ("POST" | "PUT", "/api/v1/resilience/measures" | "/api/v1/resilience/measures/{id}") => {
            Body::Json(crate::resilience::measure_json(
                crate::resilience::fixture_asset(app).await,
                &name,
                1,
            ))
        }
        ("POST", "/api/v1/resilience/measures/{id}/results") => {
            Body::Json(serde_json::json!({"result": "passed"}))
        }
        ("POST", "/resilience" | "/resilience/{id}") => Body::Form(vec![
            (
                "asset_id",
                crate::resilience::fixture_asset(app).await.to_string(),
            ),
            ("kind", "raid".into()),
            ("title", name),
            ("rrule", "FREQ=MONTHLY".into()),
            ("starts_local", "2026-01-05T10:00".into()),
            ("timezone", "UTC".into()),
            ("duration_minutes", "60".into()),
        ]),
        ("POST", "/resilience/{id}/results") => Body::Form(vec![("result", "passed".into())]),
        ("POST", "/api/v1/vulns/findings/{id}/transitions") => {
            Body::Json(serde_json::json!({"action": "acknowledge"}))
        }
        ("POST", "/vulns/findings/{id}") => Body::Form(vec![("action", "acknowledge".into())]),
        ("POST", "/api/v1/certificates/scans") => Body::Json(crate::certs::upload_json(&name, 100)),
        ("PUT", "/api/v1/certificates/{id}/owner") => Body::Json(serde_json::json!({})),
        ("PUT", "/api/v1/certificates/{id}/renewal") => {
            Body::Json(serde_json::json!({"status": "in_progress"}))
        }
        ("PUT", "/api/v1/certificates/settings") => Body::Json(
            serde_json::json!({"thresholds": [30, 14, 7, 1], "rescan_interval_minutes": 1440}),
        ),
        ("PUT", "/api/v1/certificates/assets/{id}") => Body::Json(
            serde_json::json!({"hostname": "roles.example.test", "ports": [443], "thresholds": [60, 7]}),
        ),
        ("PUT", "/api/v1/certificates/tag-thresholds") => {
            Body::Json(serde_json::json!({"tag": name, "thresholds": [45]}))
        }
        // Port 1 on loopback refuses at once: the scan is stored with its error.
        ("POST", "/api/v1/certificates/scan-requests") => {
            Body::Json(serde_json::json!({"targets": ["127.0.0.1:1"]}))
        }
        ("POST", "/certificates/assets/{id}") => Body::Form(vec![
            ("hostname", "roles.example.test".into()),
            ("ports", "443".into()),
            ("thresholds", "60,7".into()),
        ]),
        ("POST", "/certificates/tag-thresholds") => {
            Body::Form(vec![("tag", name), ("thresholds", "45".into())])
        }
        ("POST", "/certificates/{id}/renewal") => {
            Body::Form(vec![("status", "in_progress".into())])
        }
        ("POST", "/suppliers/{id}/contracts") => Body::Form(vec![
            ("title", name),
            ("start_date", "2025-01-01".into()),
            ("end_date", "2026-12-31".into()),
            ("notice_amount", "3".into()),
            ("notice_unit", "months".into()),
            ("renewal_type", "automatic".into()),
        ]),
        ("POST", "/suppliers/{id}/reviews") => Body::Form(vec![
            ("review_date", "2026-01-15".into()),
            ("outcome", "satisfactory".into()),
            ("score_quality", "4".into()),
            ("score_delivery", "3".into()),
            ("score_responsiveness", "4".into()),
            ("score_cost", "2".into()),
            ("score_security", "5".into()),
        ]),
        ("POST", "/contracts/{id}/decisions") => Body::Form(vec![("decision", "renew".into())]),
        ("POST", "/supplier-reviews/actions/{id}/done") => {
            Body::Form(vec![("done", "true".into())])
        }
        ("POST", "/api/v1/patches/enroll") => Body::Json(serde_json::json!({
            "token": crate::patches::fixture_enrollment_token(app).await.1, "hostname": name})),
        ("POST", "/api/v1/patches/reports") => Body::Host(
            crate::patches::fixture_host(app).await.1,
            serde_json::to_value(crate::patches::report(1, vec![], vec![])).unwrap(),
        ),
        ("POST", "/api/v1/patches/rings") => {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            Body::Json(crate::patches::ring_json(
                &unique("ring"),
                100_000 + i64::from(n),
            ))
        }
        ("PUT", "/api/v1/patches/rings/{id}") => {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            Body::Json(crate::patches::ring_json(
                &unique("ring"),
                200_000 + i64::from(n),
            ))
        }
        ("POST", "/patches/rollout/rings" | "/patches/rollout/rings/{id}") => {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            Body::Form(vec![
                ("name", unique("ring")),
                ("position", (300_000 + i64::from(n)).to_string()),
                ("rrule", "FREQ=DAILY".into()),
                ("start", "2026-01-01T00:00".into()),
                ("timezone", "UTC".into()),
                ("minutes", "60".into()),
                ("soak_hours", "0".into()),
            ])
        }
        ("POST", "/patches/rollout/assign") => {
            let (host, _) = crate::patches::fixture_host(app).await;
            let hostname = app
                .state
                .patches
                .host_detail(host, chrono::Utc::now())
                .await
                .unwrap()
                .summary
                .host
                .hostname;
            Body::Form(vec![
                (
                    "ring_id",
                    crate::patches::fixture_ring(app).await.to_string(),
                ),
                ("hosts", hostname),
            ])
        }
        ("PUT", "/api/v1/patches/hosts/{id}/ring") => Body::Json(serde_json::json!({
            "ring_id": crate::patches::fixture_ring(app).await})),
        ("POST", "/patches/rollout/approve") => Body::Form(vec![
            (
                "ring_id",
                crate::patches::fixture_ring(app).await.to_string(),
            ),
            ("packages", "openssl curl".into()),
        ]),
        ("POST", "/api/v1/patches/approvals") => Body::Json(serde_json::json!({
            "ring_id": crate::patches::fixture_ring(app).await, "packages": ["openssl"]})),
        ("GET", "/api/v1/patches/agent/instructions") => Body::Host(
            crate::patches::fixture_host(app).await.1,
            serde_json::Value::Null,
        ),
        ("POST", "/api/v1/patches/agent/runs") => {
            let (credential, approval) = crate::patches::fixture_approval(app).await;
            Body::Host(
                credential,
                serde_json::json!({"approval_id": approval, "run": crate::patches::run_json(true)}),
            )
        }
        ("POST", "/patches/enrollment") => Body::Form(vec![("name", name)]),
        // A closed port: the scan is recorded with its error, quickly.
        ("POST", "/certificates/scans") => Body::Form(vec![("targets", "127.0.0.1:9".into())]),
        ("POST", "/vulns/imports" | "/api/v1/vulns/imports") => Body::FeedFile(
            "epss",
            "epss.csv",
            b"cve,epss,percentile\nCVE-2024-0001,0.5,0.9\n".to_vec(),
        ),
        ("POST", "/api/v1/patches/enrollment-tokens") => {
            Body::Json(serde_json::json!({"name": name}))
        }
        // Empty: every sign-in setting as the file has it.
        ("PUT", "/api/v1/admin/sign-in") => Body::Json(serde_json::json!({})),
        ("PUT", "/api/v1/patches/policy") => Body::Json(serde_json::json!({
            "critical_days": 7, "high_days": 14, "other_security_days": 30, "non_security_months": 1})),
        ("PUT", "/api/v1/vulns/settings" | "/api/v1/vulns/due-policy") => {
            Body::Json(serde_json::json!({}))
        }
        ("POST", "/vulns/policy/due") => Body::Form(vec![
            ("critical_days", "7".into()),
            ("high_days", "30".into()),
            ("medium_days", "90".into()),
            ("low_days", "180".into()),
            ("epss_threshold", "0.1".into()),
            ("kev", "catalog".into()),
        ]),
        ("PUT", "/api/v1/vulns/port-policies") => {
            Body::Json(serde_json::json!({"tag": name, "allowed": "22,443"}))
        }
        ("POST", "/api/v1/vulns/assets/{id}/exposure") => {
            Body::Json(serde_json::json!({"scanned": "1-10", "open": []}))
        }
        ("POST", "/api/v1/vulns/scans") => {
            let asset = store
                .create_asset(&actor, &opsward_testkit::asset_input(&unique("asset")))
                .await
                .unwrap();
            Body::Json(serde_json::json!({
                "asset": asset.name,
                "filename": "Cargo.lock",
                "content": "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
            }))
        }
        ("POST", "/vulns/policy") => Body::Form(vec![("tag", name), ("allowed", "22".into())]),
        ("POST", "/assets/{id}/port-policy") => Body::Form(vec![("allowed", "22,443".into())]),
        ("POST", "/api/v1/backlog/items/{id}/attachments" | "/backlog/{id}/attachments") => {
            Body::Multipart
        }
        ("POST", "/api/v1/backlog/filters") => {
            Body::Json(serde_json::json!({"name": name, "filter": {"state": "new"}}))
        }
        ("POST", "/backlog/filters") => Body::Form(vec![("name", name)]),
        ("POST", "/backlog/bulk") => Body::Form(vec![
            ("item", format!("{}:1", backlog_item(app).await)),
            ("urgency", "1".into()),
        ]),
        ("POST", "/api/v1/backlog/review") => {
            review_activity(app).await;
            Body::Json(serde_json::json!({"decisions": [
                {"item_id": backlog_item(app).await, "decision": "keep"}]}))
        }
        ("POST", "/backlog/review") => {
            review_activity(app).await;
            let key: &'static str =
                Box::leak(format!("decision_{}", backlog_item(app).await).into_boxed_str());
            Body::Form(vec![(key, "keep".into())])
        }
        ("POST", _) => Body::Form(vec![]),
        _ => Body::None,
    };
    (path, body)
}

fn activity_input(title: &str) -> opsward_ops::ActivityInput {
    opsward_ops::ActivityInput {
        title: title.into(),
        practice: opsward_core::practice::Practice::Resilience,
        template: None,
        description: String::new(),
        rrule: "FREQ=WEEKLY;BYDAY=TU".into(),
        starts_local: chrono::NaiveDate::from_ymd_opt(2026, 1, 6)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap(),
        timezone: "UTC".into(),
        duration_minutes: 30,
        owner_team_id: None,
        owner_person_id: None,
        asset_id: None,
        active: true,
    }
}

async fn backlog_item(app: &TestApp) -> i64 {
    let input = serde_json::from_value(
        serde_json::json!({"item_type": "incident", "title": unique("item")}),
    )
    .unwrap();
    app.state
        .backlog
        .create_item(&Actor::system("test"), &input)
        .await
        .unwrap()
        .id
}

async fn customer(app: &TestApp) -> i64 {
    let input = serde_json::from_value(serde_json::json!({"name": unique("customer")})).unwrap();
    app.state
        .customers
        .create_customer(&Actor::system("test"), &input)
        .await
        .unwrap()
        .id
}

/// An open action from a recorded review.
async fn review_action(app: &TestApp) -> i64 {
    let input = serde_json::from_value(serde_json::json!({
        "period_start": "2026-01-01", "period_end": "2026-03-31", "held_on": "2026-04-02",
        "actions": [{"title": "send the quote"}]
    }))
    .unwrap();
    let review = app
        .state
        .customers
        .create_review(&Actor::system("test"), customer(app).await, &input, None)
        .await
        .unwrap();
    review.actions[0].id
}

/// The token of a fresh survey waiting for its answer.
async fn survey_token(app: &TestApp) -> String {
    let customers = &app.state.customers;
    let customer_id = customer(app).await;
    let expires_at = chrono::Utc::now() + chrono::Duration::days(7);
    let decision = opsward_customers::survey_store::SurveyDecision {
        kind: opsward_customers::SurveyKind::Csat,
        customer_id,
        contact_id: None,
        item_id: None,
        skip_reason: None,
        expires_at: Some(expires_at),
    };
    let survey = customers
        .record_survey(&decision, None, chrono::Utc::now())
        .await
        .unwrap();
    let (_, key) = customers.settings().await.unwrap();
    opsward_customers::link::sign(&key, survey.id, expires_at)
}

/// A webhook channel aimed at a closed port: sending to it fails at once.
async fn test_channel(app: &TestApp) -> i64 {
    let config = opsward_notify::ChannelConfig::Webhook(opsward_notify::WebhookConfig {
        url: "http://127.0.0.1:9/hook".into(),
        secret: "s".into(),
        timeout_secs: 2,
    });
    app.state
        .notifier
        .create_channel(&Actor::system("test"), &unique("channel"), &config)
        .await
        .unwrap()
        .id
}

/// Evidence from an automated run with one stored file: (evidence id, attachment id).
/// A file on a new backlog item, its bytes in the attachment store.
async fn backlog_attachment(app: &TestApp) -> i64 {
    let sha256 = app
        .state
        .attachments
        .save(b"trace of the outage")
        .await
        .unwrap();
    let file = opsward_backlog::files::NewItemAttachment {
        filename: "trace.txt".into(),
        content_type: "text/plain".into(),
        size_bytes: 19,
        sha256,
    };
    opsward_backlog::files::ItemFiles::new(app.db.store.as_ref())
        .add(&Actor::system("test"), backlog_item(app).await, &file)
        .await
        .unwrap()
        .id
}

/// The backlog review activity the review routes record evidence on.
async fn review_activity(app: &TestApp) {
    let mut input = activity_input(&unique("review"));
    input.practice = opsward_core::practice::Practice::Backlog;
    input.template = Some("backlog-review".into());
    app.state
        .ops
        .create_activity(&Actor::system("test"), &input)
        .await
        .unwrap();
}

async fn evidence_with_file(app: &TestApp) -> (i64, i64) {
    let sha256 = app
        .state
        .attachments
        .save(b"backup restored")
        .await
        .unwrap();
    let file = opsward_ops::store::NewAttachment {
        filename: "restore.log".into(),
        content_type: "text/plain".into(),
        size_bytes: 15,
        sha256,
    };
    let input = opsward_ops::EvidenceInput {
        occurrence_at: None,
        result: opsward_ops::EvidenceResult::Passed,
        notes: String::new(),
        links: vec![],
    };
    let e = app
        .state
        .ops
        .record_run(
            &Actor::system("test"),
            opsward_core::practice::Practice::Resilience,
            "restore test",
            &input,
            &[file],
        )
        .await
        .unwrap();
    (e.id, e.attachments[0].id)
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Allowed,
    Unauthenticated,
    Forbidden,
    Other(StatusCode),
}

async fn call(app: &TestApp, spec: &RouteSpec, token: Option<&str>, caller_id: i64) -> Outcome {
    let (path, body) = prepare(app, spec, caller_id).await;
    let method = Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
    let mut req = client().request(method, app.url(&path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req = match body {
        Body::None => req,
        Body::Json(v) => req.json(&v),
        Body::Form(f) => req.form(&f),
        Body::Csv(c) => req.header(header::CONTENT_TYPE, "text/csv").body(c),
        Body::Host(credential, serde_json::Value::Null) => req.header("X-Opsward-Host", credential),
        Body::Host(credential, v) => req.header("X-Opsward-Host", credential).json(&v),
        Body::FeedFile(feed, file, bytes) => {
            req.multipart(reqwest::multipart::Form::new().text("feed", feed).part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(file),
            ))
        }
        Body::Multipart => req.multipart(
            reqwest::multipart::Form::new()
                .text("result", "partial")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"log line".to_vec()).file_name("run.log"),
                ),
        ),
    };
    let response = req.send().await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match status {
        StatusCode::UNAUTHORIZED => Outcome::Unauthenticated,
        StatusCode::FORBIDDEN => Outcome::Forbidden,
        // The handler was reached: inbound email is simply not configured on this server.
        StatusCode::CONFLICT if spec.path == "/api/v1/backlog/inbound/run" => Outcome::Allowed,
        // The handler was reached: no advisories are imported on this server to match with.
        StatusCode::CONFLICT if spec.path == "/api/v1/vulns/scans" => Outcome::Allowed,
        // The handler was reached and judged the form: this server has no identity provider
        // in its file, so there is nothing an empty sign-in form could save.
        StatusCode::UNPROCESSABLE_ENTITY if spec.path == "/admin/sign-in" => Outcome::Allowed,
        s if s.is_redirection() && location.starts_with("/login") => Outcome::Unauthenticated,
        s if s.is_success() || s.is_redirection() => Outcome::Allowed,
        s => Outcome::Other(s),
    }
}

both_backends!(every_route_enforces_its_role, |app: TestApp| async move {
    let routes = route_table();
    assert!(routes.len() > 50, "the table lists every route");
    let mut callers = Vec::new();
    for role in Role::ALL {
        let (user, token) = app.user_with_token(&format!("matrix-{role}"), role).await;
        callers.push((Some(role), Some(token), user.id));
    }
    // Anonymous callers aim at the viewer's objects.
    callers.insert(0, (None, None, callers[0].2));
    let mut failures = Vec::new();
    for spec in &routes {
        // Signing in and out are exercised with real sessions in the auth tests.
        // The identity provider's sign-in legs, against a real provider in sso_oidc.
        if spec.path == "/login" && spec.method == Method::POST
            || spec.path == "/logout"
            || spec.path.starts_with("/auth/oidc/")
        {
            continue;
        }
        for (role, token, caller_id) in &callers {
            let expected = match (spec.access, role) {
                (Access::Public, _) => Outcome::Allowed,
                (Access::Role(_), None) => Outcome::Unauthenticated,
                (Access::Role(required), Some(role)) if role.allows(required) => Outcome::Allowed,
                (Access::Role(_), Some(_)) => Outcome::Forbidden,
            };
            let got = call(&app, spec, token.as_deref(), *caller_id).await;
            if got != expected {
                failures.push(format!(
                    "{} {} as {:?}: expected {expected:?}, got {got:?}",
                    spec.method, spec.path, role
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} route/role mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.stop().await;
});

/// The table itself follows the policy: administration is admin-only, changes need at
/// least operator, and only a known handful of routes is public.
#[test]
fn route_table_follows_the_access_policy() {
    const PUBLIC_ROUTES: &[&str] = &[
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/static/app.css",
        "/static/htmx.min.js",
        "/favicon.svg",
        "/ical/{file}",
        "/login",
        // Signing in through the identity provider starts and ends without a session.
        "/auth/oidc/start",
        "/auth/oidc/callback",
        // Customers answer surveys without an account: the signed link is the credential.
        "/survey/{token}",
        "/api/v1/surveys/answer",
        // Agents: the enrollment token, then the host credential, is the credential.
        "/api/v1/patches/enroll",
        "/api/v1/patches/reports",
        "/api/v1/patches/agent/instructions",
        "/api/v1/patches/agent/runs",
    ];
    for r in route_table() {
        let admin_only = r.path.starts_with("/admin/")
            || r.path.starts_with("/api/v1/users")
            || r.path == "/api/v1/audit"
            || r.path == "/api/v1/jobs"
            || r.path.contains("surveys/settings")
            || r.path == "/customers/settings";
        // Personal credentials: every signed-in user manages their own.
        let own_session_or_tokens = r.path.contains("tokens")
            || r.path.contains("feeds")
            || r.path.starts_with("/api/v1/notifications/rules")
            || r.path.starts_with("/notifications/rules")
            || r.path == "/logout"
            // Watching an item and keeping a private list filter are personal settings.
            || r.path.ends_with("/watchers/me")
            || r.path.ends_with("/watch")
            || r.path.ends_with("/unwatch")
            || r.path.starts_with("/api/v1/backlog/filters")
            || r.path.starts_with("/backlog/filters");
        match r.access {
            Access::Public => assert!(
                PUBLIC_ROUTES.contains(&r.path),
                "{} {} must not be public",
                r.method,
                r.path
            ),
            Access::Role(role) if admin_only => {
                assert_eq!(role, Role::Admin, "{} {}", r.method, r.path)
            }
            Access::Role(role) if r.method != Method::GET && !own_session_or_tokens => {
                assert!(
                    role >= Role::Operator,
                    "{} {} changes data and needs operator",
                    r.method,
                    r.path
                )
            }
            Access::Role(_) => {}
        }
    }
}
