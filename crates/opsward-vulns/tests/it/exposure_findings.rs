//! Exposure findings on both backends, against real listeners bound by the test: an open port
//! the policy does not allow is a finding; it is fixed when the port closes or is allowed, and
//! reopens when it comes back. Lockfile scans of the same asset leave these findings alone.

use std::collections::HashSet;
use std::sync::Arc;

use opsward_core::{audit::AuditFilter, page::PageRequest, Actor};
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};
use opsward_vulns::exposure_findings::{
    record_report, run_if_due, scan_and_record, targets, ExposureReport,
};
use opsward_vulns::findings::{FindingFilter, FindingKind, FindingState};
use opsward_vulns::policy::DuePolicy;
use opsward_vulns::settings::PortPolicyInput;
use opsward_vulns::VulnStore;
use tokio::net::TcpListener;

fn actor() -> Actor {
    Actor::user(1, "secops")
}

async fn listen(port: u16) -> TcpListener {
    TcpListener::bind(("127.0.0.1", port)).await.unwrap()
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> u16 {
    listen(0).await.local_addr().unwrap().port()
}

async fn exposures(vulns: &VulnStore, asset_id: i64) -> Vec<(String, FindingState)> {
    let mut found: Vec<_> = vulns
        .findings(&FindingFilter {
            asset_id: Some(asset_id),
            kind: Some(FindingKind::Exposure),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.package, f.state))
        .collect();
    found.sort();
    found
}

store_test!(
    open_ports_outside_the_policy_are_findings_until_closed_or_allowed,
    |store: Arc<dyn Store>| async move {
        let vulns = VulnStore::new(store.as_ref());
        let asset = store
            .create_asset(&actor(), &asset_input("web-1"))
            .await
            .unwrap();
        let mut untagged = asset_input("db-1");
        untagged.tags = vec![];
        let other = store.create_asset(&actor(), &untagged).await.unwrap();

        let allowed = listen(0).await;
        let exposed = listen(0).await;
        let (a, b) = (
            allowed.local_addr().unwrap().port(),
            exposed.local_addr().unwrap().port(),
        );
        let c = closed_port().await;
        let scanned = format!("{a},{b},{c}");
        let mut policy = PortPolicyInput {
            asset_id: Some(asset.id),
            tag: None,
            allowed: a.to_string(),
            scan_ports: Some(scanned.clone()),
            address: Some("127.0.0.1".into()),
        };
        vulns.set_port_policy(&actor(), &policy).await.unwrap();

        // Only assets with a policy are scheduled; the first run is due at once.
        let covered = targets(&vulns, store.as_ref(), None).await.unwrap();
        assert_eq!(covered.len(), 1);
        assert_eq!(covered[0].asset_id, asset.id);
        let run = run_if_due(&vulns, store.as_ref(), &actor(), chrono::Utc::now())
            .await
            .unwrap()
            .expect("the first scheduled scan is due");
        assert_eq!((run.assets, run.errors), (1, 0), "{}", run.detail);
        assert_eq!(
            exposures(&vulns, asset.id).await,
            vec![(format!("tcp/{b}"), FindingState::Open)]
        );
        assert!(
            run_if_due(&vulns, store.as_ref(), &actor(), chrono::Utc::now())
                .await
                .unwrap()
                .is_none(),
            "not due again within the interval"
        );

        // A lockfile scan of the asset finds nothing: its exposure stays open.
        let lockfile = vulns
            .record_scan(&actor(), asset.id, &[], &DuePolicy::default())
            .await
            .unwrap();
        assert_eq!(lockfile.fixed, 0);
        assert_eq!(
            exposures(&vulns, asset.id).await,
            vec![(format!("tcp/{b}"), FindingState::Open)]
        );

        // Closed: fixed. Open again: reopened.
        drop(exposed);
        let targets_now = targets(&vulns, store.as_ref(), Some(asset.id))
            .await
            .unwrap();
        scan_and_record(
            &vulns,
            store.as_ref(),
            &actor(),
            targets_now.clone(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(
            exposures(&vulns, asset.id).await,
            vec![(format!("tcp/{b}"), FindingState::Fixed)]
        );
        let _back = listen(b).await;
        scan_and_record(
            &vulns,
            store.as_ref(),
            &actor(),
            targets_now,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(
            exposures(&vulns, asset.id).await,
            vec![(format!("tcp/{b}"), FindingState::Open)]
        );

        // Allowed later: fixed at the next scan although still open.
        policy.allowed = format!("{a},{b}");
        vulns.set_port_policy(&actor(), &policy).await.unwrap();
        let targets_now = targets(&vulns, store.as_ref(), Some(asset.id))
            .await
            .unwrap();
        scan_and_record(
            &vulns,
            store.as_ref(),
            &actor(),
            targets_now,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(
            exposures(&vulns, asset.id).await,
            vec![(format!("tcp/{b}"), FindingState::Fixed)]
        );

        // Every transition is audited.
        let finding = vulns
            .findings(&FindingFilter {
                asset_id: Some(asset.id),
                kind: Some(FindingKind::Exposure),
                ..Default::default()
            })
            .await
            .unwrap()
            .remove(0);
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("vuln_finding".into()),
                    entity_id: Some(finding.id),
                    ..Default::default()
                },
                PageRequest::first(50),
            )
            .await
            .unwrap();
        let mut actions: Vec<_> = audit.items.iter().map(|e| e.action.as_str()).collect();
        actions.sort();
        assert_eq!(actions, ["fixed", "fixed", "open", "reopen"]);

        // A tag policy covers untagged assets once they carry the tag; the other asset has
        // none and is only scanned with `scan_all_assets`.
        assert!(targets(&vulns, store.as_ref(), None)
            .await
            .unwrap()
            .iter()
            .all(|t| t.asset_id != other.id));
        let mut settings = vulns.settings().await.unwrap();
        settings.exposure.scan_all_assets = true;
        vulns.set_settings(&actor(), &settings).await.unwrap();
        let all: HashSet<i64> = targets(&vulns, store.as_ref(), None)
            .await
            .unwrap()
            .iter()
            .map(|t| t.asset_id)
            .collect();
        assert_eq!(all, HashSet::from([asset.id, other.id]));
    }
);

store_test!(
    reported_scans_only_fix_the_ports_they_scanned,
    |store: Arc<dyn Store>| async move {
        let vulns = VulnStore::new(store.as_ref());
        let mut input = asset_input("app-7");
        input.tags = vec!["web".into()];
        let asset = store.create_asset(&actor(), &input).await.unwrap();
        vulns
            .set_port_policy(
                &actor(),
                &PortPolicyInput {
                    asset_id: None,
                    tag: Some("web".into()),
                    allowed: "80,443".into(),
                    scan_ports: None,
                    address: None,
                },
            )
            .await
            .unwrap();
        let report = |scanned: &str, open: &[u16]| ExposureReport {
            scanned: scanned.into(),
            open: open.to_vec(),
        };
        let first = record_report(
            &vulns,
            store.as_ref(),
            &actor(),
            asset.id,
            &report("1-10000", &[80, 3306, 8080]),
        )
        .await
        .unwrap();
        assert_eq!(
            first.exposures,
            vec![3306, 8080],
            "the tag's policy allows 80"
        );
        assert_eq!(first.findings.new, 2);
        // A scan of 8000-9000 only says nothing about 3306.
        let second = record_report(
            &vulns,
            store.as_ref(),
            &actor(),
            asset.id,
            &report("8000-9000", &[]),
        )
        .await
        .unwrap();
        assert_eq!(second.findings.fixed, 1);
        assert_eq!(
            exposures(&vulns, asset.id).await,
            vec![
                ("tcp/3306".into(), FindingState::Open),
                ("tcp/8080".into(), FindingState::Fixed)
            ]
        );
        // Reports that contradict themselves are refused.
        assert!(record_report(
            &vulns,
            store.as_ref(),
            &actor(),
            asset.id,
            &report("1-100", &[8080])
        )
        .await
        .is_err());
        assert!(record_report(
            &vulns,
            store.as_ref(),
            &actor(),
            asset.id,
            &report("ssh", &[])
        )
        .await
        .is_err());
        // A bad policy is refused with the field named.
        let bad = vulns
            .set_port_policy(
                &actor(),
                &PortPolicyInput {
                    asset_id: Some(asset.id),
                    tag: None,
                    allowed: "22,99999".into(),
                    scan_ports: None,
                    address: None,
                },
            )
            .await
            .unwrap_err();
        assert!(bad.to_string().contains("allowed"), "{bad}");
    }
);
