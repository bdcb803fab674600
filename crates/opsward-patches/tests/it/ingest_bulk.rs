//! A report that changes hundreds of rows at once: more removed packages, new and resolved
//! updates than one multi-row statement holds, so every chunk boundary of the ingest is
//! crossed; and the vulnerability-match job queued with the report, once.

use crate::store::{full_report, package, update};
use chrono::{Duration, Utc};
use opsward_core::job::NewJob;
use opsward_patches::{
    report::PackageKey,
    store::{IngestOutcome, PatchStore},
};
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

fn job(key: &str) -> NewJob {
    NewJob {
        kind: "bench.match".into(),
        payload: serde_json::json!({ "reason": key }),
        run_at: Utc::now(),
        max_attempts: 1,
        dedupe_key: Some(format!("bench.match:{key}")),
    }
}

fn name(i: usize) -> String {
    format!("pkg{i:04}")
}

store_test!(
    reports_of_hundreds_of_changes_store_every_row,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        let id = crate::store::enrolled(&patches, "bulk-01").await;
        // 450 packages; 200 pending: pkg0000-0149 and pkg0250-0299, every third security.
        let pending = (0..150)
            .chain(250..300)
            .map(|i| update(&name(i), "1.0-1", "1.0-2", i % 3 == 0))
            .collect();
        let mut first = full_report(
            1,
            (0..450).map(|i| package(&name(i), "1.0-1")).collect(),
            pending,
        );
        // Two hours ago, so that the second report (an hour later) is not in the future:
        // the store clamps a collection time ahead of its clock to its clock.
        first.collected_at = Utc::now() - Duration::hours(2);
        let outcome = patches.ingest_queueing(id, &first, &job("first")).await;
        assert_eq!(outcome.unwrap(), IngestOutcome::Applied);
        // A retry is acknowledged without a second job.
        let outcome = patches.ingest_queueing(id, &first, &job("retry")).await;
        assert_eq!(outcome.unwrap(), IngestOutcome::Duplicate);
        let keys: Vec<_> = store
            .list_jobs(None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|j| j.dedupe_key)
            .filter(|k| k.starts_with("bench.match:"))
            .collect();
        assert_eq!(keys, ["bench.match:first"]);
        let detail = patches.host_detail(id, Utc::now()).await.unwrap();
        assert_eq!(detail.pending.len(), 200);
        assert_eq!(detail.summary.package_count, 450);

        // pkg0000-0249 removed (150 of them pending), pkg0250-0269 upgraded (pending, now
        // installed), pkg0270-0298 still pending unchanged, pkg0299 now a security update,
        // pkg0400 newly pending.
        let mut second = first.clone();
        second.sequence = 2;
        second.collected_at = first.collected_at + Duration::hours(1);
        second.packages = (250..450)
            .map(|i| package(&name(i), if i < 270 { "1.0-2" } else { "1.0-1" }))
            .collect();
        second.pending = (270..300)
            .map(|i| update(&name(i), "1.0-1", "1.0-2", i % 3 == 0 || i == 299))
            .chain([update(&name(400), "1.0-1", "1.1-1", false)])
            .collect();
        let delta = second.delta_from(&first);
        assert_eq!(delta.removed.len(), 250);
        assert_eq!(
            delta.removed[0],
            PackageKey {
                name: name(0),
                arch: "amd64".into()
            }
        );
        let outcome = patches.ingest_queueing(id, &delta, &job("second")).await;
        assert_eq!(outcome.unwrap(), IngestOutcome::Applied);

        let detail = patches.host_detail(id, Utc::now()).await.unwrap();
        assert_eq!(detail.packages, second.packages);
        assert_eq!(detail.summary.package_count, 200);
        assert_eq!(detail.history.len(), 170);
        let removed = detail
            .history
            .iter()
            .filter(|r| r.to_version == "(removed)");
        assert_eq!(removed.count(), 150);
        let installed: Vec<_> = detail
            .history
            .iter()
            .filter(|r| r.to_version != "(removed)")
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(installed.len(), 20);
        assert!(installed.iter().all(|n| *n >= name(250) && *n < name(270)));
        let first_seen = chrono::SubsecRound::trunc_subsecs(first.collected_at, 6);
        assert!(detail.history.iter().all(|r| r.first_seen_at == first_seen
            && r.security == (r.name[3..].parse::<usize>().unwrap() % 3 == 0)));
        assert_eq!(detail.pending.len(), 31);
        let pending = |n: &str| detail.pending.iter().find(|p| p.name == n).unwrap();
        // Unchanged rows keep their first sighting; a new one starts at this report.
        assert_eq!(pending(&name(270)).first_seen_at, first_seen);
        assert_eq!(
            pending(&name(400)).first_seen_at,
            chrono::SubsecRound::trunc_subsecs(second.collected_at, 6)
        );
        // Becoming a security update brought pkg0299's due date forward, not its sighting.
        let (was, now) = (pending(&name(298)), pending(&name(299)));
        assert!(now.security && !was.security);
        assert_eq!(now.first_seen_at, first_seen);
        assert!(now.due_at < was.due_at, "{:?} {:?}", now.due_at, was.due_at);
        let mut keys: Vec<_> = store
            .list_jobs(None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|j| j.dedupe_key)
            .filter(|k| k.starts_with("bench.match:"))
            .collect();
        keys.sort();
        assert_eq!(keys, ["bench.match:first", "bench.match:second"]);
    }
);
