//! Scan targets beyond `host:port` against real `openssl s_server`s: address ranges times
//! ports (IPv4 and IPv6), assets reached by address with their host name as SNI; and, on
//! both backends, rescans that expand kept ranges, assets and directories again, with
//! per-asset thresholds and a private CA bundle.

use crate::{
    fixtures::{openssl_fingerprint_and_end, TestCa},
    tls::{free_port, quick, OpensslServer},
};
use chrono::{Duration, Utc};
use opsward_certs::{
    assets::{CertAssetInput, NewScanTarget, ScanTargetKind},
    inventory::{CertFilter, SourceKind},
    rescan::rescan_due,
    sweep::{observe_swept, ScanPlan},
    CertStore, CheckContext, StartTls, TrustStore,
};
use opsward_core::Actor;
use opsward_ops::notifications::Notifier;
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};
use std::{collections::HashMap, net::IpAddr, sync::Arc};

fn actor() -> Actor {
    Actor::system("scheduler")
}

fn codes_at(
    observed: &[opsward_certs::inventory::ObservedSource],
    location: &str,
) -> Vec<&'static str> {
    let o = observed.iter().find(|o| o.location == location).unwrap();
    let findings = o
        .outcome
        .as_ref()
        .unwrap_or_else(|e| panic!("{location}: {e}"));
    findings[0].problems.iter().map(|p| p.code).collect()
}

#[tokio::test]
async fn an_ipv4_range_sweep_finds_the_listener_and_leaves_out_silent_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Sweep CA");
    let (cert, key) = ca.issue_current(&["sweep.test"]).write(dir.path(), "s");
    let server = OpensslServer::start(&cert, &key, &[]);
    let closed = free_port();
    let mut plan = ScanPlan::default();
    plan.add_text(
        &format!("127.0.0.0/30:{},{closed}", server.port),
        &[],
        StartTls::None,
    )
    .unwrap();
    assert_eq!(plan.endpoints.len(), 8, "4 addresses x 2 ports");
    assert_eq!(plan.kept[0].value, "127.0.0.0/30");
    let reports = plan.run(&quick()).await;
    let found: Vec<_> = reports
        .iter()
        .filter(|r| !r.absent())
        .map(|r| r.report.target.clone())
        .collect();
    assert_eq!(found, [format!("127.0.0.1:{}", server.port)]);
    let chain = reports
        .iter()
        .find(|r| !r.absent())
        .unwrap()
        .report
        .result
        .as_ref()
        .unwrap();
    let (fingerprint, _) = openssl_fingerprint_and_end(dir.path(), &cert);
    assert_eq!(chain[0].fingerprint_sha256, fingerprint);
}

#[tokio::test]
async fn an_ipv6_range_is_scanned_without_sni_on_its_ports() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Sweep6 CA");
    let (cert, key) = ca.issue_current(&["::1"]).write(dir.path(), "v6");
    let server =
        OpensslServer::start_on(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), &cert, &key, &[]);
    let mut plan = ScanPlan::default();
    plan.add_text("[::1/128]", &[server.port], StartTls::None)
        .unwrap();
    let reports = plan.run(&quick()).await;
    assert_eq!(reports.len(), 1);
    let location = format!("[::1]:{}", server.port);
    assert_eq!(reports[0].report.target, location);
    let observed = observe_swept(
        &reports,
        &TrustStore::public_roots(),
        &CheckContext::at(Utc::now()),
        &HashMap::new(),
    );
    assert_eq!(observed[0].sni, None);
    let codes = codes_at(&observed, &location);
    assert!(!codes.contains(&"hostname-mismatch"), "{codes:?}");
}

#[tokio::test]
async fn too_large_a_range_is_refused_before_any_connection() {
    let mut plan = ScanPlan::default();
    let e = plan
        .add_text("10.0.0.0/16:443", &[], StartTls::None)
        .unwrap_err();
    assert!(e.to_string().contains("65536 endpoints"), "{e}");
    assert!(plan.endpoints.is_empty());
}

