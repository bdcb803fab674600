//! Seed for `bench/picture/run.sh`: a large organisation's data written through the
//! practices' own stores (the same rows, audit rows and derived columns a server writes),
//! batched where a store offers a batch (certificate scans, host reports, vulnerability
//! scans, backlog imports).
//!
//! `cargo run --release -p opsward --example picture_seed -- DATABASE_URL`
//!
//! Counts come from the environment, defaulting to issue 18's numbers: ASSETS (10000),
//! CERTIFICATES (5000), HOSTS (1000), PACKAGES per host (1500), FINDINGS (100000),
//! ACTIVITIES (10000), BACKLOG_ITEMS (100000), SUPPLIERS (500). Asset `asset-00000` gets
//! a piece of every practice (a certificate, a host, findings, backlog items, activities);
//! its id is printed last as `featured_asset=ID`.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use opsward_backlog::{BacklogStore, ItemInput, ItemType};
use opsward_certs::{
    checks::{check_certificate, CheckContext},
    inventory::{ObservedSource, SourceKind},
    CertStore, CertificateInfo, Sighting, Source,
};
use opsward_core::{
    asset::{AssetInput, AssetKind, Criticality},
    people::TeamInput,
    practice::Practice,
    Actor,
};
use opsward_ops::{ActivityInput, OpsStore};
use opsward_patches::{store::PatchStore, RebootRequired};
use opsward_store::{Store, StoreSettings};
use opsward_suppliers::{SupplierInput, SupplierStore};
use opsward_vulns::{
    inventory::Package, policy::DuePolicy, severity::CvssScore, Match, MatchedAdvisory, Severity,
    VulnStore,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::{path::PathBuf, sync::Arc, time::Instant};

struct Counts {
    assets: usize,
    certificates: usize,
    hosts: usize,
    packages: usize,
    findings: usize,
    activities: usize,
    backlog_items: usize,
    suppliers: usize,
}

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const TEAMS: usize = 20;
const FINDINGS_PER_ASSET: usize = 50;
const BATCH: usize = 1000;

fn asset_name(i: usize) -> String {
    format!("asset-{i:05}")
}

/// Time one part and say how long it took.
macro_rules! timed {
    ($what:expr, $body:expr) => {{
        let started = Instant::now();
        let out = $body;
        eprintln!(
            "seeded {} in {:.1} s",
            $what,
            started.elapsed().as_secs_f64()
        );
        out
    }};
}

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: picture_seed DATABASE_URL");
    let n = Counts {
        assets: count("ASSETS", 10_000),
        certificates: count("CERTIFICATES", 5_000),
        hosts: count("HOSTS", 1_000),
        packages: count("PACKAGES", 1_500),
        findings: count("FINDINGS", 100_000),
        activities: count("ACTIVITIES", 10_000),
        backlog_items: count("BACKLOG_ITEMS", 100_000),
        suppliers: count("SUPPLIERS", 500),
    };
    assert!(n.hosts <= n.assets && n.findings / FINDINGS_PER_ASSET <= n.assets);
    let store = opsward_store::connect(&StoreSettings::new(url))
        .await
        .expect("connect");
    let actor = Actor::system("bench");
    let started = Instant::now();
    let teams = timed!("teams", seed_teams(store.as_ref(), &actor).await);
    let assets = timed!(
        format!("{} assets", n.assets),
        seed_assets(store.as_ref(), &actor, &n, &teams).await
    );
    timed!(
        format!("{} certificates", n.certificates),
        seed_certificates(store.as_ref(), &actor, &n, &assets).await
    );
    timed!(
        format!("{} hosts x {} packages", n.hosts, n.packages),
        seed_hosts(store.as_ref(), &actor, &n).await
    );
    timed!(
        format!("{} findings", n.findings),
        seed_findings(&store, &actor, &n, &assets).await
    );
    timed!(
        format!("{} activities", n.activities),
        seed_activities(store.as_ref(), &actor, &n, &assets, &teams).await
    );
    timed!(
        format!("{} backlog items", n.backlog_items),
        seed_backlog(store.as_ref(), &actor, &n, &assets, &teams).await
    );
    timed!(
        format!("{} suppliers", n.suppliers),
        seed_suppliers(store.as_ref(), &actor, &n, &assets, &teams).await
    );
    eprintln!(
        "seeding took {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
    println!("featured_asset={}", assets[0]);
}

async fn seed_teams(store: &dyn Store, actor: &Actor) -> Vec<i64> {
    let mut ids = Vec::with_capacity(TEAMS);
    for t in 0..TEAMS {
        let input = TeamInput {
            name: format!("team {t:02}"),
            email: None,
        };
        ids.push(store.create_team(actor, &input).await.expect("team").id);
    }
    ids
}

async fn seed_assets(store: &dyn Store, actor: &Actor, n: &Counts, teams: &[i64]) -> Vec<i64> {
    let mut ids = Vec::with_capacity(n.assets);
    for i in 0..n.assets {
        let input = AssetInput {
            name: asset_name(i),
            // The first HOSTS assets are the hosts agents report for.
            kind: if i < n.hosts {
                AssetKind::Host
            } else {
                [AssetKind::Service, AssetKind::Application][i % 2]
            },
            environment: ["production", "staging", "development"][i % 3].into(),
            criticality: [
                Criticality::Low,
                Criticality::Medium,
                Criticality::High,
                Criticality::Critical,
            ][i % 4],
            owner_team_id: (i % 10 != 0).then(|| teams[i % teams.len()]),
            owner_person_id: None,
            tags: vec![format!("site-{}", i % 7)],
            description: String::new(),
        };
        ids.push(store.create_asset(actor, &input).await.expect("asset").id);
    }
    ids
}

/// Distinct leaf certificates signed by one CA, expiring from 10 days ago to a year ahead,
/// checked as a file scan would check them, each on one asset.
async fn seed_certificates(store: &dyn Store, actor: &Actor, n: &Counts, assets: &[i64]) {
    let now = Utc::now();
    let ctx = CheckContext::at(now);
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "bench CA");
    let issuer = Issuer::new(ca, KeyPair::generate().expect("ca key"));
    let key = KeyPair::generate().expect("leaf key");
    let certs = CertStore::new(store);
    let ymd = |d: NaiveDate| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    let mut observed = Vec::with_capacity(BATCH);
    for i in 0..n.certificates {
        let name = format!("www{i}.bench.example");
        let mut p = CertificateParams::new(vec![name.clone()]).expect("params");
        p.distinguished_name.push(DnType::CommonName, name);
        p.not_before = ymd(now.date_naive() - Duration::days(300));
        p.not_after = ymd(now.date_naive() + Duration::days((i % 375) as i64 - 10));
        let der = p.signed_by(&key, &issuer).expect("sign").der().to_vec();
        let certificate = CertificateInfo::from_der(&der).expect("parse");
        let path = PathBuf::from(format!("/etc/ssl/bench/www{i}.pem"));
        observed.push(ObservedSource {
            kind: SourceKind::File,
            location: path.display().to_string(),
            sni: None,
            starttls: String::new(),
            asset_id: Some(assets[(i * 2) % assets.len()]),
            outcome: Ok(vec![opsward_certs::Finding {
                sighting: Sighting {
                    source: Source::File { path },
                    chain_position: 0,
                },
                problems: check_certificate(&certificate, true, &ctx),
                certificate,
            }]),
        });
        if observed.len() == BATCH || i + 1 == n.certificates {
            certs
                .record_scan(actor, SourceKind::File, &observed, now)
                .await
                .expect("certificate scan");
            observed.clear();
        }
    }
}

