//! Sign-in on the login form through a real directory: Debian's `slapd` over StartTLS with a
//! test CA, loaded from `opsward-testkit/data/directory.ldif` (`.ci/run` installs slapd and
//! ldap-utils). Groups map to roles as for OpenID Connect.

use crate::{auth, TestApp};
use opsward_core::{audit::AuditFilter, page::PageRequest, Role};
use opsward_server::{AppState, ServerConfig};
use opsward_sso::{
    ldap::{LdapClient, LdapError, LdapSettings},
    GroupMapping, SsoSettings,
};
use opsward_testkit::{ldap::Directory, Backend, TestDb};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

fn settings(directory: &Directory) -> LdapSettings {
    LdapSettings {
        url: directory.url(),
        starttls: true,
        ca_file: Some(directory.ca_file.clone()),
        bind_dn: None,
        bind_password_file: None,
        bind_password: None,
        search_base: "ou=people,dc=example,dc=org".into(),
        user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))".into(),
        group_attribute: "memberOf".into(),
        display_name_attribute: "cn".into(),
        email_attribute: "mail".into(),
        timeout_secs: 5,
    }
}

async fn start(backend: Backend, directory: &Directory) -> TestApp {
    let sso = SsoSettings {
        mapping: GroupMapping {
            groups: GroupMapping::parse_pairs("admins=admin, ops=operator").unwrap(),
            default_role: None,
        },
        ldap: Some(settings(directory)),
        ..SsoSettings::default()
    };
    let config = ServerConfig {
        attachments_dir: std::env::temp_dir().join(format!("opsward-ldap-{}", std::process::id())),
        sso,
        ..ServerConfig::default()
    };
    let db = TestDb::new(backend).await;
    let state = AppState::new(db.store.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    TestApp::start_on(listener, db, state).await
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

ldap_both_backends!(
    directory_users_sign_in_with_their_groups_role_and_bad_ones_are_refused,
    |backend| async move {
        let directory = Directory::start();
        let app = start(backend, &directory).await;

        let alice = auth::browser();
        let ok = auth::login(&app, &alice, "alice", "alice-directory-password").await;
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            alice.get(app.url("/assets")).send().await.unwrap().status(),
            StatusCode::OK
        );
        let (user, _) = app
            .db
            .store
            .user_credentials("alice")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.role, Role::Operator);
        assert_eq!(user.display_name, "Alice Operator");
        let bob = auth::login(&app, &auth::browser(), "bob", "bob-directory-password").await;
        assert_eq!(bob.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            app.db
                .store
                .user_credentials("bob")
                .await
                .unwrap()
                .unwrap()
                .0
                .role,
            Role::Admin
        );

        let filter = AuditFilter {
            action: Some("sign_in".into()),
            ..Default::default()
        };
        let rows = app
            .db
            .store
            .list_audit(&filter, PageRequest::first(10))
            .await
            .unwrap()
            .items;
        assert!(
            rows.iter().any(|r| r
                .after
                .as_ref()
                .is_some_and(|a| a["method"] == "ldap" && a["role"] == "operator")),
            "{rows:?}"
        );

        // Wrong password, a locked account (right password), an unknown user: the same
        // answer; a user without a mapped group is refused with the reason.
        for (name, password) in [
            ("alice", "wrong-password"),
            ("carol", "carol-directory-password"),
            ("nobody", "whatever-password"),
            ("*", "alice-directory-password"),
        ] {
            let refused = auth::login(&app, &auth::browser(), name, password).await;
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{name}");
            assert!(refused
                .text()
                .await
                .unwrap()
                .contains("Wrong username or password"));
        }
        let dave = auth::login(&app, &auth::browser(), "dave", "dave-directory-password").await;
        assert_eq!(dave.status(), StatusCode::FORBIDDEN);
        assert!(dave.text().await.unwrap().contains("None of your groups"));
        assert!(app
            .db
            .store
            .user_credentials("dave")
            .await
            .unwrap()
            .is_none());

        // Failed directory sign-ins count towards the login rate limit.
        for _ in 0..5 {
            auth::login(&app, &auth::browser(), "bob", "wrong-password").await;
        }
        let limited = auth::login(&app, &auth::browser(), "bob", "bob-directory-password").await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        app.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_untrusted_directories_fail_clearly_within_the_timeout() {
    let directory = Directory::start();
    // Without the test CA the server's certificate is not trusted: StartTLS fails.
    let untrusted = LdapClient::new(LdapSettings {
        ca_file: None,
        ..settings(&directory)
    })
    .unwrap();
    let err = untrusted
        .authenticate("alice", "alice-directory-password")
        .await
        .unwrap_err();
    assert!(matches!(err, LdapError::Unavailable(_)), "{err}");

    // A server that accepts connections and never answers: refused after the timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("ldap://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let hanging = LdapClient::new(LdapSettings {
        url: silent_url,
        timeout_secs: 1,
        ..settings(&directory)
    })
    .unwrap();
    let started = Instant::now();
    let err = hanging
        .authenticate("alice", "alice-directory-password")
        .await
        .unwrap_err();
    assert!(matches!(err, LdapError::Unavailable(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );

    // Nothing listening at all.
    let port = silent.local_addr().unwrap().port();
    drop(silent);
    let closed = LdapClient::new(LdapSettings {
        url: format!("ldap://127.0.0.1:{port}"),
        ..settings(&directory)
    })
    .unwrap();
    let err = closed
        .authenticate("alice", "alice-directory-password")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unavailable"), "{err}");
}
