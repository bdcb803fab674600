//! Every page, on a desk and on a phone (issue 20): with one of everything seeded through the
//! API, Chromium visits every page the navigation reaches and every same-origin link found on
//! those pages, at 1400x1000 and at 390x844, and requires a 200, a clean console (no JavaScript
//! error, no Content-Security-Policy violation), no horizontal page scroll on the phone, and in
//! every table and list a visible link to each record on the phone. A screenshot of each page at
//! both sizes lands in `target/ui-crawl/` for people reviewing CI.

use crate::browser::{add_admin, Driver, Session};
use crate::Env;
use serde_json::{json, Value};
use std::collections::{BTreeSet, VecDeque};

/// More pages than the UI has with one of everything; a bound so a link loop cannot run away.
const MAX_PAGES: usize = 150;

/// What the crawl learns from one page, read inside the page.
const INSPECT: &str = r#"
const nav = performance.getEntriesByType('navigation')[0];
const header = document.querySelector('header.top');
const visible = (a) => {
  const r = a.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth + 1;
};
// A row or list entry with links must show its first one: that is the link to the record.
const hidden = [];
for (const row of document.querySelectorAll('main tbody tr, main li')) {
  const first = row.querySelector('a[href]');
  if (first && !visible(first)) hidden.push(first.getAttribute('href') + ' (' + row.textContent.trim().slice(0, 60) + ')');
}
// What sticks out on the right, outside any element that scrolls itself: named in a failure.
const clipped = (el) => { for (let p = el.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'hidden' || o === 'scroll') return true; } return false; };
const wide = [];
if (document.documentElement.scrollWidth > window.innerWidth) {
  for (const el of document.querySelectorAll('main *')) {
    if (wide.length < 4 && el.getBoundingClientRect().right > window.innerWidth + 1 && !clipped(el)) {
      wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '') + ' ' + Math.round(el.getBoundingClientRect().right));
    }
  }
}
const links = [];
for (const a of document.querySelectorAll('a[href]')) {
  if (a.hasAttribute('download')) continue;
  const url = new URL(a.href, location.href);
  if (url.origin === location.origin) links.push(url.pathname + url.search);
}
return {
  status: nav ? nav.responseStatus : 0,
  title: document.title,
  scroll_width: document.documentElement.scrollWidth,
  inner_width: window.innerWidth,
  header_height: header ? header.getBoundingClientRect().height : 0,
  hidden_record_links: hidden,
  // A practice page once said it was still being built after it was.
  stale: /being built|Coming:/.test(document.body.innerText),
  too_wide: wide,
  links: links,
};
"#;

/// axe-core's script: `OPSWARD_TEST_AXE`, else where `.ci/run` installs it (npm, into
/// `.tools/axe`). CI must have it; elsewhere the crawl runs without it and says so.
fn axe_source() -> Option<String> {
    let path = std::env::var_os("OPSWARD_TEST_AXE").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../.tools/axe/node_modules/axe-core/axe.min.js")
        },
        std::path::PathBuf::from,
    );
    let source = std::fs::read_to_string(&path).ok();
    assert!(
        source.is_some() || std::env::var_os("CI").is_none(),
        "CI installs axe-core at {} (npm install --prefix .tools/axe axe-core@4)",
        path.display()
    );
    if source.is_none() {
        eprintln!(
            "axe-core is not at {}: the crawl runs without the accessibility check",
            path.display()
        );
    }
    source
}

/// Runs axe-core on the page: the violations of impact serious or critical, one line each.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then((r) => done(
  r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '))
), (e) => done(['axe failed: ' + e]));
"#;

/// Fetches each of its first argument's same-origin links with the page's session, eight at
/// a time, and answers with those that did not end in a 200 (after redirects).
const CHECK_LINKS: &str = r#"
const [links, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  const bad = [];
  for (let i = 0; i < links.length; i += 8) {
    await Promise.all(links.slice(i, i + 8).map(async (link) => {
      try {
        const r = await fetch(link, {credentials: 'same-origin'});
        if (r.status !== 200) bad.push(link + ': status ' + r.status);
      } catch (e) { bad.push(link + ': ' + e); }
    }));
  }
  return bad;
})().then(done, (e) => done(['link check failed: ' + e]));
"#;

