//! A name at an address (issue 24 item 4): two `openssl s_server`s on one port of two
//! loopback addresses serve different certificates for the same name, as two servers behind
//! a load balancer do. Scanned as `name@address:port`, and as an asset with both addresses,
//! each server is its own place, reached with the name as SNI; stored and rescanned, on both
//! backends.

use crate::{
    fixtures::{openssl_fingerprint_and_end, TestCa},
    tls::{quick, OpensslServer},
};
use chrono::Utc;
use opsward_certs::{
    assets::CertAssetInput,
    inventory::{ObservedSource, SourceKind},
    sweep::{observe_swept, ScanPlan},
    CertStore, CheckContext, StartTls, TrustStore,
};
use opsward_core::Actor;
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};
use std::{
    collections::{BTreeMap, HashMap},
    net::{IpAddr, TcpListener},
    path::Path,
    sync::Arc,
};

const NAME: &str = "www.lb.test";

/// A server at `ip`:`port` that answers SNI `www.lb.test` with its own certificate for that
/// name, and anything else (no SNI at all) with a certificate for another name.
fn server_for_the_name(
    ca: &TestCa,
    dir: &Path,
    ip: IpAddr,
    port: u16,
    tag: &str,
) -> (OpensslServer, String) {
    let (fallback, fallback_key) = ca
        .issue_current(&["fallback.test"])
        .write(dir, &format!("f{tag}"));
    let (named, named_key) = ca.issue_current(&[NAME]).write(dir, &format!("n{tag}"));
    let server = OpensslServer::start_at(
        ip,
        port,
        &fallback,
        &fallback_key,
        &[
            "-servername",
            NAME,
            "-cert2",
            named.to_str().unwrap(),
            "-key2",
            named_key.to_str().unwrap(),
        ],
    );
    (server, openssl_fingerprint_and_end(dir, &named).0)
}

fn ca_file(ca: &TestCa, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("ca.pem");
    std::fs::write(&path, &ca.pem).unwrap();
    path
}

/// Location -> (SNI, leaf fingerprint, problem codes) of what a plan found.
fn found(
    observed: &[ObservedSource],
) -> BTreeMap<String, (Option<String>, String, Vec<&'static str>)> {
    observed
        .iter()
        .map(|o| {
            let findings = o
                .outcome
                .as_ref()
                .unwrap_or_else(|e| panic!("{}: {e}", o.location));
            (
                o.location.clone(),
                (
                    o.sni.clone(),
                    findings[0].certificate.fingerprint_sha256.clone(),
                    findings[0].problems.iter().map(|p| p.code).collect(),
                ),
            )
        })
        .collect()
}

async fn observe(plan: ScanPlan, trust: &TrustStore) -> Vec<ObservedSource> {
    observe_swept(
        &plan.run(&quick()).await,
        trust,
        &CheckContext::at(Utc::now()),
        &HashMap::new(),
    )
}

store_test!(two_servers_behind_one_name_are_two_places, |store: Arc<
    dyn Store,
>| async move {
    let certs = CertStore::new(store.as_ref());
    let actor = Actor::system("test");
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("LB CA");
    let mut trust = TrustStore::public_roots();
    trust.add_pem_file(&ca_file(&ca, dir.path())).unwrap();
    let (a, b) = ([127, 0, 0, 2].into(), [127, 0, 0, 3].into());
    // One port on both addresses, as behind a load balancer.
    let port = TcpListener::bind((a, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_sa, fp_a) = server_for_the_name(&ca, dir.path(), a, port, "a");
    let (_sb, fp_b) = server_for_the_name(&ca, dir.path(), b, port, "b");
    assert_ne!(fp_a, fp_b);

    let mut plan = ScanPlan::default();
    for address in ["127.0.0.2", "127.0.0.3"] {
        plan.add_text(
            &format!("WWW.lb.test@{address}:{port}"),
            &[],
            StartTls::None,
        )
        .unwrap();
    }
    let observed = observe(plan, &trust).await;
    let (at_a, at_b) = (
        format!("{NAME}@127.0.0.2:{port}"),
        format!("{NAME}@127.0.0.3:{port}"),
    );
    let by_location = found(&observed);
    // The name was sent (else the fallback certificate would have come back) and checked.
    assert_eq!(
        by_location[&at_a],
        (Some(NAME.into()), fp_a.clone(), vec![])
    );
    assert_eq!(
        by_location[&at_b],
        (Some(NAME.into()), fp_b.clone(), vec![])
    );

    // Stored, they are two places, and a rescan from the stored places reaches each again.
    certs
        .record_scan(&actor, SourceKind::Endpoint, &observed, Utc::now())
        .await
        .unwrap();
    let sources = certs.sources(None).await.unwrap();
    let mut locations: Vec<_> = sources
        .iter()
        .map(|s| (s.location.clone(), s.sni.clone()))
        .collect();
    locations.sort();
    assert_eq!(
        locations,
        [
            (at_a.clone(), Some(NAME.into())),
            (at_b.clone(), Some(NAME.into()))
        ]
    );
    let mut rescan = ScanPlan::default();
    sources.iter().for_each(|s| rescan.add_source(s));
    assert_eq!(found(&observe(rescan, &trust).await), by_location);

    // An asset at both addresses: each address is its own place, the host name as SNI.
    let asset = store
        .create_asset(&actor, &asset_input("web-pool"))
        .await
        .unwrap();
    certs
        .set_asset_settings(
            &actor,
            asset.id,
            &CertAssetInput {
                hostname: Some(NAME.into()),
                address: Some("127.0.0.2 , 127.0.0.3,127.0.0.2".into()),
                ports: vec![port],
                thresholds: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let settings = certs.asset_setting("web-pool").await.unwrap();
    assert_eq!(settings.address.as_deref(), Some("127.0.0.2, 127.0.0.3"));
    let mut plan = ScanPlan::default();
    plan.add_asset(&settings, &[], StartTls::None).unwrap();
    let on_asset = found(&observe(plan, &trust).await);
    let fingerprints: Vec<_> = on_asset
        .values()
        .map(|(sni, fp, codes)| {
            assert_eq!((sni.as_deref(), codes.len()), (Some(NAME), 0));
            fp.clone()
        })
        .collect();
    assert_eq!(fingerprints, [fp_a, fp_b]);
});

#[tokio::test]
async fn a_name_at_an_ipv6_address_is_reached_there() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("LB6 CA");
    let mut trust = TrustStore::public_roots();
    trust.add_pem_file(&ca_file(&ca, dir.path())).unwrap();
    let ip: IpAddr = "::1".parse().unwrap();
    let port = TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_server, fp) = server_for_the_name(&ca, dir.path(), ip, port, "6");
    let mut plan = ScanPlan::default();
    plan.add_text(&format!("{NAME}@[::1]:{port}"), &[], StartTls::None)
        .unwrap();
    let by_location = found(&observe(plan, &trust).await);
    assert_eq!(
        by_location[&format!("{NAME}@[::1]:{port}")],
        (Some(NAME.into()), fp, vec![])
    );
}
