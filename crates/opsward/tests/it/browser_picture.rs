//! One picture of operational risk, seen in a real browser (issue 18): one condition per
//! practice is made through the API, the way scanners, agents and people make them (a
//! certificate upload, an agent's patch report, a lockfile sent by a pipeline, a backlog
//! item, a service review, a contract), all about one asset. Chromium then finds each
//! condition on the dashboard, in the "at risk now" list and on its practice's card next to
//! the deduction it causes, and on the asset page beside every practice's section.

use crate::{
    browser::{add_admin, Driver, Session},
    Env,
};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The test's API client: one bearer token of the administrator.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        response.json().await.unwrap()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A leaf certificate for `name` that expires in `days`.
fn leaf_der(name: &str, days: i64) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    use chrono::Datelike;
    let (from, to) = (
        Utc::now() - Duration::days(80),
        Utc::now() + Duration::days(days),
    );
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(to.year(), to.month() as u8, to.day() as u8);
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

const LOCKFILE: &str = "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"0.6.9\"\n\
    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

/// Reference data first, as an administrator loads it: the smallvec advisory from the OSV
/// snapshot, and a KEV catalog listing its CVE with a due date that passed yesterday.
fn import_advisories(env: &Env) {
    let record = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/osv/crates.io/RUSTSEC-2019-0009.json");
    env.ok(&["vuln", "import", "osv", record.to_str().unwrap()]);
    let due = (Utc::now() - Duration::days(1)).date_naive();
    let kev = json!({"catalogVersion": "test", "count": 1, "vulnerabilities": [{
        "cveID": "CVE-2019-15551", "vendorProject": "smallvec", "product": "smallvec",
        "vulnerabilityName": "double free", "dateAdded": "2025-01-01", "dueDate": due.to_string(),
        "knownRansomwareCampaignUse": "Unknown"}]});
    let kev = env.write("kev.json", &kev.to_string());
    env.ok(&["vuln", "import", "kev", kev.to_str().unwrap()]);
}