/// Each host enrolls and sends one full report: PACKAGES packages, 20 pending updates
/// (5 security), every tenth host waiting for a reboot.
async fn seed_hosts(store: &dyn Store, actor: &Actor, n: &Counts) {
    let patches = PatchStore::new(store);
    let expires = Utc::now() + Duration::days(1);
    patches
        .create_enrollment_token(actor, "bench", "bench-token-hash", expires)
        .await
        .expect("enrollment token");
    for h in 0..n.hosts {
        let hostname = asset_name(h);
        let host = patches
            .enroll("bench-token-hash", &hostname, &format!("credential-{h}"))
            .await
            .expect("enroll")
            .expect("token accepted");
        patches
            .ingest(
                host.id,
                &host_report::full_report(h, hostname, n.packages, reboot_for(h)),
            )
            .await
            .expect("report");
    }
}

#[path = "common/host_report.rs"]
mod host_report;

/// Every tenth host waits for a reboot of its new kernel.
fn reboot_for(host: usize) -> RebootRequired {
    RebootRequired {
        required: host % 10 == 0,
        packages: if host % 10 == 0 {
            vec!["linux-image-amd64".into()]
        } else {
            vec![]
        },
    }
}

/// FINDINGS_PER_ASSET findings on each of the first FINDINGS / FINDINGS_PER_ASSET assets,
/// one lockfile scan per asset (four at a time on PostgreSQL).
async fn seed_findings(store: &Arc<dyn Store>, actor: &Actor, n: &Counts, assets: &[i64]) {
    let scanned: Vec<i64> = assets[..n.findings / FINDINGS_PER_ASSET].to_vec();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let scanned = Arc::new(scanned);
    let mut tasks = Vec::new();
    // SQLite takes one writer at a time: parallel scans only wait on its lock (and time out).
    let parallel = match store.backend() {
        opsward_store::Backend::Sqlite => 1,
        opsward_store::Backend::Postgres => 4,
    };
    for _ in 0..parallel {
        let (store, actor, next, scanned) =
            (store.clone(), actor.clone(), next.clone(), scanned.clone());
        tasks.push(tokio::spawn(async move {
            let vulns = VulnStore::new(store.as_ref());
            let policy = DuePolicy::default();
            loop {
                let a = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(&asset) = scanned.get(a) else { break };
                let matches: Vec<Match> = (0..FINDINGS_PER_ASSET).map(|j| finding(a, j)).collect();
                vulns
                    .record_scan(&actor, asset, &matches, &policy)
                    .await
                    .expect("vulnerability scan");
            }
        }));
    }
    for t in tasks {
        t.await.expect("findings task");
    }
}

