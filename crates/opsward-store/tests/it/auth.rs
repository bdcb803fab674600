use crate::actor;
use chrono::{Duration, Utc};
use opsward_core::{
    user::{NewApiToken, NewSession, NewUser, UserPatch},
    Role,
};
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: name.into(),
        email: None,
        role: Role::Operator,
        password_hash: "$argon2id$fake".into(),
    }
}

store_test!(
    users_sessions_and_tokens,
    |store: Arc<dyn Store>| async move {
        let user = store
            .create_user(&actor(), &new_user("Alice"))
            .await
            .unwrap();
        let (found, hash) = store.user_credentials("alice").await.unwrap().unwrap();
        assert_eq!(found.id, user.id);
        assert_eq!(hash, "$argon2id$fake");
        assert!(
            store
                .create_user(&actor(), &new_user("ALICE"))
                .await
                .is_err(),
            "usernames are case-insensitive"
        );

        let now = Utc::now();
        store
            .create_session(&NewSession {
                token_hash: "s1".into(),
                user_id: user.id,
                csrf_token: "c1".into(),
                created_at: now,
                expires_at: now + Duration::hours(1),
            })
            .await
            .unwrap();
        let (u, csrf) = store.session("s1", now).await.unwrap().unwrap();
        assert_eq!((u.id, csrf.as_str()), (user.id, "c1"));
        assert!(
            store
                .session("s1", now + Duration::hours(2))
                .await
                .unwrap()
                .is_none(),
            "expired"
        );

        let token = store
            .create_api_token(
                &actor(),
                &NewApiToken {
                    user_id: user.id,
                    name: "ci".into(),
                    prefix: "ow_abc".into(),
                    token_hash: "h1".into(),
                    expires_at: Some(now + Duration::days(1)),
                },
            )
            .await
            .unwrap();
        assert!(store.authenticate_token("h1", now).await.unwrap().is_some());
        assert!(
            store
                .authenticate_token("h1", now + Duration::days(2))
                .await
                .unwrap()
                .is_none(),
            "expired token"
        );
        assert!(store
            .get_api_token(token.id)
            .await
            .unwrap()
            .last_used_at
            .is_some());
        store
            .revoke_api_token(&actor(), token.id, now)
            .await
            .unwrap();
        assert!(
            store.authenticate_token("h1", now).await.unwrap().is_none(),
            "revoked token"
        );

        // Disabling the account ends its sessions.
        store
            .update_user(
                &actor(),
                user.id,
                &UserPatch {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(store.session("s1", now).await.unwrap().is_none());
        let log = store
            .list_audit(
                &Default::default(),
                opsward_core::page::PageRequest::first(10),
            )
            .await
            .unwrap();
        let actions: Vec<_> = log
            .items
            .iter()
            .map(|e| (e.entity_type.as_str(), e.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("user", "update"),
                ("api_token", "revoke"),
                ("api_token", "create"),
                ("user", "create")
            ]
        );
    }
);

store_test!(password_change_is_audited_without_the_hash, |store: Arc<
    dyn Store,
>| async move {
    let user = store.create_user(&actor(), &new_user("bob")).await.unwrap();
    store
        .update_user(
            &actor(),
            user.id,
            &UserPatch {
                password_hash: Some("$argon2id$new".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let log = store
        .list_audit(
            &Default::default(),
            opsward_core::page::PageRequest::first(10),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&log.items).unwrap();
    assert!(
        !text.contains("argon2"),
        "no password hash in the audit log: {text}"
    );
    assert_eq!(
        log.items[0].after.as_ref().unwrap()["password_changed"],
        true
    );
});

// Issue 19, item 9: a password change used to end the sessions but leave the API tokens
// working. Now it revokes them (recorded in the same audit row) unless told to keep them.
store_test!(
    password_change_revokes_api_tokens_unless_kept,
    |store: Arc<dyn Store>| async move {
        let user = store
            .create_user(&actor(), &new_user("carol"))
            .await
            .unwrap();
        let token = |hash: &str| NewApiToken {
            user_id: user.id,
            name: hash.into(),
            prefix: "ow_".into(),
            token_hash: hash.into(),
            expires_at: None,
        };
        store
            .create_api_token(&actor(), &token("t1"))
            .await
            .unwrap();
        let now = Utc::now();
        let keep = UserPatch {
            password_hash: Some("$argon2id$kept".into()),
            keep_api_tokens: true,
            ..Default::default()
        };
        store.update_user(&actor(), user.id, &keep).await.unwrap();
        assert!(store.authenticate_token("t1", now).await.unwrap().is_some());
        let change = UserPatch {
            password_hash: Some("$argon2id$new".into()),
            ..Default::default()
        };
        store.update_user(&actor(), user.id, &change).await.unwrap();
        assert!(
            store.authenticate_token("t1", now).await.unwrap().is_none(),
            "the token stopped working with the password change"
        );
        let log = store
            .list_audit(
                &Default::default(),
                opsward_core::page::PageRequest::first(1),
            )
            .await
            .unwrap();
        let after = serde_json::to_string(&log.items[0]).unwrap();
        assert!(after.contains("\"api_tokens_revoked\":1"), "{after}");
        // Disabling revokes too.
        store
            .create_api_token(&actor(), &token("t2"))
            .await
            .unwrap();
        let disable = UserPatch {
            disabled: Some(true),
            ..Default::default()
        };
        store
            .update_user(&actor(), user.id, &disable)
            .await
            .unwrap();
        store
            .update_user(
                &actor(),
                user.id,
                &UserPatch {
                    disabled: Some(false),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(store.authenticate_token("t2", now).await.unwrap().is_none());
    }
);