/// One condition per practice about `asset` (its id), made through the API.
async fn make_one_condition_per_practice(env: &Env, api: &Api, asset: i64) {
    let today = Utc::now().date_naive();

    // Certificates: a scan upload of the asset's endpoint, whose certificate expires in 9 days.
    api.post(
        "/api/v1/certificates/scans",
        json!({"kind": "endpoint", "sources": [{
            "location": "shop-web.example.test:443", "asset_id": asset,
            "certificates_der_hex": [hex(&leaf_der("shop-web.example.test", 9))]}]}),
    )
    .await;

    // Resilience: the asset is critical and has no measure (nothing to do here).

    // Patches: the host enrolls and sends a report its agent collected three days ago (it
    // was spooled while the server was away) with a security update pending; the policy
    // gives security updates one day.
    let minted = api
        .post(
            "/api/v1/patches/enrollment-tokens",
            json!({"name": "shop fleet"}),
        )
        .await;
    let enrolled = api
        .post(
            "/api/v1/patches/enroll",
            json!({"token": minted["token"], "hostname": "shop-web"}),
        )
        .await;
    api.send(
        reqwest::Method::PUT,
        "/api/v1/patches/policy",
        json!({"critical_days": 1, "high_days": 1, "other_security_days": 1,
               "non_security_months": 1, "reboot_within_days": 7}),
    )
    .await;
    let report = json!({
        "kind": "full", "sequence": 1, "collected_at": Utc::now() - Duration::days(3),
        "hostname": "shop-web",
        "os": {"id": "debian", "id_like": [], "version_id": "12", "version_codename": "bookworm",
               "pretty_name": "Debian GNU/Linux 12 (bookworm)"},
        "kernel": {"name": "Linux", "release": "6.1.0-18-amd64", "version": "#1 SMP", "machine": "x86_64"},
        "package_manager": "dpkg", "reboot": {"required": false, "packages": []},
        "uptime_seconds": 90000,
        "packages": [{"name": "openssl", "version": "3.0.11-1", "arch": "amd64",
                      "source": "openssl", "source_version": "3.0.11-1"}],
        "pending": [{"name": "openssl", "arch": "amd64", "installed_version": "3.0.11-1",
                     "candidate_version": "3.0.15-1", "source": "openssl",
                     "suites": ["bookworm-security"], "security": true}]
    });
    let sent = api
        .http
        .post(format!("{}/api/v1/patches/reports", api.base))
        .header("X-Opsward-Host", enrolled["credential"].as_str().unwrap())
        .json(&report)
        .send()
        .await
        .unwrap();
    let status = sent.status();
    assert!(
        status.is_success(),
        "{status} {}",
        sent.text().await.unwrap()
    );

    // Vulnerabilities: the build pipeline sends the service's lockfile to the server.
    let token_file = env.write("token", &api.token);
    let lockfile = env.write("Cargo.lock", LOCKFILE);
    let scanned = env
        .command()
        .args(["vuln", "scan", lockfile.to_str().unwrap()])
        .args(["--asset", "shop-web", "--server", &api.base])
        .args(["--token-file", token_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        scanned.status.code(),
        Some(1),
        "a vulnerability was found: {}",
        String::from_utf8_lossy(&scanned.stderr)
    );

    // Backlog: a problem about the asset that nobody has taken.
    api.post(
        "/api/v1/backlog/items",
        json!({"item_type": "problem", "title": "Checkout times out under load",
               "asset_ids": [asset]}),
    )
    .await;

    // Customers: a service review held today whose action was due yesterday.
    let customer = api
        .post(
            "/api/v1/customers",
            json!({"name": "Retail division", "asset_ids": [asset]}),
        )
        .await;
    api.post(
        &format!("/api/v1/customers/{}/reviews", customer["id"]),
        json!({"period_start": today - Duration::days(90), "period_end": today, "held_on": today,
               "attendees": ["Ana"], "actions": [{"title": "Publish the checkout error budget",
               "due_on": today - Duration::days(1)}]}),
    )
    .await;

    // Suppliers: the hosting contract ends in 20 days with a month's notice: the deadline
    // passed about ten days ago and nobody decided.
    let supplier = api
        .post(
            "/api/v1/suppliers",
            json!({"name": "Acme Hosting", "category": "hosting", "criticality": "high",
                   "asset_ids": [asset]}),
        )
        .await;
    api.post(
        "/api/v1/contracts",
        json!({"supplier_id": supplier["id"], "title": "Colocation", "reference": "C-7",
               "start_date": "2025-01-01", "end_date": today + Duration::days(20),
               "notice": {"amount": 1, "unit": "months"}, "renewal_type": "automatic"}),
    )
    .await;
}

/// Each practice's key, the condition kind made above, and the deduction it causes.
const EXPECTED: [(&str, &str, &str); 7] = [
    (
        "certificates",
        "certificate_expiring",
        "within 30 days of expiry has no renewal in progress",
    ),
    (
        "resilience",
        "critical_asset_unprotected",
        "1 of 1 critical asset has no resilience measure",
    ),
    ("patches", "host_out_of_sla", "out of patch SLA"),
    (
        "vulnerabilities",
        "kev_finding_overdue",
        "1 finding in CISA's Known Exploited Vulnerabilities catalog is still open",
    ),
    (
        "backlog",
        "items_unowned",
        // The automatic backlog job may at any moment add items for the other conditions
        // (none assigned either), so the counts are not fixed here.
        "nobody assigned",
    ),
    (
        "customers",
        "review_action_overdue",
        "1 action from service reviews is past due",
    ),
    (
        "suppliers",
        "notice_deadline_passed",
        "1 contract has passed its notice deadline with no renew or terminate decision",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_finds_one_condition_per_practice_on_the_dashboard_and_the_asset_page() {
    let env = Env::new(false).await;
    let password = "browser test password";
    add_admin(&env, password);
    import_advisories(&env);
    let token = env.ok(&["token", "create", "--username", "ops", "--name", "picture"]);
    let server = env.serve();
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap(),
        base: server.url("").trim_end_matches('/').to_string(),
        token: token.trim().to_string(),
    };
    let asset = api
        .post(
            "/api/v1/assets",
            json!({"name": "shop-web", "kind": "host", "criticality": "critical"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    make_one_condition_per_practice(&env, &api, asset).await;

    // The API's list: one condition of each expected kind. Writes refresh the kept picture,
    // so it is there now.
    let listed = api.get("/api/v1/conditions?limit=500").await;
    let conditions = listed["conditions"].as_array().unwrap();
    let condition = |practice: &str, kind: &str| -> Value {
        conditions
            .iter()
            .find(|c| c["practice"] == practice && c["kind"] == kind)
            .unwrap_or_else(|| panic!("no {practice} {kind} in {listed}"))
            .clone()
    };

    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;
    session.resize(1400, 1000).await;
    session.go(&server.url("/")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Dashboard").await;

    let at_risk = session.text("#at-risk").await;
    for (practice, kind, deduction) in EXPECTED {
        let c = condition(practice, kind);
        let title = match kind {
            // Grouped, with a count that the automatic backlog items may change (above).
            "items_unowned" => "without an assignee",
            _ => c["title"].as_str().unwrap(),
        };
        assert!(
            at_risk.contains(title),
            "{practice}: {title:?} is at risk now on the dashboard:\n{at_risk}"
        );
        let card = session.text(&format!("#score-{practice}")).await;
        assert!(
            card.contains(title),
            "{practice}'s card lists {title:?}:\n{card}"
        );
        assert!(
            card.contains(deduction),
            "{practice}'s card explains the lost points with {deduction:?}:\n{card}"
        );
        let score: u32 = session
            .text(&format!("#score-{practice} .score"))
            .await
            .trim()
            .parse()
            .unwrap();
        assert!(score < 100, "{practice} lost points: {card}");
        assert!(
            !card.contains("no certificate discovery yet") && !card.contains("yet)"),
            "no reason says a practice does not exist: {card}"
        );
    }

    // The asset page: the conditions about the asset, and every practice's section.
    session.go(&server.url(&format!("/assets/{asset}"))).await;
    session.wait_for_title("shop-web").await;
    let page_risk = session.text("#at-risk").await;
    let mut about_asset = 0;
    for (practice, kind, _) in EXPECTED {
        let c = condition(practice, kind);
        if c["asset_id"] == asset {
            about_asset += 1;
            let title = c["title"].as_str().unwrap();
            assert!(
                page_risk.contains(title),
                "the asset page shows {title:?}:\n{page_risk}"
            );
        }
    }
    assert_eq!(
        about_asset, 6,
        "every condition but the backlog's grouped one names the asset: {listed}"
    );
    let page = session.text("main").await;
    for (section, shows) in [
        ("Certificates", "shop-web.example.test"),
        ("Patch state", "openssl"),
        ("Vulnerability findings", "RUSTSEC-2019-0009"),
        ("Backlog items", "Checkout times out under load"),
        ("Customers", "Retail division"),
        ("Suppliers", "Acme Hosting"),
    ] {
        assert!(
            page.contains(section) && page.contains(shows),
            "the asset page has {section} with {shows:?}:\n{page}"
        );
    }

    let artifacts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(
        artifacts.join("asset-page-one-picture.png"),
        session.screenshot().await,
    )
    .unwrap();
    session.go(&server.url("/")).await;
    session.wait_for_title("Dashboard").await;
    std::fs::write(
        artifacts.join("dashboard-one-picture.png"),
        session.screenshot().await,
    )
    .unwrap();
    session.close().await;
}