store_test!(
    an_asset_is_reached_at_its_address_with_its_host_name_as_sni,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Asset CA");
        let (default_cert, default_key) =
            ca.issue_current(&["default.test"]).write(dir.path(), "d");
        let (named, named_key) = ca.issue_current(&["www.asset.test"]).write(dir.path(), "n");
        // s_server answers the SNI name www.asset.test with the second certificate only.
        let server = OpensslServer::start(
            &default_cert,
            &default_key,
            &[
                "-servername",
                "www.asset.test",
                "-cert2",
                named.to_str().unwrap(),
                "-key2",
                named_key.to_str().unwrap(),
            ],
        );
        let asset = store
            .create_asset(&actor(), &asset_input("web-1"))
            .await
            .unwrap();
        certs
            .set_asset_settings(
                &actor(),
                asset.id,
                &CertAssetInput {
                    hostname: Some("WWW.asset.test".into()),
                    address: Some("127.0.0.1".into()),
                    ports: vec![server.port],
                    thresholds: None,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let settings = certs.asset_setting("web-1").await.unwrap();
        assert_eq!(settings.hostname.as_deref(), Some("www.asset.test"));
        let mut plan = ScanPlan::default();
        plan.add_asset(&settings, &[], StartTls::None).unwrap();
        let reports = plan.run(&quick()).await;
        let observed = observe_swept(
            &reports,
            &TrustStore::public_roots(),
            &CheckContext::at(Utc::now()),
            &HashMap::new(),
        );
        let location = format!("127.0.0.1:{}", server.port);
        assert_eq!(observed[0].sni.as_deref(), Some("www.asset.test"));
        assert_eq!(observed[0].asset_id, Some(asset.id));
        let findings = observed[0].outcome.as_ref().unwrap();
        let (named_fp, _) = openssl_fingerprint_and_end(dir.path(), &named);
        assert_eq!(findings[0].certificate.fingerprint_sha256, named_fp);
        assert!(!codes_at(&observed, &location).contains(&"hostname-mismatch"));
        // Stored, the place belongs to the asset and keeps its SNI for rescans.
        certs
            .record_scan(&actor(), SourceKind::Endpoint, &observed, Utc::now())
            .await
            .unwrap();
        let source = certs.sources(None).await.unwrap().remove(0);
        assert_eq!(
            (source.asset_id, source.sni.as_deref()),
            (Some(asset.id), Some("www.asset.test"))
        );
        // Without an address or host name an asset cannot be scanned, and says why.
        let bare = store
            .create_asset(&actor(), &asset_input("bare"))
            .await
            .unwrap();
        let bare = certs
            .asset_settings()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.asset_id == bare.id)
            .unwrap();
        let e = ScanPlan::default()
            .add_asset(&bare, &[], StartTls::None)
            .unwrap_err();
        assert!(e.to_string().contains("no TLS address"), "{e}");
    }
);

