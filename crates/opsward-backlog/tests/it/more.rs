//! Watchers (mailed through the outbox to a real SMTP server), attachments, saved filters,
//! bulk edits with versions, the review's decisions as evidence, and the chart numbers
//! rebuilt from the history.

use crate::items::{actor, input};
use chrono::{Duration, Utc};
use opsward_backlog::{
    charts::{charts, state_moves},
    files::{ItemFiles, NewItemAttachment},
    filters::{SavedFilterInput, SavedFilters},
    review::{apply_decisions, review_list, Decision, DecisionKind, Decisions, ReviewReason},
    store::BacklogError,
    watch::WatchStore,
    BacklogStore, CommentInput, ItemFilter, ItemPatch, ItemState, ItemType,
};
use opsward_core::{audit::AuditFilter, page::PageRequest, user::NewUser, Actor, Role};
use opsward_notify::{ChannelConfig, EmailConfig, SmtpSecurity};
use opsward_ops::{notifications::DeliveryPolicy, notifications::Notifier, OpsStore};
use opsward_store::{Store, StoreError};
use opsward_testkit::{
    smtp::{Mode, SmtpPeer},
    store_test,
};
use std::sync::Arc;

fn to(state: ItemState) -> ItemPatch {
    ItemPatch {
        state: Some(state),
        ..ItemPatch::default()
    }
}

async fn user(store: &Arc<dyn Store>, name: &str, email: Option<&str>) -> i64 {
    let new = NewUser {
        username: name.into(),
        display_name: name.into(),
        email: email.map(str::to_string),
        role: Role::Operator,
        password_hash: "x".into(),
    };
    store.create_user(&actor(), &new).await.unwrap().id
}

store_test!(
    watchers_are_mailed_once_per_change_but_not_their_own,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let watch = WatchStore::new(store.as_ref());
        let notifier = Notifier::new(store.as_ref());
        let smtp = SmtpPeer::start(Mode::Plain, None).await;
        notifier
            .create_channel(
                &actor(),
                "mail",
                &ChannelConfig::Email(EmailConfig {
                    host: "127.0.0.1".into(),
                    port: smtp.port,
                    security: SmtpSecurity::None,
                    username: None,
                    password: None,
                    from: "opsward@example.com".into(),
                    to: vec!["desk@example.com".into()],
                    timeout_secs: 5,
                    tls_root_pem: None,
                }),
            )
            .await
            .unwrap();
        let ana = user(&store, "ana", Some("ana@example.com")).await;
        let bo = user(&store, "bo", Some("bo@example.com")).await;
        let nomail = user(&store, "nomail", None).await;
        let item = backlog
            .create_item(&actor(), &input(ItemType::Incident, "VPN drops", ""))
            .await
            .unwrap();
        for u in [ana, bo, nomail] {
            assert!(watch.watch(&actor(), item.id, u).await.unwrap());
        }
        assert!(!watch.watch(&actor(), item.id, ana).await.unwrap(), "once");
        let names: Vec<_> = watch
            .watchers(item.id)
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.username)
            .collect();
        assert_eq!(names, ["ana", "bo", "nomail"]);
        // Ana moves it herself: only Bo hears (Ana made it, nomail has no address).
        let by_ana = Actor::user(ana, "ana");
        backlog
            .update_item(&by_ana, item.id, &to(ItemState::Triaged))
            .await
            .unwrap();
        // A field change that is not a state change tells nobody.
        backlog
            .update_item(
                &by_ana,
                item.id,
                &ItemPatch {
                    urgency: Some(3),
                    ..ItemPatch::default()
                },
            )
            .await
            .unwrap();
        // A comment by someone else reaches both.
        let other = Actor::system("test");
        backlog
            .add_comment(
                &other,
                item.id,
                &CommentInput {
                    body: "Seen at the Berlin office too".into(),
                },
            )
            .await
            .unwrap();
        // Bo stops watching; the next move reaches Ana only.
        assert!(watch.unwatch(&actor(), item.id, bo).await.unwrap());
        backlog
            .update_item(&other, item.id, &to(ItemState::InProgress))
            .await
            .unwrap();
        let report = notifier
            .deliver_due(
                "w1",
                Utc::now() + Duration::minutes(1),
                &DeliveryPolicy::default(),
            )
            .await
            .unwrap();
        assert_eq!(report.delivered, 4, "{report:?}");
        let mut got = Vec::new();
        for n in 1..=4 {
            let m = smtp.message(n).await;
            got.push((m.header("To").unwrap(), m.header("Subject").unwrap()));
        }
        got.sort();
        let want =
            |to: &str, subject: &str| got.iter().any(|(t, s)| t.contains(to) && s == subject);
        let id = item.id;
        assert!(
            want("bo@", &format!("[#{id}] VPN drops is now triaged")),
            "{got:?}"
        );
        assert!(
            want("ana@", &format!("New comment on [#{id}] VPN drops")),
            "{got:?}"
        );
        assert!(
            want("bo@", &format!("New comment on [#{id}] VPN drops")),
            "{got:?}"
        );
        assert!(
            want("ana@", &format!("[#{id}] VPN drops is now in_progress")),
            "{got:?}"
        );
        // A second delivery run sends nothing more: once per change event.
        let again = notifier
            .deliver_due(
                "w1",
                Utc::now() + Duration::minutes(2),
                &DeliveryPolicy::default(),
            )
            .await
            .unwrap();
        assert_eq!(again.delivered, 0);
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("backlog_watcher".into()),
                    ..AuditFilter::default()
                },
                PageRequest::first(50),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 4, "three watches and one unwatch");
        assert!(matches!(
            watch.watch(&actor(), 999_999, ana).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

store_test!(
    attachments_are_recorded_in_history_and_audit,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let files = ItemFiles::new(store.as_ref());
        let item = backlog
            .create_item(&actor(), &input(ItemType::Problem, "Disk fills up", ""))
            .await
            .unwrap();
        let file = NewItemAttachment {
            filename: "df.txt".into(),
            content_type: "text/plain".into(),
            size_bytes: 12,
            sha256: "a".repeat(64),
        };
        let a = files.add(&actor(), item.id, &file).await.unwrap();
        assert_eq!(files.list(item.id).await.unwrap(), vec![a.clone()]);
        assert_eq!(files.get(a.id).await.unwrap().filename, "df.txt");
        assert!(matches!(
            files.add(&actor(), 999_999, &file).await,
            Err(StoreError::NotFound(_))
        ));
        files.delete(&actor(), a.id).await.unwrap();
        assert!(files.list(item.id).await.unwrap().is_empty());
        let actions: Vec<_> = backlog
            .history(item.id)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.action)
            .collect();
        assert_eq!(actions, ["create", "attach", "detach"]);
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("backlog_attachment".into()),
                    ..AuditFilter::default()
                },
                PageRequest::first(50),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 2);
    }
);

