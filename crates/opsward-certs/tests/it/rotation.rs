//! Rotation detection that matches real renewals (issue 24 item 6): a new certificate that
//! covers every name of the old one, DNS and IP, and adds names, completes the renewal task;
//! one that drops a name does not. On both backends.

use crate::{
    fixtures::TestCa,
    store::{certificate_rule, files_scan},
};
use chrono::{Duration, Utc};
use opsward_certs::{
    inventory::{CertFilter, RenewalStatus, SourceKind},
    renewal::reconcile,
    CertStore,
};
use opsward_core::Actor;
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

store_test!(
    a_renewal_that_adds_names_completes_the_task,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let notifier = certificate_rule(store.as_ref()).await;
        let system = Actor::system("certs");
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Rotation CA");
        // Three certificates due for renewal, each in its own file.
        let cases = [
            // renewed with an IP address added (the case that left the task open)
            (
                vec!["api.example.test"],
                vec!["api.example.test", "192.0.2.7"],
            ),
            // renewed with another DNS name and an IPv6 address added
            (
                vec!["www.example.test", "192.0.2.8"],
                vec![
                    "192.0.2.8",
                    "www.example.test",
                    "new.example.test",
                    "2001:db8::8",
                ],
            ),
            // "renewed" without one of its names: not a replacement
            (
                vec!["a.example.test", "b.example.test"],
                vec!["a.example.test"],
            ),
        ];
        let mut files = Vec::new();
        let mut renewed = Vec::new();
        for (i, (old, new)) in cases.iter().enumerate() {
            let (path, _) = ca
                .issue_around_now(old, -80, 10)
                .write(dir.path(), &format!("c{i}"));
            files.push(path);
            renewed.push(ca.issue_around_now(new, -1, 100));
        }
        let paths: Vec<_> = files.iter().map(|p| p.as_path()).collect();
        let now = Utc::now();
        certs
            .record_scan(&system, SourceKind::File, &files_scan(&paths), now)
            .await
            .unwrap();
        let run = reconcile(&certs, &notifier, &system, now).await.unwrap();
        assert_eq!(run.opened, 3);
        let listed = certs.list(&CertFilter::default()).await.unwrap();
        let old_ids: Vec<i64> = cases
            .iter()
            .map(|(old, _)| {
                let cn = Some(old[0].to_owned());
                listed.iter().find(|c| c.subject_cn == cn).unwrap().id
            })
            .collect();

        for (path, issued) in files.iter().zip(&renewed) {
            std::fs::write(path, &issued.cert_pem).unwrap();
        }
        let t1 = now + Duration::minutes(1);
        certs
            .record_scan(&system, SourceKind::File, &files_scan(&paths), t1)
            .await
            .unwrap();
        let run = reconcile(&certs, &notifier, &system, t1).await.unwrap();
        assert_eq!(run.completed, 2, "{run:?}");
        let mut statuses = Vec::new();
        for id in &old_ids {
            let task = certs.renewal(*id).await.unwrap().expect("a renewal task");
            statuses.push((task.status, task.replacement_certificate_id.is_some()));
        }
        assert_eq!(
            statuses,
            [
                (RenewalStatus::Done, true),
                (RenewalStatus::Done, true),
                (RenewalStatus::Open, false)
            ]
        );
    }
);