/// Every same-origin link found on any page (filters, sort orders, downloads, the API's
/// exports, static files, not only the pages the crawl visits) resolves: fetched in the
/// signed-in browser, in chunks that each fit in the driver's script timeout.
async fn check_links(session: &Session<'_>, links: &BTreeSet<String>, problems: &mut Vec<String>) {
    // Following the sign-out link would end the session the rest of the check uses.
    let links: Vec<&String> = links.iter().filter(|l| !l.starts_with("/logout")).collect();
    for chunk in links.chunks(64) {
        let bad = session.execute_async(CHECK_LINKS, json!([chunk])).await;
        for entry in bad.as_array().unwrap() {
            problems.push(format!("link: {}", entry.as_str().unwrap_or_default()));
        }
    }
}

/// Downloads, the API and static files are not pages.
fn is_page(path: &str) -> bool {
    let bare = path.split(['?', '#']).next().unwrap_or(path);
    !(bare.starts_with("/api/")
        || bare.starts_with("/static/")
        || bare == "/logout"
        || [".csv", ".zip", ".ics", ".json", ".pdf", ".txt"]
            .iter()
            .any(|ext| bare.ends_with(ext)))
}

async fn post(http: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let mut request = http.post(format!("{base}{path}")).json(&body);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One record of every kind the UI lists, through the API (and the CLI's scan upload, which
/// is an API client too).
async fn seed(env: &Env, base: &str) {
    let token = env
        .ok(&["token", "create", "--username", "ops", "--name", "crawl"])
        .trim()
        .to_string();
    let http = reqwest::Client::new();
    let today = chrono::Utc::now().date_naive();
    let asset = post(
        &http,
        base,
        &token,
        "/api/v1/assets",
        json!({"name": "web-01", "kind": "host", "criticality": "high"}),
    )
    .await;
    let asset_id = asset["id"].as_i64().unwrap();
    post(
        &http,
        base,
        &token,
        "/api/v1/teams",
        json!({"name": "Platform"}),
    )
    .await;
    post(
        &http,
        base,
        &token,
        "/api/v1/people",
        json!({"name": "Ana Ops", "email": "ana@example.com"}),
    )
    .await;
    let item = post(&http, base, &token, "/api/v1/backlog/items", json!({"item_type": "incident", "title": "Disk almost full on web-01", "impact": 1, "urgency": 2, "tags": ["storage"]})).await;
    let item_id = item["item"]["id"].as_i64().unwrap();
    post(&http, base, &token, "/api/v1/activities", json!({"title": "Quarterly access review", "practice": "general", "rrule": "FREQ=WEEKLY",
        "starts_local": format!("{}T09:00:00", today - chrono::Duration::days(10)), "timezone": "UTC"})).await;
    post(&http, base, &token, "/api/v1/resilience/measures", json!({
        "asset_id": asset_id, "kind": "cluster_failover", "title": "Fail over the database cluster",
        "procedure": ["Stop node A", "Check the VIP moved", "Start node A"], "check": "restore",
        "schedule": {"rrule": "FREQ=WEEKLY", "starts_local": format!("{}T09:00:00", today - chrono::Duration::days(3)), "timezone": "Europe/Berlin"}})).await;
    let customer = post(
        &http,
        base,
        &token,
        "/api/v1/customers",
        json!({"name": "Acme"}),
    )
    .await;
    let customer_id = customer["id"].as_i64().unwrap();
    post(
        &http,
        base,
        &token,
        &format!("/api/v1/customers/{customer_id}/contacts"),
        json!({"name": "Bo", "email": "bo@acme.example"}),
    )
    .await;
    post(
        &http,
        base,
        &token,
        &format!("/api/v1/customers/{customer_id}/items"),
        json!({"item_id": item_id}),
    )
    .await;
    let supplier = post(
        &http,
        base,
        &token,
        "/api/v1/suppliers",
        json!({"name": "Colo GmbH", "criticality": "high"}),
    )
    .await;
    let supplier_id = supplier["id"].as_i64().unwrap();
    post(&http, base, &token, "/api/v1/contracts", json!({"supplier_id": supplier_id, "title": "Colocation", "reference": "C-7",
        "start_date": "2025-01-01", "end_date": "2027-03-31", "notice": {"amount": 1, "unit": "months"},
        "renewal_type": "automatic", "value": "12000.00", "currency": "EUR"})).await;
    let scores: Vec<Value> = ["quality", "delivery", "responsiveness", "cost", "security"]
        .iter()
        .map(|c| json!({"criterion": c, "score": 4}))
        .collect();
    post(&http, base, &token, "/api/v1/supplier-reviews", json!({"supplier_id": supplier_id, "review_date": today.to_string(),
        "outcome": "satisfactory", "scores": scores, "attendees": ["Ana"], "actions": [{"title": "Ask for the SOC 2 report"}]})).await;
    let channel = post(&http, base, &token, "/api/v1/notifications/channels", json!({"name": "ops-hook", "settings": {"type": "webhook", "url": "https://hooks.example.com/T0/B0", "secret": "s"}})).await;
    post(&http, base, &token, "/api/v1/notifications/rules", json!({"name": "failures", "channel_id": channel["id"], "events": ["activity.failed"], "global": true})).await;
    post(
        &http,
        base,
        &token,
        "/api/v1/ical-feeds",
        json!({"name": "on-call"}),
    )
    .await;

    seed_certificate(&http, base, &token).await;
    seed_host(&http, base, &token).await;
    seed_finding(env, base, &token);
}

/// A certificate, from an uploaded file scan.
async fn seed_certificate(http: &reqwest::Client, base: &str, token: &str) {
    let cert = rcgen::generate_simple_self_signed(vec!["crawl.example.test".to_string()]).unwrap();
    post(http, base, token, "/api/v1/certificates/scans", json!({"kind": "file",
        "sources": [{"location": "/etc/ssl/crawl.pem", "certificates_der_hex": [hex(cert.cert.der())]}]})).await;
}

/// A patched host: an enrollment token, the agent's enrollment, its first report.
async fn seed_host(http: &reqwest::Client, base: &str, token: &str) {
    let enrollment = post(
        http,
        base,
        token,
        "/api/v1/patches/enrollment-tokens",
        json!({"name": "fleet"}),
    )
    .await;
    let enrolled = post(
        http,
        base,
        "",
        "/api/v1/patches/enroll",
        json!({"token": enrollment["token"], "hostname": "db-01"}),
    )
    .await;
    let report = opsward_patches::report::HostReport {
        kind: opsward_patches::report::ReportKind::Full,
        sequence: 1,
        base_sequence: None,
        collected_at: chrono::Utc::now(),
        hostname: "db-01".into(),
        os: opsward_patches::OsRelease {
            id: "debian".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            ..Default::default()
        },
        kernel: opsward_patches::Kernel {
            release: "6.1.0-18-amd64".into(),
            ..Default::default()
        },
        package_manager: Some(opsward_patches::PackageManager::Dpkg),
        reboot: Default::default(),
        uptime_seconds: Some(90_000),
        posture: Default::default(),
        packages: vec![opsward_patches::InstalledPackage {
            name: "openssl".into(),
            version: "3.0.11-1".into(),
            arch: "amd64".into(),
            source: "openssl".into(),
            source_version: "3.0.11-1".into(),
        }],
        removed: vec![],
        pending: vec![opsward_patches::PendingUpdate {
            name: "openssl".into(),
            arch: "amd64".into(),
            installed_version: "3.0.11-1".into(),
            candidate_version: "3.0.13-1".into(),
            source: "openssl".into(),
            suites: vec!["bookworm-security".into()],
            security: true,
        }],
        language_packages: vec![],
        notes: vec![],
    };
    let response = http
        .post(format!("{base}/api/v1/patches/reports"))
        .header("X-Opsward-Host", enrolled["credential"].as_str().unwrap())
        .json(&report)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

/// A vulnerability finding: an advisory imported, a lockfile scan of the asset uploaded (the
/// CLI's upload is an API client).
fn seed_finding(env: &Env, base: &str, token: &str) {
    let record = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/osv/crates.io/RUSTSEC-2019-0009.json");
    env.ok(&["vuln", "import", "osv", record.to_str().unwrap()]);
    let lockfile = env.write("Cargo.lock", crate::vuln_scan_upload::LOCKFILE);
    let token_file = env.write("token", token);
    let scan = env
        .command()
        .args([
            "vuln",
            "scan",
            lockfile.to_str().unwrap(),
            "--asset",
            "web-01",
            "--server",
            base,
        ])
        .args(["--token-file", token_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        scan.status.code(),
        Some(1),
        "one finding: {}",
        String::from_utf8_lossy(&scan.stderr)
    );
}

/// Pages are told apart by path, and by view (the calendar's agenda, week and month): filters
/// and sort orders of one list are the same page.
fn page_key(link: &str) -> String {
    let (path, query) = link.split_once('?').unwrap_or((link, ""));
    match query.split('&').find(|p| p.starts_with("view=")) {
        Some(view) => format!("{path}?{view}"),
        None => path.to_string(),
    }
}

/// A file name for a page's screenshot.
fn slug(path: &str) -> String {
    let s: String = path
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() {
        "dashboard".into()
    } else {
        s
    }
}

/// Visit `path`, check what holds on every page and return what the page says about itself.
async fn visit(
    session: &Session<'_>,
    base: &str,
    path: &str,
    phone: bool,
    axe: bool,
    problems: &mut Vec<String>,
) -> Value {
    session.go(&format!("{base}{path}")).await;
    let page = session.execute(INSPECT, json!([])).await;
    if page["status"] != 200 {
        problems.push(format!(
            "{path}: status {} ({})",
            page["status"], page["title"]
        ));
    }
    for entry in session.browser_log().await {
        if entry["level"] == "SEVERE"
            || entry["message"]
                .as_str()
                .is_some_and(|m| m.contains("Content Security Policy"))
        {
            problems.push(format!("{path}: console: {}", entry["message"]));
        }
    }
    if axe {
        for violation in session
            .execute_async(AXE_RUN, json!([]))
            .await
            .as_array()
            .unwrap()
        {
            problems.push(format!(
                "{path}: axe: {}",
                violation.as_str().unwrap_or_default()
            ));
        }
    }
    if page["stale"] == true {
        problems.push(format!("{path}: says it is still being built"));
    }
    if phone {
        let (scroll, inner) = (
            page["scroll_width"].as_f64().unwrap(),
            page["inner_width"].as_f64().unwrap(),
        );
        if scroll > inner {
            problems.push(format!(
                "{path}: scrolls sideways on a phone ({scroll} > {inner})"
            ));
        }
        for link in page["hidden_record_links"].as_array().unwrap() {
            problems.push(format!("{path}: record link hidden on a phone: {link}"));
        }
        if page["header_height"].as_f64().unwrap() > 80.0 {
            problems.push(format!(
                "{path}: the header takes {} px on a phone",
                page["header_height"]
            ));
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-crawl");
    std::fs::create_dir_all(&dir).unwrap();
    let size = if phone { "390" } else { "1400" };
    std::fs::write(
        dir.join(format!("{}-{size}.png", slug(path))),
        session.screenshot().await,
    )
    .unwrap();
    page
}

/// On a desk: every page from the navigation outwards, deduplicated by `page_key`, visited
/// and checked; the pages in the order they were found, and every link seen on them.
async fn crawl_desk(
    session: &Session<'_>,
    base: &str,
    axe: bool,
    problems: &mut Vec<String>,
) -> (Vec<String>, BTreeSet<String>) {
    // The calendar's views are chosen in a form, not linked: they start the queue too.
    let start = ["/", "/calendar?view=week", "/calendar?view=month"].map(String::from);
    let mut seen: BTreeSet<String> = start.iter().map(|p| page_key(p)).collect();
    let mut queue = VecDeque::from(start);
    let mut pages = Vec::new();
    let mut links = BTreeSet::new();
    while let Some(path) = queue.pop_front() {
        let page = visit(session, base, &path, false, axe, problems).await;
        pages.push(path);
        for link in page["links"].as_array().unwrap() {
            let link = link.as_str().unwrap();
            links.insert(link.to_string());
            if is_page(link) && seen.insert(page_key(link)) && seen.len() <= MAX_PAGES {
                queue.push_back(link.to_string());
            }
        }
    }
    assert!(
        seen.len() <= MAX_PAGES,
        "more than {MAX_PAGES} pages: {seen:?}"
    );
    for expected in [
        "/backlog/board",
        "/certificates",
        // The first-run actions (issue 20 item 8), linked from their practice pages.
        "/certificates/scans",
        "/patches/enrollment",
        "/vulns/imports",
        "/vulns",
        "/patches",
        "/suppliers",
        "/customers",
        "/resilience",
        "/calendar",
    ] {
        assert!(
            pages.iter().any(|p| p.starts_with(expected)),
            "{expected} was not reached: {pages:?}"
        );
    }
    (pages, links)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_crawls_every_page_on_a_desk_and_a_phone() {
    let env = Env::new(false).await;
    let password = "browser test password";
    add_admin(&env, password);
    let server = env.serve();
    let base = server.url("").trim_end_matches('/').to_string();
    seed(&env, &base).await;
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;
    session.resize(1400, 1000).await;
    session.go(&format!("{base}/")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Dashboard").await;
    session.browser_log().await;

    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-crawl");
    let _ = std::fs::remove_dir_all(&shots);
    // axe-core checks each page at both sizes: the phone shows the menu toggle, the desk not.
    // Loaded into every document before the page's own scripts, through the DevTools
    // protocol, which the page's CSP does not govern.
    let axe = match axe_source() {
        Some(source) => {
            session
                .cdp(
                    "Page.addScriptToEvaluateOnNewDocument",
                    json!({"source": source}),
                )
                .await;
            true
        }
        None => false,
    };
    let mut problems = Vec::new();
    let (pages, links) = crawl_desk(&session, &base, axe, &mut problems).await;
    check_links(&session, &links, &mut problems).await;
    // The check can fail: a link to nothing is reported.
    let mut canary = Vec::new();
    let nowhere = BTreeSet::from(["/no-such-page?x=1".to_string()]);
    check_links(&session, &nowhere, &mut canary).await;
    assert_eq!(canary, ["link: /no-such-page?x=1: status 404"]);
    // Its 404 in the console is the canary's, not a page's.
    session.browser_log().await;
    assert!(
        links.len() > pages.len(),
        "{} links on {} pages",
        links.len(),
        pages.len()
    );
    eprintln!(
        "{} pages crawled, {} links checked",
        pages.len(),
        links.len()
    );
    // The board's columns stand side by side on a desk.
    session.go(&format!("{base}/backlog/board")).await;
    let tops = session
        .execute("return [...document.querySelectorAll('.board-column')].map(c => c.getBoundingClientRect().top);", json!([]))
        .await;
    let tops: Vec<f64> = tops
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    assert!(
        tops.len() > 1 && tops.iter().all(|t| *t == tops[0]),
        "board columns side by side: {tops:?}"
    );

    // On a phone: the same pages again.
    session.resize(390, 844).await;
    let width = session
        .execute("return window.innerWidth;", json!([]))
        .await;
    assert!(
        width.as_f64().unwrap() <= 400.0,
        "a phone-sized viewport: {width}"
    );
    for path in &pages {
        visit(&session, &base, path, true, axe, &mut problems).await;
    }
    // The month view shows all seven days on a phone, not only what fits before a scroll.
    session.go(&format!("{base}/calendar?view=month")).await;
    let days = session
        .execute("return [...document.querySelectorAll('table.month thead th')].filter(th => th.getBoundingClientRect().right <= window.innerWidth).length;", json!([]))
        .await;
    assert_eq!(days, 7, "weekdays visible on a phone in the month view");
    // The folded menu opens without JavaScript.
    session.go(&format!("{base}/")).await;
    session.click("label[for=nav-toggle]").await;
    session.click("nav.main a[href='/assets']").await;
    session.wait_for_title("Assets").await;
    session.close().await;
    assert!(
        problems.is_empty(),
        "{} pages crawled, {} links checked; problems:\n{}",
        pages.len(),
        links.len(),
        problems.join("\n")
    );
}