store_test!(
    saved_filters_are_private_or_shared_and_replaced_by_name,
    |store: Arc<dyn Store>| async move {
        let filters = SavedFilters::new(store.as_ref());
        let ana = user(&store, "ana", None).await;
        let bo = user(&store, "bo", None).await;
        let mine = |name: &str, shared: bool, state: ItemState| SavedFilterInput {
            name: name.into(),
            shared,
            filter: ItemFilter {
                state: Some(state),
                ..ItemFilter::default()
            },
        };
        let a = Actor::user(ana, "ana");
        filters
            .save(&a, Some(ana), &mine("triage", false, ItemState::New))
            .await
            .unwrap();
        filters
            .save(&a, Some(ana), &mine("team", true, ItemState::InProgress))
            .await
            .unwrap();
        // Saved again under the same name: replaced, not duplicated.
        let replaced = filters
            .save(&a, Some(ana), &mine("triage", false, ItemState::Triaged))
            .await
            .unwrap();
        assert_eq!(replaced.filter.state, Some(ItemState::Triaged));
        let names = |v: Vec<opsward_backlog::filters::SavedFilter>| {
            v.into_iter().map(|f| f.name).collect::<Vec<_>>()
        };
        assert_eq!(
            names(filters.visible(Some(ana)).await.unwrap()),
            ["team", "triage"]
        );
        assert_eq!(names(filters.visible(Some(bo)).await.unwrap()), ["team"]);
        assert!(matches!(
            filters.named(Some(bo), "triage").await,
            Err(StoreError::NotFound(_))
        ));
        // Bo's own filter of the same name wins over nothing; the CLI sees shared ones.
        assert_eq!(
            filters.named(None, "team").await.unwrap().filter.state,
            Some(ItemState::InProgress)
        );
        let bad = SavedFilterInput {
            name: " ".into(),
            shared: false,
            filter: ItemFilter::default(),
        };
        assert!(matches!(
            filters.save(&a, Some(ana), &bad).await,
            Err(StoreError::Invalid(_))
        ));
        let gone = filters.delete(&a, replaced.id).await.unwrap();
        assert_eq!(gone.name, "triage");
        assert_eq!(names(filters.visible(Some(ana)).await.unwrap()), ["team"]);
    }
);