fn finding(asset: usize, j: usize) -> Match {
    let vuln = (asset * 7 + j * 13) % 5000;
    let (severity, score) = [
        (Severity::Low, 3.1),
        (Severity::Medium, 5.3),
        (Severity::Medium, 6.1),
        (Severity::High, 7.5),
        (Severity::Critical, 9.8),
    ][vuln % 5];
    let id = format!("GHSA-bnch-{vuln:04}-xxxx");
    Match {
        package: Package::new("npm", &format!("lib-{j:03}"), "1.2.3"),
        ids: vec![id.clone(), format!("CVE-2026-{:05}", 10_000 + vuln)],
        advisories: vec![MatchedAdvisory {
            id: id.clone(),
            informational: None,
        }],
        id,
        summary: Some(format!(
            "lib-{j:03}: remote code execution in parser {vuln}"
        )),
        severity,
        cvss: Some(CvssScore {
            version: "3.1".into(),
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
            score,
        }),
        fixed: Some("1.2.4".into()),
        informational: None,
    }
}

/// A mix as in bench/ops: 10% daily, 50% weekly, 40% monthly, over every practice and three
/// time zones; every tenth concerns an asset.
async fn seed_activities(
    store: &dyn Store,
    actor: &Actor,
    n: &Counts,
    assets: &[i64],
    teams: &[i64],
) {
    let ops = OpsStore::new(store);
    let zones = ["UTC", "Europe/Berlin", "America/New_York"];
    let days = ["MO", "TU", "WE", "TH", "FR"];
    for i in 0..n.activities {
        let rrule = match i % 10 {
            0 => "FREQ=DAILY".to_string(),
            1..=5 => format!("FREQ=WEEKLY;BYDAY={}", days[i % 5]),
            _ => format!("FREQ=MONTHLY;BYMONTHDAY={}", i % 28 + 1),
        };
        let starts = NaiveDate::from_ymd_opt(2026, 1, (i % 28 + 1) as u32)
            .expect("date")
            .and_hms_opt((i % 24) as u32, 0, 0)
            .expect("time");
        let input = ActivityInput {
            title: format!("activity {i}"),
            practice: Practice::ALL[i % Practice::ALL.len()],
            template: None,
            description: String::new(),
            rrule,
            starts_local: starts,
            timezone: zones[i % 3].into(),
            duration_minutes: 60,
            owner_team_id: Some(teams[i % teams.len()]),
            owner_person_id: None,
            asset_id: (i % 10 == 0).then(|| assets[(i / 10) % assets.len()]),
            active: true,
        };
        ops.create_activity(actor, &input).await.expect("activity");
    }
}

/// Imported in batches of BATCH (one transaction each); every tenth item concerns an asset.
async fn seed_backlog(store: &dyn Store, actor: &Actor, n: &Counts, assets: &[i64], teams: &[i64]) {
    let backlog = BacklogStore::new(store);
    let words = [
        "disk full",
        "replica lag",
        "backup failed",
        "certificate expired",
        "login slow",
        "printer queue stuck",
        "memory leak",
        "vpn tunnel down",
    ];
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..n.backlog_items {
        batch.push(ItemInput {
            item_type: ItemType::ALL[i % ItemType::ALL.len()],
            title: format!("{} on srv{:04} ({i})", words[i % words.len()], i % 5000),
            description: format!("Seen again: {}.", words[(i / 8) % words.len()]),
            impact: (i % 3) as i32 + 1,
            urgency: ((i / 3) % 3) as i32 + 1,
            wsjf: None,
            team_id: (i % 4 != 0).then(|| teams[i % teams.len()]),
            assignee_person_id: None,
            tags: vec![],
            asset_ids: if i % 10 == 0 {
                vec![assets[(i / 10) % assets.len()]]
            } else {
                vec![]
            },
        });
        if batch.len() == BATCH || i + 1 == n.backlog_items {
            backlog
                .import_items(actor, &batch)
                .await
                .map_err(|(at, e)| format!("item {at}: {e}"))
                .expect("backlog import");
            batch.clear();
        }
    }
}

async fn seed_suppliers(
    store: &dyn Store,
    actor: &Actor,
    n: &Counts,
    assets: &[i64],
    teams: &[i64],
) {
    let suppliers = SupplierStore::new(store);
    for i in 0..n.suppliers {
        let input = SupplierInput {
            name: format!("Supplier {i:03}"),
            category: ["hosting", "software", "hardware", "consulting"][i % 4].into(),
            criticality: [
                Criticality::Low,
                Criticality::Medium,
                Criticality::High,
                Criticality::Critical,
            ][i % 4],
            contacts: vec![],
            notes: String::new(),
            asset_ids: vec![assets[(i * 20) % assets.len()]],
            owner_team_id: Some(teams[i % teams.len()]),
            owner_person_id: None,
        };
        suppliers
            .create_supplier(actor, &input)
            .await
            .expect("supplier");
    }
}
