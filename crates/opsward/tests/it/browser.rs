//! A real browser (headless Chromium driven through ChromeDriver's W3C WebDriver protocol)
//! signs in, adds an asset through the form and finds it in the list; and watches the
//! dashboard's resilience score fall when work is overdue and change again when evidence
//! (with a file) is recorded.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). The test fails,
//! rather than skips, when they are missing.

use crate::Env;
use serde_json::{json, Value};
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    pub(crate) async fn start() -> Driver {
        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} ({e}); install Debian's chromium and chromium-driver, or run .ci/run"));
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
            {
                if r.json::<Value>()
                    .await
                    .ok()
                    .is_some_and(|v| v["value"]["ready"] == true)
                {
                    return driver;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(
            response["value"]["error"].is_null(),
            "WebDriver {path}: {response}"
        );
        response["value"].clone()
    }
}

pub(crate) struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl<'a> Session<'a> {
    pub(crate) async fn new(driver: &'a Driver, profile: &std::path::Path) -> Session<'a> {
        let binary = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=390,844".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        // The browser log (console errors, CSP violations) is read by the crawl test.
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:loggingPrefs": {"browser": "ALL"}, "goog:chromeOptions": {"binary": binary, "args": args}}}});
        let value = driver
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await;
        Session {
            driver,
            id: value["sessionId"].as_str().unwrap().to_string(),
        }
    }

    pub(crate) async fn go(&self, url: &str) {
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/url", self.id),
                Some(json!({"url": url})),
            )
            .await;
    }

    /// The browser's reload: after a POST that answered with a page, this is where a
    /// browser would send the form again.
    pub(crate) async fn refresh(&self) {
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/refresh", self.id),
                Some(json!({})),
            )
            .await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/element", self.id),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/element/{el}/value", self.id),
                Some(json!({"text": text})),
            )
            .await;
    }

    /// Replace an input's value.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/element/{el}/clear", self.id),
                Some(json!({})),
            )
            .await;
        self.type_into(css, text).await;
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/element/{el}/text", self.id),
                None,
            )
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub(crate) async fn current_url(&self) -> String {
        self.driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/url", self.id),
                None,
            )
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub(crate) async fn resize(&self, width: u32, height: u32) {
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/window/rect", self.id),
                Some(json!({"width": width, "height": height})),
            )
            .await;
    }

    /// The visible page as PNG.
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let encoded = self
            .driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/screenshot", self.id),
                None,
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap()
    }

    /// Run `script` (a function body; `arguments` holds `args`) in the page and return its value.
    pub(crate) async fn execute(&self, script: &str, args: Value) -> Value {
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/execute/sync", self.id),
                Some(json!({"script": script, "args": args})),
            )
            .await
    }

    /// Like `execute`, for a script that answers by calling its last argument (a callback).
    pub(crate) async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/execute/async", self.id),
                Some(json!({"script": script, "args": args})),
            )
            .await
    }

    /// A Chrome DevTools Protocol command, through ChromeDriver.
    pub(crate) async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/goog/cdp/execute", self.id),
                Some(json!({"cmd": cmd, "params": params})),
            )
            .await
    }

    /// The browser's console entries since the last call (ChromeDriver's log endpoint).
    pub(crate) async fn browser_log(&self) -> Vec<Value> {
        let entries = self
            .driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/se/log", self.id),
                Some(json!({"type": "browser"})),
            )
            .await;
        entries.as_array().cloned().unwrap_or_default()
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/element/{el}/click", self.id),
                Some(json!({})),
            )
            .await;
    }

    pub(crate) async fn title(&self) -> String {
        self.driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/title", self.id),
                None,
            )
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub(crate) async fn source(&self) -> String {
        self.driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/source", self.id),
                None,
            )
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Wait for navigation to land on a page whose title contains `text`.
    pub(crate) async fn wait_for_title(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let title = self.title().await;
            if title.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "page title {title:?} never contained {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until the page source contains `text`.
    pub(crate) async fn wait_for_text(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let source = self.source().await;
            if source.contains(text) {
                return source;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {text:?}:\n{source}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn close(self) {
        self.driver
            .call(
                reqwest::Method::DELETE,
                &format!("/session/{}", self.id),
                None,
            )
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_adds_an_asset_and_sees_it_listed() {
    let env = Env::new(false).await;
    let password = "browser test password";
    add_admin(&env, password);
    env.ok(&["asset", "add", "--name", "cli-made-01", "--kind", "host"]);
    let server = env.serve();
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;

    session.go(&server.url("/assets")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    // Signing in returns to the page first asked for.
    session.wait_for_title("Assets").await;

    session.click("a[href='/assets/new']").await;
    session.wait_for_title("Add asset").await;
    session.type_into("#name", "browser-made-01").await;
    session.click("#kind option[value=service]").await;
    session.click("#criticality option[value=critical]").await;
    session.type_into("#tags", "Edge, web").await;
    session.click("form.card button[type=submit]").await;
    session.wait_for_title("browser-made-01").await;
    let detail = session.source().await;
    assert!(
        detail.contains("critical") && detail.contains(">edge<"),
        "{detail}"
    );

    session.go(&server.url("/assets?q=browser")).await;
    session.wait_for_title("Assets").await;
    let list = session.source().await;
    assert!(
        list.contains(">browser-made-01</a>"),
        "the new asset is listed:\n{list}"
    );
    assert!(list.contains("<td>Service</td>"), "{list}");
    session.close().await;

    let cli: Value =
        serde_json::from_str(&env.ok(&["asset", "show", "browser-made-01", "-o", "json"])).unwrap();
    assert_eq!(cli["kind"], "service");
}

/// An administrator `ops` with `password` on a fresh SQLite database.
pub(crate) fn add_admin(env: &Env, password: &str) {
    let added = env.run(
        &[
            "user",
            "add",
            "--admin",
            "--username",
            "ops",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
}

/// The resilience score and its explanation, as the dashboard shows them.
async fn resilience_on_dashboard(session: &Session<'_>, server: &crate::Server) -> (u8, String) {
    session.go(&server.url("/")).await;
    session.wait_for_title("Dashboard").await;
    let score = session.text("#score-resilience .score").await;
    let reasons = session.text("#score-resilience").await;
    (
        score
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("score {score:?}")),
        reasons,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_sees_the_resilience_score_react_to_overdue_work_and_evidence() {
    let env = Env::new(false).await;
    let password = "browser test password";
    add_admin(&env, password);
    let server = env.serve();
    let driver = Driver::start().await;
    let session = Session::new(&driver, &env.dir.path().join("chromium-profile")).await;

    session.go(&server.url("/")).await;
    session.wait_for_title("Sign in").await;
    session.type_into("#username", "ops").await;
    session.type_into("#password", password).await;
    session.click("button[type=submit]").await;
    session.wait_for_title("Dashboard").await;
    let (fresh, fresh_reasons) = resilience_on_dashboard(&session, &server).await;
    assert!(
        fresh_reasons.contains("no recurring activity is scheduled"),
        "{fresh_reasons}"
    );

    // Daily at midnight UTC from four days ago: five occurrences have started without evidence.
    let first = chrono::Utc::now().date_naive() - chrono::Duration::days(4);
    session.go(&server.url("/calendar/activities/new")).await;
    session.wait_for_title("Plan an activity").await;
    session.fill("#title", "Nightly restore test").await;
    session.click("#practice option[value=resilience]").await;
    // The schedule editor (issue 20 item 6): a datetime-local input and selects, set as a
    // person's picker would leave them; "Daily", every 1 day.
    session
        .execute(
            "for (const [id, v] of arguments[0]) { document.getElementById(id).value = v; }",
            json!([[
                ["starts_local", format!("{first}T00:00")],
                ["timezone", "UTC".to_string()],
                ["frequency", "daily".to_string()]
            ]]),
        )
        .await;
    session.fill("#interval", "1").await;
    session.click("#activity-form > button[type=submit]").await;
    session.wait_for_title("Nightly restore test").await;
    let activity_url = session.current_url().await;

    let (overdue, overdue_reasons) = resilience_on_dashboard(&session, &server).await;
    assert!(
        overdue < fresh,
        "overdue work lowers the score: {fresh} -> {overdue}"
    );
    assert!(
        overdue_reasons.contains("5 occurrences are overdue"),
        "{overdue_reasons}"
    );

    // Complete the oldest occurrence with a file, through the activity page's form.
    let report = env.write("restore-report.txt", "restored 42 GiB in 17 minutes\n");
    session.go(&activity_url).await;
    session.wait_for_title("Nightly restore test").await;
    session.click("#result-1 option[value=passed]").await;
    session.type_into("#notes-1", "restore verified").await;
    session.type_into("#file-1", report.to_str().unwrap()).await;
    session.click("form.complete button[type=submit]").await;
    let page = session.wait_for_text("recorded (passed, 1 file(s))").await;
    assert!(
        page.contains(">restore-report.txt</a>"),
        "the evidence row names the file:\n{page}"
    );

    let (after, after_reasons) = resilience_on_dashboard(&session, &server).await;
    assert!(
        after > overdue,
        "evidence raises the score: {overdue} -> {after}"
    );
    assert!(
        after_reasons.contains("4 occurrences are overdue"),
        "{after_reasons}"
    );

    // Screenshots for people reviewing CI: the phone width the test ran at, then a desktop.
    let artifacts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let phone = session.screenshot().await;
    assert!(phone.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(artifacts.join("dashboard-390.png"), phone).unwrap();
    session.resize(1280, 1700).await;
    std::fs::write(artifacts.join("dashboard.png"), session.screenshot().await).unwrap();
    session.close().await;
}