store_test!(
    bulk_edit_refuses_all_when_one_version_is_stale,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let a = backlog
            .create_item(&actor(), &input(ItemType::Risk, "Single DNS", ""))
            .await
            .unwrap();
        let b = backlog
            .create_item(&actor(), &input(ItemType::Risk, "Single NTP", ""))
            .await
            .unwrap();
        // Someone changes b after the list was shown.
        backlog
            .update_item(&actor(), b.id, &to(ItemState::Triaged))
            .await
            .unwrap();
        let patch = ItemPatch {
            impact: Some(1),
            ..ItemPatch::default()
        };
        let err = backlog
            .bulk_update_versions(
                &actor(),
                &[(a.id, Some(a.version)), (b.id, Some(b.version))],
                &patch,
            )
            .await
            .unwrap_err();
        assert_eq!(err.0, b.id);
        assert!(matches!(err.1, BacklogError::VersionConflict { .. }));
        assert_eq!(
            backlog.get_item(a.id).await.unwrap().impact,
            2,
            "nothing changed"
        );
        let b_now = backlog.get_item(b.id).await.unwrap();
        let done = backlog
            .bulk_update_versions(
                &actor(),
                &[(a.id, Some(a.version)), (b.id, Some(b_now.version))],
                &patch,
            )
            .await
            .unwrap();
        assert!(done.iter().all(|i| i.impact == 1));
    }
);

fn review_activity_input() -> opsward_ops::ActivityInput {
    opsward_ops::ActivityInput {
        title: "Backlog review".into(),
        practice: opsward_core::practice::Practice::Backlog,
        template: Some("backlog-review".into()),
        description: String::new(),
        rrule: "FREQ=DAILY".into(),
        starts_local: chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        timezone: "UTC".into(),
        duration_minutes: 60,
        owner_team_id: None,
        owner_person_id: None,
        asset_id: None,
        active: true,
    }
}

