use chrono::{Duration, Utc};
use opsward_core::job::{JobState, NewJob};
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

fn job(kind: &str, key: Option<&str>) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: serde_json::json!({"n": 1}),
        run_at: Utc::now() - Duration::seconds(1),
        max_attempts: 3,
        dedupe_key: key.map(str::to_string),
    }
}

store_test!(
    claim_lease_retry_and_dedupe,
    |store: Arc<dyn Store>| async move {
        let kinds = vec!["test".to_string()];
        assert!(store
            .enqueue_job(&job("test", Some("k1")))
            .await
            .unwrap()
            .is_some());
        assert!(
            store
                .enqueue_job(&job("test", Some("k1")))
                .await
                .unwrap()
                .is_none(),
            "deduplicated"
        );
        assert!(store
            .enqueue_job(&job("other", None))
            .await
            .unwrap()
            .is_some());

        let now = Utc::now();
        let claimed = store
            .claim_job("w1", &kinds, now, now + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((claimed.kind.as_str(), claimed.attempts), ("test", 1));
        assert!(
            store
                .claim_job("w2", &kinds, now, now + Duration::seconds(30))
                .await
                .unwrap()
                .is_none(),
            "leased"
        );

        // The lease lapses (w1 died): w2 takes over, and w1 can no longer complete it.
        let later = now + Duration::seconds(31);
        let stolen = store
            .claim_job("w2", &kinds, later, later + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((stolen.id, stolen.attempts), (claimed.id, 2));
        assert!(!store
            .complete_job(claimed.id, "w1", 1, later)
            .await
            .unwrap());
        assert!(!store
            .heartbeat_job(claimed.id, "w1", 1, later)
            .await
            .unwrap());
        assert!(store
            .heartbeat_job(stolen.id, "w2", 2, later + Duration::seconds(60))
            .await
            .unwrap());

        // A failure requeues with a later run time, then the last attempt is final.
        assert!(store
            .fail_job(
                stolen.id,
                "w2",
                2,
                "boom",
                Some(later + Duration::seconds(10)),
                later
            )
            .await
            .unwrap());
        assert!(
            store
                .claim_job("w2", &kinds, later, later + Duration::seconds(30))
                .await
                .unwrap()
                .is_none(),
            "backing off"
        );
        let retry_at = later + Duration::seconds(11);
        let third = store
            .claim_job("w3", &kinds, retry_at, retry_at + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(third.attempts, 3);
        assert_eq!(third.last_error.as_deref(), Some("boom"));
        assert!(store
            .fail_job(third.id, "w3", 3, "boom again", None, retry_at)
            .await
            .unwrap());
        let dead = store.list_jobs(Some(JobState::Dead), 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            store
                .list_jobs(Some(JobState::Queued), 10)
                .await
                .unwrap()
                .len(),
            1,
            "the other kind is untouched"
        );
    }
);

// Many workers on separate connections race for the same jobs; each job is claimed once.
store_test!(concurrent_claims_never_share_a_job, |store: Arc<
    dyn Store,
>| async move {
    for _ in 0..40 {
        store.enqueue_job(&job("race", None)).await.unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let kinds = vec!["race".to_string()];
            loop {
                let now = Utc::now();
                match store
                    .claim_job(&format!("w{w}"), &kinds, now, now + Duration::minutes(5))
                    .await
                    .unwrap()
                {
                    Some(j) => {
                        assert!(store
                            .complete_job(j.id, &format!("w{w}"), j.attempts, now)
                            .await
                            .unwrap());
                        mine.push(j.id);
                    }
                    None => break mine,
                }
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (40, 40));
});
