//! The certificate inventory on SQLite and PostgreSQL: certificates kept once with every
//! sighting, owners, filters, renewal tasks that close themselves once the replacement is
//! served everywhere, and expiry alerts through the notification outbox.

use crate::{
    fixtures::{openssl_fingerprint_and_end, TestCa},
    tls::OpensslServer,
};
use chrono::{Duration, Utc};
use opsward_certs::{
    inventory::{
        CertFilter, CertSettings, ObservedSource, OwnerInput, RenewalStatus, RenewalUpdate,
        SourceKind,
    },
    renewal::reconcile,
    rescan::{observe_endpoints, observe_files, rescan_due},
    scan_endpoints, scan_paths, CertStore, CheckContext, StartTls, TrustStore,
};
use opsward_core::{audit::AuditFilter, people::TeamInput, Actor};
use opsward_notify::{ChannelConfig, Severity, WebhookConfig};
use opsward_ops::notifications::{Notifier, RuleInput};
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};
use std::{path::Path, sync::Arc};

fn actor() -> Actor {
    Actor::user(1, "certadmin")
}

pub(crate) fn files_scan(paths: &[&Path]) -> Vec<ObservedSource> {
    let paths: Vec<_> = paths.iter().map(|p| p.to_path_buf()).collect();
    observe_files(&scan_paths(&paths), &CheckContext::at(Utc::now()))
}

/// A rule that puts every certificate event in the outbox (nothing is delivered here).
pub(crate) async fn certificate_rule(store: &dyn Store) -> Notifier {
    let notifier = Notifier::new(store);
    let channel = notifier
        .create_channel(
            &actor(),
            "hook",
            &ChannelConfig::Webhook(WebhookConfig {
                url: "http://127.0.0.1:9/hook".into(),
                secret: "s3cret-s3cret-s3cret".into(),
                timeout_secs: 2,
            }),
        )
        .await
        .unwrap();
    let rule = RuleInput {
        name: "certs".into(),
        channel_id: channel.id,
        events: vec!["certificate.expiring".into(), "certificate.expired".into()],
        practice: None,
        min_severity: Severity::Info,
        owner_team_id: None,
        owner_person_id: None,
        digest: false,
        quiet_hours: None,
        enabled: true,
    };
    notifier.create_rule(&actor(), None, &rule).await.unwrap();
    notifier
}

store_test!(
    a_certificate_is_stored_once_with_every_place_it_is_seen,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Inventory CA");
        let leaf = ca.issue_around_now(&["www.example.test"], -1, 200);
        let (a, key) = leaf.write(dir.path(), "a");
        let b = dir.path().join("b.pem");
        std::fs::copy(&a, &b).unwrap();

        let first = certs
            .record_scan(
                &actor(),
                SourceKind::File,
                &files_scan(&[&a, &b]),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                first.sources,
                first.errors,
                first.certificates,
                first.new_certificates
            ),
            (2, 0, 1, 1)
        );

        // The same certificate served by a real TLS server.
        let server = OpensslServer::start(&a, &key, &[]);
        let target = format!("127.0.0.1:{}", server.port);
        let reports = scan_endpoints(std::slice::from_ref(&target), &crate::tls::quick()).await;
        let observed = observe_endpoints(
            &reports,
            &TrustStore::public_roots(),
            &CheckContext::at(Utc::now()),
            StartTls::None,
        );
        let second = certs
            .record_scan(&actor(), SourceKind::Endpoint, &observed, Utc::now())
            .await
            .unwrap();
        assert_eq!((second.certificates, second.new_certificates), (1, 0));

        let all = certs.list(&CertFilter::default()).await.unwrap();
        assert_eq!(all.len(), 1, "stored once by fingerprint");
        let cert = &all[0];
        let (fingerprint, not_after) = openssl_fingerprint_and_end(dir.path(), &a);
        assert_eq!(cert.fingerprint_sha256, fingerprint);
        assert_eq!(cert.not_after, not_after);
        assert_eq!(cert.current_sightings, 3);
        assert_eq!(
            certs
                .by_fingerprint(&fingerprint.to_uppercase())
                .await
                .unwrap()
                .id,
            cert.id
        );
        // At the endpoint it is untrusted (a private CA) and the name does not match the IP.
        let codes: Vec<_> = cert.problems.iter().map(|p| p.code.as_str()).collect();
        assert!(
            codes.contains(&"untrusted-chain") && codes.contains(&"hostname-mismatch"),
            "{codes:?}"
        );

        // Where is it deployed? Two files and one endpoint.
        let sightings = certs.sightings(cert.id).await.unwrap();
        let mut places: Vec<_> = sightings
            .iter()
            .map(|s| (s.source.kind, s.source.location.clone()))
            .collect();
        places.sort();
        let mut expected = vec![
            (SourceKind::Endpoint, target.clone()),
            (SourceKind::File, a.display().to_string()),
            (SourceKind::File, b.display().to_string()),
        ];
        expected.sort();
        assert_eq!(places, expected);
        assert!(sightings.iter().all(|s| s.current));

        // A rescan keeps first-seen and moves last-seen.
        let later = Utc::now() + Duration::minutes(5);
        certs
            .record_scan(&actor(), SourceKind::File, &files_scan(&[&a]), later)
            .await
            .unwrap();
        let again = certs.sightings(cert.id).await.unwrap();
        let at_a = again
            .iter()
            .find(|s| s.source.location == a.display().to_string())
            .unwrap();
        assert!(at_a.first_seen_at < at_a.last_seen_at);
        assert_eq!(
            certs.get(cert.id).await.unwrap().last_seen_at.timestamp(),
            later.timestamp()
        );

        // A place that fails keeps what it served; the error is recorded on the place.
        std::fs::write(&b, b"-----BEGIN CERTIFICATE-----\nMIIB").unwrap();
        certs
            .record_scan(&actor(), SourceKind::File, &files_scan(&[&b]), later)
            .await
            .unwrap();
        let sources = certs.sources(None).await.unwrap();
        let at_b = sources
            .iter()
            .find(|s| s.location == b.display().to_string())
            .unwrap();
        assert!(
            at_b.last_error.as_deref().unwrap_or("").contains("PEM"),
            "{at_b:?}"
        );
        assert_eq!(certs.get(cert.id).await.unwrap().current_sightings, 3);

        // History: scan by scan what each of its places served.
        let history = certs.history(cert.id, 50).await.unwrap();
        assert_eq!(history.len(), 5);
        assert!(history.iter().any(|h| h.error.is_some()));
        assert_eq!(certs.scans(10).await.unwrap().len(), 4);

        // Every scan is audited.
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("certificate_scan".into()),
                    ..Default::default()
                },
                opsward_core::page::PageRequest::first(50),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 4);
    }
);