store_test!(
    an_assets_thresholds_decide_its_certificates_problems_and_alerts,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let notifier = Notifier::new(store.as_ref());
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Threshold CA");
        // 45 days left: nothing by the default 30/14/7/1, "expires soon" by 60 days.
        let (cert, key) = ca
            .issue_around_now(&["localhost"], -1, 45)
            .write(dir.path(), "t");
        let a = OpensslServer::start(&cert, &key, &[]);
        let b = OpensslServer::start(&cert, &key, &[]);
        let mut tagged = asset_input("pci-web");
        tagged.tags = vec!["pci".into()];
        let asset = store.create_asset(&actor(), &tagged).await.unwrap();
        certs
            .set_tag_thresholds(&actor(), "PCI", Some(&[60, 10]), Utc::now())
            .await
            .unwrap();
        certs
            .set_asset_settings(
                &actor(),
                asset.id,
                &CertAssetInput {
                    hostname: Some("localhost".into()),
                    ports: vec![a.port],
                    ..CertAssetInput::default()
                },
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(certs.asset_thresholds().await.unwrap()[&asset.id], [60, 10]);
        // The asset's endpoint is kept as an asset target; the other endpoint is plain.
        certs
            .add_scan_targets(
                &actor(),
                &[NewScanTarget {
                    kind: ScanTargetKind::Asset,
                    value: asset.id.to_string(),
                    ports: vec![],
                    starttls: "none".into(),
                }],
                Utc::now(),
            )
            .await
            .unwrap();
        let mut plan = ScanPlan::default();
        plan.add_text(&format!("localhost:{}", b.port), &[], StartTls::None)
            .unwrap();
        let observed = observe_swept(
            &plan.run(&quick()).await,
            &TrustStore::public_roots(),
            &CheckContext::at(Utc::now()),
            &HashMap::new(),
        );
        assert!(!codes_at(&observed, &format!("localhost:{}", b.port)).contains(&"expires-soon"));
        certs
            .record_scan(&actor(), SourceKind::Endpoint, &observed, Utc::now())
            .await
            .unwrap();
        let run = rescan_due(
            &certs,
            &notifier,
            &TrustStore::public_roots(),
            &quick(),
            &actor(),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(run.endpoints, 1, "{run:?}");
        let stored = certs.list(&CertFilter::default()).await.unwrap();
        assert_eq!(stored.len(), 1);
        let sightings = certs.sightings(stored[0].id).await.unwrap();
        let on_asset = sightings
            .iter()
            .find(|s| s.source.asset_id == Some(asset.id))
            .unwrap();
        let elsewhere = sightings
            .iter()
            .find(|s| s.source.asset_id.is_none())
            .unwrap();
        let soon = on_asset
            .problems
            .iter()
            .find(|p| p.code == "expires-soon")
            .unwrap();
        assert!(
            soon.message.contains("60-day threshold"),
            "{}",
            soon.message
        );
        assert!(elsewhere.problems.iter().all(|p| p.code != "expires-soon"));
        // Seen on the asset, the certificate is due for renewal by the asset's 60 days.
        assert_eq!(run.renewal.opened, 1);
        assert!(certs.renewal(stored[0].id).await.unwrap().is_some());
        // Without the override nothing would be due: clear it and check the plan again.
        certs
            .set_tag_thresholds(&actor(), "pci", None, Utc::now())
            .await
            .unwrap();
        assert!(certs.certificate_thresholds().await.unwrap().is_empty());
    }
);

store_test!(
    rescans_use_the_private_ca_bundle_and_walk_kept_directories_again,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let notifier = Notifier::new(store.as_ref());
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        std::fs::create_dir_all(pki.join("sub")).unwrap();
        let ca = TestCa::new("Private Root");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca.pem).unwrap();
        let (cert, key) = ca.issue_current(&["localhost"]).write(dir.path(), "leaf");
        let server = OpensslServer::start(&cert, &key, &[]);
        let mut private = TrustStore::public_roots();
        assert_eq!(private.add_pem_file(&ca_file).unwrap(), 1);
        let first = ca.issue_current(&["a.test"]);
        first.write(&pki, "a");
        certs
            .add_scan_targets(
                &actor(),
                &[
                    NewScanTarget {
                        kind: ScanTargetKind::Range,
                        value: "127.0.0.1/32".into(),
                        ports: vec![server.port],
                        starttls: "none".into(),
                    },
                    NewScanTarget {
                        kind: ScanTargetKind::Directory,
                        value: pki.display().to_string(),
                        ports: vec![],
                        starttls: "none".into(),
                    },
                ],
                Utc::now(),
            )
            .await
            .unwrap();
        let location = format!("127.0.0.1:{}", server.port);
        let problems_at = |certs: CertStore, location: String| async move {
            let s = certs.sources(None).await.unwrap();
            let source = s.iter().find(|s| s.location == location).unwrap().clone();
            let list = certs.list(&CertFilter::default()).await.unwrap();
            let mut codes = Vec::new();
            for c in list {
                for g in certs.sightings(c.id).await.unwrap() {
                    if g.current && g.source.id == source.id {
                        codes.extend(g.problems.iter().map(|p| p.code.clone()));
                    }
                }
            }
            codes
        };
        // Public roots only: the private chain is untrusted.
        let now = Utc::now();
        let run = rescan_due(
            &certs,
            &notifier,
            &TrustStore::public_roots(),
            &quick(),
            &actor(),
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            (run.endpoints, run.files, run.files_gone),
            (1, 2, 0),
            "{run:?}"
        );
        assert!(problems_at(certs.clone(), location.clone())
            .await
            .contains(&"untrusted-chain".to_string()));
        // A day later with the bundle: trusted. In the directory one file went and one came.
        std::fs::remove_file(pki.join("a.crt")).unwrap();
        ca.issue_current(&["b.test"]).write(&pki.join("sub"), "b");
        let later = now + Duration::minutes(1441);
        let run = rescan_due(&certs, &notifier, &private, &quick(), &actor(), later)
            .await
            .unwrap();
        assert!(!problems_at(certs.clone(), location.clone())
            .await
            .contains(&"untrusted-chain".to_string()));
        assert_eq!(run.files_gone, 1, "{run:?}");
        let files: Vec<_> = certs
            .sources(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.kind == SourceKind::File)
            .collect();
        let gone = files
            .iter()
            .find(|s| s.location.ends_with("a.crt"))
            .unwrap();
        assert!(gone
            .last_error
            .as_deref()
            .unwrap()
            .contains("no longer found"));
        let came = files
            .iter()
            .find(|s| s.location.ends_with("b.crt"))
            .unwrap();
        assert_eq!(came.last_error, None);
        let a_cert = certs
            .list(&CertFilter {
                include_retired: true,
                ..CertFilter::default()
            })
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.san_dns == ["a.test"])
            .unwrap();
        assert_eq!(
            a_cert.current_sightings, 0,
            "the removed file's sighting ended"
        );
        // The walk does not end files it merely did not reach: a removed directory is a
        // failed walk, and its files keep their sightings.
        let kept = certs.scan_targets(None).await.unwrap();
        assert!(kept.iter().all(|t| t.last_scan_at.is_some()));
    }
);
