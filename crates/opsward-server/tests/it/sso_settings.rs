//! Sign-in settings edited on `/admin/sign-in` and through `/api/v1/admin/sign-in`, against
//! a real directory (Debian's `slapd`, see `sso_ldap.rs`): the edit round trip (secrets never
//! echoed, audited, bad values refused with the form keeping them), a sign-in using a
//! mapping changed in the UI, and the periodic re-check ending the access of a user removed
//! from their group.

use crate::{auth, TestApp};
use opsward_core::{audit::AuditFilter, page::PageRequest, Actor, Role};
use opsward_server::{AppState, ServerConfig};
use opsward_sso::{
    ldap::LdapSettings, recheck::LdapRecheck, GroupMapping, Secret, SsoSettings, SsoStore,
};
use opsward_testkit::{
    csrf_token_in,
    ldap::{Directory, ROOT_DN, ROOT_PW},
    Backend, TestDb,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn file_settings(directory: &Directory) -> SsoSettings {
    SsoSettings {
        mapping: GroupMapping {
            groups: GroupMapping::parse_pairs("admins=admin, ops=operator").unwrap(),
            default_role: None,
        },
        ldap: Some(LdapSettings {
            url: directory.url(),
            starttls: true,
            ca_file: Some(directory.ca_file.clone()),
            // The service account searches (and re-checks) with a real password, which
            // must never come back on a page or in the API.
            bind_dn: Some(ROOT_DN.into()),
            bind_password_file: None,
            bind_password: Some(Secret::new(ROOT_PW)),
            search_base: "ou=people,dc=example,dc=org".into(),
            user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))".into(),
            group_attribute: "memberOf".into(),
            display_name_attribute: "cn".into(),
            email_attribute: "mail".into(),
            timeout_secs: 5,
        }),
        ..SsoSettings::default()
    }
}

async fn start(backend: Backend, directory: &Directory) -> TestApp {
    let config = ServerConfig {
        attachments_dir: std::env::temp_dir()
            .join(format!("opsward-sso-set-{}", std::process::id())),
        sso: file_settings(directory),
        public_url: Some("https://opsward.example.org".into()),
        ..ServerConfig::default()
    };
    let db = TestDb::new(backend).await;
    let state = AppState::new(db.store.clone(), config);
    TestApp::start_state(db, state).await
}