store_test!(
    owners_come_from_the_certificate_or_its_assets_and_filter_lists,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Owner CA");
        let (soon, _) = ca
            .issue_around_now(&["soon.example.test"], -10, 5)
            .write(dir.path(), "soon");
        let (later, _) = ca
            .issue_around_now(&["later.example.test"], -10, 300)
            .write(dir.path(), "later");
        certs
            .record_scan(
                &actor(),
                SourceKind::File,
                &files_scan(&[&soon, &later]),
                Utc::now(),
            )
            .await
            .unwrap();

        let web = store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "web".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let ops = store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "ops".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let mut host = asset_input("web-1");
        host.owner_team_id = Some(web.id);
        let host = store.create_asset(&actor(), &host).await.unwrap();

        // Both files are on web-1: its owner owns both certificates.
        for source in certs.sources(None).await.unwrap() {
            certs
                .set_source_asset(&actor(), source.id, Some(host.id))
                .await
                .unwrap();
        }
        let by_web = certs
            .list(&CertFilter {
                owner_team_id: Some(web.id),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_web.len(), 2);

        // An owner set directly wins.
        let soon_cert = certs
            .list(&CertFilter {
                expires_before: Some(Utc::now() + Duration::days(30)),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(soon_cert.len(), 1);
        let soon_cert = &soon_cert[0];
        assert_eq!(soon_cert.san_dns, ["soon.example.test"]);
        let owned = certs
            .set_owner(
                &actor(),
                soon_cert.id,
                &OwnerInput {
                    owner_team_id: Some(ops.id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(owned.effective_owner_team_id, Some(ops.id));
        let by_ops = certs
            .list(&CertFilter {
                owner_team_id: Some(ops.id),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            by_ops.iter().map(|c| c.id).collect::<Vec<_>>(),
            [soon_cert.id]
        );
        assert!(certs
            .set_owner(
                &actor(),
                soon_cert.id,
                &OwnerInput {
                    owner_team_id: Some(999_999),
                    ..Default::default()
                }
            )
            .await
            .is_err());

        // Problems, issuer, sort.
        let expiring = certs
            .list(&CertFilter {
                problem: Some("expires-soon".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            expiring.iter().map(|c| c.id).collect::<Vec<_>>(),
            [soon_cert.id]
        );
        assert_eq!(
            certs
                .list(&CertFilter {
                    issuer: Some("owner ca".into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(certs
            .list(&CertFilter {
                issuer: Some("nobody".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty());
        let desc = certs
            .list(&CertFilter {
                sort: Some(opsward_certs::inventory::CertSort::ExpiryDesc),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(desc.last().unwrap().id, soon_cert.id);

        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("certificate".into()),
                    ..Default::default()
                },
                opsward_core::page::PageRequest::first(50),
            )
            .await
            .unwrap();
        assert_eq!(
            audit.items.len(),
            1,
            "one owner change (the failed one wrote nothing)"
        );
    }
);

store_test!(
    a_renewal_is_done_once_the_replacement_is_served_everywhere,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let notifier = certificate_rule(store.as_ref()).await;
        let system = Actor::system("certs");
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Renewal CA");
        let old = ca.issue_around_now(&["shop.example.test"], -80, 10);
        let new = ca.issue_around_now(&["shop.example.test"], -1, 100);
        let (a, _) = old.write(dir.path(), "a");
        let (b, _) = old.write(dir.path(), "b");
        let now = Utc::now();
        certs
            .record_scan(&system, SourceKind::File, &files_scan(&[&a, &b]), now)
            .await
            .unwrap();

        let run = reconcile(&certs, &notifier, &system, now).await.unwrap();
        assert_eq!((run.opened, run.completed, run.queued), (1, 0, 1));
        let old_cert = certs.list(&CertFilter::default()).await.unwrap().remove(0);
        let task = certs
            .renewal(old_cert.id)
            .await
            .unwrap()
            .expect("a renewal task");
        assert_eq!(task.status, RenewalStatus::Open);
        // The same threshold is alerted once.
        let again = reconcile(&certs, &notifier, &system, now).await.unwrap();
        assert_eq!((again.opened, again.queued), (0, 0));
        let outbox = notifier.list_outbox(None, 50).await.unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].event, "certificate.expiring");
        assert!(
            outbox[0].subject.contains("shop.example.test"),
            "{}",
            outbox[0].subject
        );

        // Someone starts on it.
        let task = certs
            .update_renewal(
                &actor(),
                task.id,
                &RenewalUpdate {
                    status: RenewalStatus::InProgress,
                    note: Some("ordered".into()),
                },
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            (task.status, task.note.as_str()),
            (RenewalStatus::InProgress, "ordered")
        );

        // The new certificate reaches a.pem only: b.pem was not rotated.
        std::fs::write(&a, &new.cert_pem).unwrap();
        let t1 = now + Duration::minutes(1);
        certs
            .record_scan(&system, SourceKind::File, &files_scan(&[&a, &b]), t1)
            .await
            .unwrap();
        let run = reconcile(&certs, &notifier, &system, t1).await.unwrap();
        assert_eq!((run.completed, run.not_rotated), (0, 1));
        assert_eq!(
            certs.renewal(old_cert.id).await.unwrap().unwrap().status,
            RenewalStatus::InProgress
        );
        // Which places still serve the old one after renewal?
        let still: Vec<_> = certs
            .sightings(old_cert.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.current)
            .collect();
        assert_eq!(still.len(), 1);
        assert_eq!(still[0].source.location, b.display().to_string());
        assert!(still[0].problems.iter().any(|p| p.code == "not-rotated"));
        let flagged = certs
            .list(&CertFilter {
                problem: Some("not-rotated".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            flagged.iter().map(|c| c.id).collect::<Vec<_>>(),
            [old_cert.id]
        );

        // b.pem too: the task closes itself, naming the replacement.
        std::fs::write(&b, &new.cert_pem).unwrap();
        let t2 = now + Duration::minutes(2);
        certs
            .record_scan(&system, SourceKind::File, &files_scan(&[&a, &b]), t2)
            .await
            .unwrap();
        let run = reconcile(&certs, &notifier, &system, t2).await.unwrap();
        assert_eq!(run.completed, 1);
        let done = certs.renewal(old_cert.id).await.unwrap().unwrap();
        let new_cert = certs.list(&CertFilter::default()).await.unwrap().remove(0);
        assert_ne!(new_cert.id, old_cert.id);
        assert_eq!(done.status, RenewalStatus::Done);
        assert_eq!(done.replacement_certificate_id, Some(new_cert.id));
        assert_eq!(done.closed_by.as_deref(), Some("system:certs"));
        // The retired certificate is no longer listed (unless asked) and raises nothing more.
        assert!(certs.get(old_cert.id).await.unwrap().problems.is_empty());
        assert_eq!(
            certs
                .list(&CertFilter {
                    include_retired: true,
                    ..Default::default()
                })
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            reconcile(&certs, &notifier, &system, t2).await.unwrap(),
            Default::default()
        );
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("certificate_renewal".into()),
                    ..Default::default()
                },
                opsward_core::page::PageRequest::first(50),
            )
            .await
            .unwrap();
        let actions: Vec<_> = audit.items.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions.len(), 3, "{actions:?}");
    }
);

store_test!(expiry_alerts_fire_once_per_threshold, |store: Arc<
    dyn Store,
>| async move {
    let certs = CertStore::new(store.as_ref());
    let notifier = certificate_rule(store.as_ref()).await;
    let system = Actor::system("certs");
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = TestCa::new("Alert CA")
        .issue_around_now(&["api.example.test"], -60, 40)
        .write(dir.path(), "a");
    let now = Utc::now();
    certs
        .record_scan(&system, SourceKind::File, &files_scan(&[&a]), now)
        .await
        .unwrap();
    let mut states = Vec::new();
    // Walk the clock towards expiry: 40 days left (nothing), 29 (30d), 20 (30d again: nothing),
    // 13 (14d), 6 (7d), 0.5 (1d), expired.
    for days in [0.0, 11.0, 20.0, 27.0, 34.0, 39.5, 41.0] {
        let at = now + Duration::minutes((days * 1440.0) as i64);
        reconcile(&certs, &notifier, &system, at).await.unwrap();
        states = notifier
            .list_outbox(None, 50)
            .await
            .unwrap()
            .iter()
            .map(|o| o.event.clone())
            .collect();
    }
    assert_eq!(states.len(), 5, "{states:?}");
    assert_eq!(
        states
            .iter()
            .filter(|e| *e == "certificate.expired")
            .count(),
        1
    );

    // Thresholds are a setting.
    assert!(certs
        .set_settings(
            &actor(),
            &CertSettings {
                thresholds: vec![],
                rescan_interval_minutes: 60
            }
        )
        .await
        .is_err());
    let set = certs
        .set_settings(
            &actor(),
            &CertSettings {
                thresholds: vec![60, 3],
                rescan_interval_minutes: 60,
            },
        )
        .await
        .unwrap();
    assert_eq!(certs.settings().await.unwrap(), set);
});

store_test!(
    stored_places_are_rescanned_after_the_interval,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let notifier = Notifier::new(store.as_ref());
        let system = Actor::system("scheduler");
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Rescan CA");
        let (a, key) = ca
            .issue_around_now(&["localhost"], -1, 200)
            .write(dir.path(), "a");
        let server = OpensslServer::start(&a, &key, &[]);
        let target = format!("localhost:{}", server.port);
        let now = Utc::now();
        certs
            .record_scan(&system, SourceKind::File, &files_scan(&[&a]), now)
            .await
            .unwrap();
        let reports = scan_endpoints(std::slice::from_ref(&target), &crate::tls::quick()).await;
        let observed = observe_endpoints(
            &reports,
            &TrustStore::public_roots(),
            &CheckContext::at(now),
            StartTls::None,
        );
        assert!(
            observed[0].outcome.is_ok(),
            "{:?}",
            observed[0].outcome.as_ref().err()
        );
        certs
            .record_scan(&system, SourceKind::Endpoint, &observed, now)
            .await
            .unwrap();

        // Within the interval nothing is due.
        let options = crate::tls::quick();
        let trust = TrustStore::public_roots();
        let run = rescan_due(
            &certs,
            &notifier,
            &trust,
            &options,
            &system,
            now + Duration::minutes(10),
        )
        .await
        .unwrap();
        assert_eq!((run.endpoints, run.files), (0, 0));
        // The endpoint is rotated to a new certificate; a day later both places are scanned again.
        drop(server);
        let (b, bkey) = ca
            .issue_around_now(&["localhost"], -1, 300)
            .write(dir.path(), "b");
        let _server = crate::tls::OpensslServer::start_on_port(server_port(&target), &b, &bkey);
        let later = now + Duration::minutes(1441);
        let run = rescan_due(&certs, &notifier, &trust, &options, &system, later)
            .await
            .unwrap();
        assert_eq!((run.endpoints, run.files, run.errors), (1, 1, 0));
        let sources = certs.sources(None).await.unwrap();
        assert!(sources
            .iter()
            .all(|s| s.last_scan_at.map(|t| t.timestamp()) == Some(later.timestamp())));
        let (new_fp, _) = openssl_fingerprint_and_end(dir.path(), &b);
        let new_cert = certs.by_fingerprint(&new_fp).await.unwrap();
        assert_eq!(new_cert.current_sightings, 1);
        assert_eq!(
            certs.sightings(new_cert.id).await.unwrap()[0]
                .source
                .location,
            target
        );
    }
);

fn server_port(target: &str) -> u16 {
    target.rsplit_once(':').unwrap().1.parse().unwrap()
}
