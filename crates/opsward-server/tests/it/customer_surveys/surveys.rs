use super::support::*;
use chrono::{Duration, Utc};
use opsward_backlog::BacklogStore;
use opsward_customers::{
    link::{self, LinkError},
    sampling, surveys, Answer, ContactInput, CustomersStore, SurveyKind, SurveySettings,
    SurveyState,
};
use opsward_ops::notifications::{DeliveryPolicy, Notifier};
use opsward_store::Store;
use opsward_testkit::{
    smtp::{Mode, SmtpPeer},
    store_test,
};
use std::sync::Arc;

fn stores(store: &Arc<dyn Store>) -> (CustomersStore, BacklogStore, Notifier) {
    (
        CustomersStore::new(store.as_ref()),
        BacklogStore::new(store.as_ref()),
        Notifier::new(store.as_ref()),
    )
}

store_test!(
    csat_waits_for_the_delay_and_samples_by_seed,
    |store: Arc<dyn Store>| async move {
        let (customers, backlog, notifier) = stores(&store);
        let channel = email_channel(&notifier, 9).await;
        settings(&customers, Some(channel), 50, 0).await;
        let acme = customer(&customers, "Acme").await;
        let mut items = Vec::new();
        for i in 0..24 {
            let c = contact(&customers, &acme, &format!("Person{i}")).await;
            items.push(resolved_item(&backlog, &customers, &c, &format!("Printer {i} jams")).await);
        }

        let early = surveys::run(&customers, &backlog, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            early.sent + early.not_sampled,
            0,
            "nothing before the 60-minute delay: {early:?}"
        );

        let later = Utc::now() + Duration::minutes(61);
        let report = surveys::run(&customers, &backlog, later).await.unwrap();
        let expected: Vec<i64> = items
            .iter()
            .copied()
            .filter(|id| sampling::sampled("opsward", &format!("item:{id}"), 50))
            .collect();
        assert_eq!(report.sent, expected.len(), "{report:?}");
        assert_eq!(report.sent + report.not_sampled, items.len());
        assert!(
            report.sent > 0 && report.not_sampled > 0,
            "a 50% sample of 24: {report:?}"
        );
        let mut sent: Vec<i64> = customers
            .surveys(Some(acme.id), Some(SurveyState::Sent), None, 100)
            .await
            .unwrap()
            .iter()
            .map(|s| s.item_id.unwrap())
            .collect();
        sent.sort();
        assert_eq!(sent, expected, "exactly the seeded sample got a survey");
        assert_eq!(
            notifier
                .list_outbox(Some("pending"), 100)
                .await
                .unwrap()
                .len(),
            expected.len(),
            "one queued email per survey, in the same transaction"
        );

        let again = surveys::run(&customers, &backlog, later + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(again, Default::default(), "every item is decided once");
    }
);

store_test!(one_survey_per_contact_within_the_throttle, |store: Arc<
    dyn Store,
>| async move {
    let (customers, backlog, notifier) = stores(&store);
    let channel = email_channel(&notifier, 9).await;
    settings(&customers, Some(channel), 100, 30).await;
    let acme = customer(&customers, "Acme").await;
    let busy = contact(&customers, &acme, "Busy").await;
    for i in 0..3 {
        resolved_item(&backlog, &customers, &busy, &format!("VPN drops {i}")).await;
    }
    let t0 = Utc::now() + Duration::minutes(61);
    let first = surveys::run(&customers, &backlog, t0).await.unwrap();
    assert_eq!((first.sent, first.throttled), (1, 2), "{first:?}");

    // 29 days later the contact is still throttled; after 30 days a new item is surveyed.
    resolved_item(&backlog, &customers, &busy, "VPN drops again").await;
    let soon = surveys::run(&customers, &backlog, t0 + Duration::days(29))
        .await
        .unwrap();
    assert_eq!((soon.sent, soon.throttled), (0, 1), "{soon:?}");
    resolved_item(&backlog, &customers, &busy, "VPN drops once more").await;
    let later = surveys::run(&customers, &backlog, t0 + Duration::days(30))
        .await
        .unwrap();
    assert_eq!((later.sent, later.throttled), (1, 0), "{later:?}");

    // No channel, opted out, no contact: recorded with their reason, never sent.
    let mut quiet = customers.settings().await.unwrap().0;
    quiet.channel_id = None;
    customers.save_settings(&actor(), &quiet).await.unwrap();
    let other = contact(&customers, &acme, "Other").await;
    resolved_item(&backlog, &customers, &other, "Mail bounce").await;
    let off = surveys::run(&customers, &backlog, t0 + Duration::days(31))
        .await
        .unwrap();
    assert_eq!((off.sent, off.no_channel), (0, 1), "{off:?}");
    // Nothing was decided while surveys were off: switching them on surveys the item.
    let on_again = SurveySettings {
        channel_id: Some(channel),
        ..quiet
    };
    customers.save_settings(&actor(), &on_again).await.unwrap();
    let on = surveys::run(&customers, &backlog, t0 + Duration::days(32))
        .await
        .unwrap();
    assert_eq!((on.sent, on.no_channel), (1, 0), "{on:?}");

    // An opted-out contact is recorded as such and never asked.
    let shy = ContactInput {
        name: "Shy".into(),
        email: "shy@acme.example".into(),
        role: String::new(),
        surveys_opt_out: true,
    };
    let shy = customers
        .add_contact(&actor(), acme.id, &shy)
        .await
        .unwrap();
    resolved_item(&backlog, &customers, &shy, "Password reset").await;
    let shy_run = surveys::run(&customers, &backlog, t0 + Duration::days(33))
        .await
        .unwrap();
    assert_eq!((shy_run.sent, shy_run.opted_out), (0, 1), "{shy_run:?}");
});

/// The link a sent survey's email carries, rebuilt from the stored key.
async fn token_for(customers: &CustomersStore, survey_id: i64) -> String {
    let (_, key) = customers.settings().await.unwrap();
    let survey = customers.survey(survey_id).await.unwrap();
    link::sign(&key, survey.id, survey.expires_at.unwrap())
}

store_test!(
    answers_once_through_a_genuine_link_and_low_scores_open_a_follow_up,
    |store: Arc<dyn Store>| async move {
        let (customers, backlog, notifier) = stores(&store);
        let channel = email_channel(&notifier, 9).await;
        settings(&customers, Some(channel), 100, 0).await;
        let acme = customer(&customers, "Acme").await;
        let ana = contact(&customers, &acme, "Ana").await;
        let bo = contact(&customers, &acme, "Bo").await;
        resolved_item(&backlog, &customers, &ana, "Laptop will not boot").await;
        resolved_item(&backlog, &customers, &bo, "Share is read-only").await;
        let now = Utc::now() + Duration::minutes(61);
        assert_eq!(
            surveys::run(&customers, &backlog, now).await.unwrap().sent,
            2
        );
        let sent = customers
            .surveys(None, Some(SurveyState::Sent), None, 10)
            .await
            .unwrap();
        let (low, high) = (&sent[0], &sent[1]);

        let token = token_for(&customers, low.id).await;
        let bad_score = Answer {
            score: 6,
            comment: String::new(),
        };
        assert!(
            surveys::answer(&customers, &backlog, &token, &bad_score, now)
                .await
                .is_err(),
            "CSAT is 1-5"
        );
        let answer = Answer {
            score: 1,
            comment: "Took three days.".into(),
        };
        let answered = surveys::answer(&customers, &backlog, &token, &answer, now)
            .await
            .unwrap();
        assert_eq!(
            (answered.state, answered.score),
            (SurveyState::Answered, Some(1))
        );
        let followup = backlog
            .get_item(answered.followup_item_id.expect("a follow-up"))
            .await
            .unwrap();
        assert!(
            followup.title.contains("CSAT") && followup.description.contains("Took three days."),
            "{followup:?}"
        );
        assert!(followup.tags.contains(&"customer-feedback".to_string()));

        // Reuse, tampering, expiry.
        let again = surveys::answer(&customers, &backlog, &token, &answer, now).await;
        assert!(
            matches!(again, Err(surveys::SurveyError::AlreadyAnswered)),
            "{again:?}"
        );
        let other = token_for(&customers, high.id).await;
        let forged = format!("{}.{}", low.id, other.split_once('.').unwrap().1);
        let forged = surveys::answer(&customers, &backlog, &forged, &answer, now).await;
        assert!(
            matches!(
                forged,
                Err(surveys::SurveyError::Link(LinkError::BadSignature))
            ),
            "{forged:?}"
        );
        let expired_at = high.expires_at.unwrap();
        let late = surveys::answer(
            &customers,
            &backlog,
            &other,
            &Answer {
                score: 5,
                comment: String::new(),
            },
            expired_at,
        )
        .await;
        assert!(
            matches!(late, Err(surveys::SurveyError::Link(LinkError::Expired))),
            "{late:?}"
        );

        // A low answer stored without its follow-up (the process died in between) gets
        // one on the next run, and only one.
        customers
            .answer_survey(high.id, 2, "", now)
            .await
            .unwrap()
            .unwrap();
        let run = surveys::run(&customers, &backlog, now).await.unwrap();
        assert_eq!(run.followups_opened, 1);
        assert!(customers
            .survey(high.id)
            .await
            .unwrap()
            .followup_item_id
            .is_some());
        assert_eq!(
            surveys::run(&customers, &backlog, now)
                .await
                .unwrap()
                .followups_opened,
            0
        );
    }
);

store_test!(nps_asks_each_contact_once_per_interval, |store: Arc<
    dyn Store,
>| async move {
    let (customers, backlog, notifier) = stores(&store);
    let channel = email_channel(&notifier, 9).await;
    let mut s: SurveySettings = settings(&customers, Some(channel), 100, 0).await;
    s.nps_interval_days = 90;
    customers.save_settings(&actor(), &s).await.unwrap();
    let acme = customer(&customers, "Acme").await;
    contact(&customers, &acme, "Ana").await;
    contact(&customers, &acme, "Bo").await;
    let now = Utc::now();
    assert_eq!(
        surveys::run(&customers, &backlog, now).await.unwrap().sent,
        2
    );
    assert_eq!(
        surveys::run(&customers, &backlog, now + Duration::days(89))
            .await
            .unwrap()
            .sent,
        0
    );
    assert_eq!(
        surveys::run(&customers, &backlog, now + Duration::days(91))
            .await
            .unwrap()
            .sent,
        2
    );
    let nps = customers
        .surveys(Some(acme.id), None, None, 10)
        .await
        .unwrap();
    assert!(nps.iter().all(|s| s.kind == SurveyKind::Nps));
});

store_test!(
    survey_email_reaches_a_real_smtp_server_and_its_link_answers,
    |store: Arc<dyn Store>| async move {
        let (customers, backlog, notifier) = stores(&store);
        let smtp = SmtpPeer::start(Mode::Plain, None).await;
        let channel = email_channel(&notifier, smtp.port).await;
        settings(&customers, Some(channel), 100, 0).await;
        let acme = customer(&customers, "Acme").await;
        let ana = contact(&customers, &acme, "Ana").await;
        resolved_item(&backlog, &customers, &ana, "Backup job failed").await;
        let now = Utc::now() + Duration::minutes(61);
        assert_eq!(
            surveys::run(&customers, &backlog, now).await.unwrap().sent,
            1
        );
        let report = notifier
            .deliver_due("w1", now, &DeliveryPolicy::default())
            .await
            .unwrap();
        assert_eq!(report.delivered, 1, "{report:?}");

        let mail = smtp.message(1).await;
        assert_eq!(
            mail.rcpt_tos,
            vec![ana.email.clone()],
            "to the contact, not the channel's list"
        );
        assert!(mail
            .header("Subject")
            .unwrap()
            .contains("Backup job failed"));
        let body = mail.content.replace("=\r\n", "");
        let url_start = body
            .find("https://ops.example.com/survey/")
            .expect("the link is in the body");
        let token: String = body[url_start + "https://ops.example.com/survey/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-' || *c == '_')
            .collect();
        let answered = surveys::answer(
            &customers,
            &backlog,
            &token,
            &Answer {
                score: 5,
                comment: "Quick!".into(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(answered.score, Some(5));
        assert_eq!(
            answered.followup_item_id, None,
            "a good score opens nothing"
        );
    }
);