store_test!(
    review_decisions_change_items_and_become_evidence,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let ops = OpsStore::new(store.as_ref());
        let mk = |t: &str| input(ItemType::Problem, t, "");
        let keep = backlog
            .create_item(&actor(), &mk("Old printer"))
            .await
            .unwrap();
        let close = backlog
            .create_item(&actor(), &mk("Fax server"))
            .await
            .unwrap();
        let prio = backlog
            .create_item(&actor(), &mk("Backups slow"))
            .await
            .unwrap();
        let dup = backlog
            .create_item(&actor(), &mk("Backup slow again"))
            .await
            .unwrap();
        let now = Utc::now();
        // Every open item is unowned; with top 1 the oldest and the most urgent are marked.
        let list = review_list(&backlog.all_items().await.unwrap(), now, 14, 1);
        assert_eq!(list.entries.len(), 4);
        assert!(list
            .entries
            .iter()
            .all(|e| e.reasons.contains(&ReviewReason::Unowned)));
        assert!(list.entries.iter().any(|e| e.item.id == keep.id
            && e.reasons.contains(&ReviewReason::Oldest)
            && e.reasons.contains(&ReviewReason::HighestPriority)));
        // In 20 days, everything untouched is stale.
        let later = review_list(
            &backlog.all_items().await.unwrap(),
            now + Duration::days(20),
            14,
            1,
        );
        assert!(later
            .entries
            .iter()
            .all(|e| e.reasons.contains(&ReviewReason::Stale)));

        let decision = |item_id, decision| Decision {
            item_id,
            decision,
            impact: None,
            urgency: None,
            into: None,
            note: String::new(),
        };
        let decisions = Decisions {
            activity_id: None,
            decisions: vec![
                decision(keep.id, DecisionKind::Keep),
                decision(close.id, DecisionKind::Close),
                Decision {
                    impact: Some(1),
                    urgency: Some(1),
                    ..decision(prio.id, DecisionKind::Reprioritise)
                },
                Decision {
                    into: Some(prio.id),
                    note: "same cause".into(),
                    ..decision(dup.id, DecisionKind::Merge)
                },
            ],
        };
        // No review activity yet: refused before anything changes.
        assert!(apply_decisions(&backlog, &ops, &actor(), &decisions, now)
            .await
            .is_err());
        let activity = ops
            .create_activity(&actor(), &review_activity_input())
            .await
            .unwrap();
        // A bad decision (merge into itself) refuses the whole set.
        let mut bad = decisions.clone();
        bad.decisions[3].into = Some(dup.id);
        assert!(apply_decisions(&backlog, &ops, &actor(), &bad, now)
            .await
            .is_err());
        assert_eq!(
            backlog.get_item(close.id).await.unwrap().state,
            ItemState::New
        );

        let outcome = apply_decisions(&backlog, &ops, &actor(), &decisions, now)
            .await
            .unwrap();
        assert_eq!(outcome.activity_id, activity.id);
        assert!(
            outcome.occurrence_at.is_some(),
            "the daily occurrence of today"
        );
        let state = |id| {
            let backlog = backlog.clone();
            async move { backlog.get_item(id).await.unwrap() }
        };
        assert_eq!(state(keep.id).await.state, ItemState::New);
        let closed = state(close.id).await;
        assert_eq!(closed.state, ItemState::Closed);
        assert!(closed.resolved_at.is_some());
        assert_eq!(
            state(prio.id).await.priority,
            opsward_backlog::priority::Priority::P1
        );
        assert_eq!(state(dup.id).await.state, ItemState::Closed);
        let target_comments = backlog.comments(prio.id).await.unwrap();
        assert!(target_comments.iter().any(|c| c
            .body
            .contains(&format!("#{} Backup slow again was merged", dup.id))));
        let evidence = ops.get_evidence(outcome.evidence_id).await.unwrap();
        assert_eq!(evidence.activity_id, Some(activity.id));
        assert_eq!(evidence.occurrence_at, outcome.occurrence_at);
        for line in [
            format!("#{} Old printer: keep", keep.id),
            format!("#{} Fax server: close", close.id),
            format!("#{} Backups slow: reprioritise (P2 -> P1)", prio.id),
            format!(
                "#{} Backup slow again: merge into #{}: same cause",
                dup.id, prio.id
            ),
        ] {
            assert!(
                evidence.notes.contains(&line),
                "{line:?} in {}",
                evidence.notes
            );
        }
        // The closed item cannot be closed again by a later review.
        assert!(apply_decisions(&backlog, &ops, &actor(), &decisions, now)
            .await
            .is_err());
    }
);

store_test!(charts_follow_the_recorded_history, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let a = backlog
        .create_item(&actor(), &input(ItemType::Incident, "Login slow", ""))
        .await
        .unwrap();
    backlog
        .create_item(&actor(), &input(ItemType::Incident, "Mail bounces", ""))
        .await
        .unwrap();
    for s in [
        ItemState::Triaged,
        ItemState::InProgress,
        ItemState::Resolved,
    ] {
        backlog.update_item(&actor(), a.id, &to(s)).await.unwrap();
    }
    let moves = state_moves(store.as_ref()).await.unwrap();
    assert_eq!(moves.len(), 3);
    assert_eq!(moves[2].to, ItemState::Resolved);
    let items = backlog.all_items().await.unwrap();
    let policy = backlog.compiled_sla_policy().await.unwrap();
    let now = Utc::now();
    let sla = backlog.sla_reports(&policy, &items, now).await.unwrap();
    let c = charts(&items, &moves, &sla, now, 4);
    let this_week = c.weeks.last().unwrap();
    assert_eq!(
        (
            this_week.open,
            this_week.states.new,
            this_week.states.resolved
        ),
        (1, 1, 1)
    );
    assert_eq!(this_week.resolved, 1);
    // Resolved within minutes of filing: within any default target.
    assert_eq!((this_week.sla_counted, this_week.sla_met), (1, 1));
    assert_eq!(this_week.sla_percent, Some(100.0));
    assert!(c.weeks[..3].iter().all(|w| w.open == 0));
    assert_eq!(c.ages.days_0_7, 1);
});