macro_rules! ldap_both_backends {
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

/// The page's form with every field as shown, `changes` applied, posted.
async fn post_form(
    app: &TestApp,
    admin: &reqwest::Client,
    changes: &[(&str, &str)],
) -> reqwest::Response {
    let page = admin
        .get(app.url("/admin/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut fields = form_fields(&page);
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        if !value.is_empty() || !name.starts_with("ldap_starttls") {
            fields.push((name.to_string(), value.to_string()));
        }
    }
    fields.push(("csrf_token".into(), csrf_token_in(&page)));
    admin
        .post(app.url("/admin/sign-in"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// The inputs and selects of the sign-in form as a browser would send them.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let marker = format!("{name}=\"");
        let start = tag.find(&marker)? + marker.len();
        Some(html_unescape(&tag[start..start + tag[start..].find('"')?]))
    };
    let mut fields = Vec::new();
    for chunk in html.split('<').skip(1) {
        let tag = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
        if tag.starts_with("input") {
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            if name == "csrf_token" {
                continue;
            }
            if tag.contains("type=\"checkbox\"") && !tag.contains(" checked") {
                continue;
            }
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        } else if tag.starts_with("select") {
            let name = attr(tag, "name").unwrap();
            let body = &html[html.find(tag).unwrap()..];
            let body = &body[..body.find("</select>").unwrap()];
            let selected = body
                .split("<option")
                .find(|o| o.contains(" selected"))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            fields.push((name, selected));
        }
    }
    fields
}

fn html_unescape(text: &str) -> String {
    text.replace("&#x7b;", "{")
        .replace("&#x7d;", "}")
        .replace("&#123;", "{")
        .replace("&#125;", "}")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<opsward_core::audit::AuditEntry> {
    let filter = AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    app.db
        .store
        .list_audit(&filter, PageRequest::first(50))
        .await
        .unwrap()
        .items
}

ldap_both_backends!(
    settings_edited_in_the_ui_and_the_api_never_echo_secrets_and_refuse_bad_values,
    |backend| async move {
        let directory = Directory::start();
        let app = start(backend, &directory).await;
        let admin = auth::signed_in(&app, "root-admin", Role::Admin).await;

        let page = admin.get(app.url("/admin/sign-in")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(page.contains("opsward.toml / environment"), "{page}");
        assert!(!page.contains(ROOT_PW), "the bind password is never shown");
        assert!(page.contains("Service account password: set"));

        // Add a row to the mapping and change the filter: saved, audited, shown as saved.
        let saved = post_form(
            &app,
            &admin,
            &[
                ("group_2", "readers"),
                ("role_2", "viewer"),
                (
                    "ldap_user_filter",
                    "(&(objectClass=person)(uid={username}))",
                ),
            ],
        )
        .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let page = admin
            .get(app.url("/admin/sign-in"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("saved here"), "{page}");
        assert!(page.contains("value=\"readers\""));
        let rows = audit_rows(&app, "update").await;
        let row = rows
            .iter()
            .find(|r| r.entity_type == "sign_in_settings")
            .expect("an audit row for the change");
        let after = row.after.as_ref().unwrap();
        assert_eq!(after["groups"]["readers"], "viewer");
        assert_eq!(
            after["ldap"],
            json!({"user_filter": "(&(objectClass=person)(uid={username}))"}),
            "only what differs from the file is saved"
        );
        assert!(!after.to_string().contains(ROOT_PW));

        // Clear-text LDAP to another host: refused, the form keeping what was typed.
        let refused = post_form(
            &app,
            &admin,
            &[
                ("ldap_url", "ldap://dir.example.org"),
                ("ldap_starttls", ""),
            ],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = refused.text().await.unwrap();
        assert!(text.contains("clear text"), "{text}");
        assert!(text.contains("value=\"ldap://dir.example.org\""));

        // The API: the same settings, the secret only as "set".
        let (_, token) = app.user_with_token("api-admin", Role::Admin).await;
        let got = app.get_json(&token, "/api/v1/admin/sign-in").await;
        assert_eq!(got["saved"]["groups"]["readers"], "viewer");
        assert_eq!(got["effective"]["mapping"]["groups"]["readers"], "viewer");
        assert_eq!(got["ldap_bind_password_set"], true);
        assert!(!got.to_string().contains(ROOT_PW));
        let put = |body: Value| {
            let url = app.url("/api/v1/admin/sign-in");
            let token = token.clone();
            async move {
                crate::client()
                    .put(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let http_issuer =
            put(json!({"oidc": {"issuer": "http://id.example.org", "client_id": "x"}})).await;
        assert_eq!(http_issuer.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(http_issuer.text().await.unwrap().contains("https"));
        let unknown = put(json!({"client_secret": "nope"})).await;
        assert!(unknown.status().is_client_error());
        let reset = put(json!({})).await;
        assert_eq!(reset.status(), StatusCode::OK);
        let body: Value = reset.json().await.unwrap();
        assert_eq!(body["saved"], json!({}));
        assert_eq!(
            body["effective"]["ldap"]["user_filter"],
            "(&(objectClass=inetOrgPerson)(uid={username}))"
        );

        let (_, operator) = app.user_with_token("op", Role::Operator).await;
        let forbidden = crate::client()
            .get(app.url("/api/v1/admin/sign-in"))
            .bearer_auth(operator)
            .send()
            .await
            .unwrap();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }
);

ldap_both_backends!(
    a_sign_in_after_the_mapping_changed_in_the_ui_uses_the_new_mapping,
    |backend| async move {
        let directory = Directory::start();
        let app = start(backend, &directory).await;
        let admin = auth::signed_in(&app, "root-admin", Role::Admin).await;
        let before = auth::login(&app, &auth::browser(), "alice", "alice-directory-password").await;
        assert_eq!(before.status(), StatusCode::SEE_OTHER);
        let role = |app: &TestApp| {
            let store = app.db.store.clone();
            async move {
                store
                    .user_credentials("alice")
                    .await
                    .unwrap()
                    .unwrap()
                    .0
                    .role
            }
        };
        assert_eq!(role(&app).await, Role::Operator);

        // Rows are in group order: admins (0), ops (1).
        let saved = post_form(&app, &admin, &[("group_1", "ops"), ("role_1", "admin")]).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let after = auth::login(&app, &auth::browser(), "alice", "alice-directory-password").await;
        assert_eq!(after.status(), StatusCode::SEE_OTHER);
        assert_eq!(role(&app).await, Role::Admin);

        // Removing the row: alice's groups no longer map and she is refused.
        let removed = post_form(&app, &admin, &[("role_1", "")]).await;
        assert_eq!(removed.status(), StatusCode::SEE_OTHER);
        let refused =
            auth::login(&app, &auth::browser(), "alice", "alice-directory-password").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }
);

ldap_both_backends!(
    the_recheck_ends_the_access_of_users_removed_from_their_group,
    |backend| async move {
        let directory = Directory::start();
        let app = start(backend, &directory).await;
        let alice = auth::browser();
        let ok = auth::login(&app, &alice, "alice", "alice-directory-password").await;
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        let bob = auth::browser();
        let ok = auth::login(&app, &bob, "bob", "bob-directory-password").await;
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        let store = &app.db.store;
        let alice_user = store.user_credentials("alice").await.unwrap().unwrap().0;
        let token = opsward_server::auth::secret::new_api_token();
        store
            .create_api_token(
                &Actor::system("test"),
                &opsward_core::user::NewApiToken {
                    user_id: alice_user.id,
                    name: "script".into(),
                    prefix: "ow_".into(),
                    token_hash: opsward_server::auth::secret::hash_secret(&token),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        let me = |token: String| {
            let url = app.url("/api/v1/me");
            async move {
                crate::client()
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(me(token.clone()).await, StatusCode::OK);

        let job = LdapRecheck {
            store: SsoStore::new(store.as_ref()),
            base: app.state.config.sso.clone(),
            public_url: None,
        };
        let unchanged = job.run_once().await.unwrap();
        assert_eq!(
            (unchanged.checked, unchanged.revoked, unchanged.role_changed),
            (2, 0, 0)
        );

        // An administrator takes alice out of ops and bob out of admins (dave, who never
        // signed in here, takes his place: a group of names cannot be empty).
        directory.modify(
            "dn: cn=ops,ou=groups,dc=example,dc=org\nchangetype: modify\ndelete: member\nmember: uid=alice,ou=people,dc=example,dc=org\n\n\
             dn: cn=admins,ou=groups,dc=example,dc=org\nchangetype: modify\nadd: member\nmember: uid=dave,ou=people,dc=example,dc=org\n-\ndelete: member\nmember: uid=bob,ou=people,dc=example,dc=org\n",
        );
        let report = job.run_once().await.unwrap();
        assert_eq!(
            (report.checked, report.revoked, report.role_changed),
            (2, 1, 1)
        );

        let page = alice.get(app.url("/assets")).send().await.unwrap();
        assert_ne!(page.status(), StatusCode::OK, "alice's session ended");
        assert_eq!(
            me(token).await,
            StatusCode::UNAUTHORIZED,
            "alice's token revoked"
        );
        assert_eq!(
            bob.get(app.url("/assets")).send().await.unwrap().status(),
            StatusCode::OK
        );
        let bob_user = store.user_credentials("bob").await.unwrap().unwrap().0;
        assert_eq!(bob_user.role, Role::Operator);

        let revoked = audit_rows(&app, "access_revoked").await;
        let after = revoked[0].after.as_ref().unwrap();
        assert_eq!(after["sessions_ended"], 1);
        assert_eq!(after["api_tokens_revoked"], 1);
        assert!(after["reason"]
            .as_str()
            .unwrap()
            .contains("periodic re-check"));
        assert_eq!(audit_rows(&app, "role_rechecked").await.len(), 1);

        // A second run finds nothing new to do and writes no audit row.
        let again = job.run_once().await.unwrap();
        assert_eq!((again.revoked, again.role_changed), (0, 0));
        assert_eq!(audit_rows(&app, "access_revoked").await.len(), 1);
        app.stop().await;
    }
);
