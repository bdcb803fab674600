//! `/metrics` with a real Prometheus (Debian's `prometheus` and `promtool`, installed by
//! `.ci/run`; the test fails, rather than skips, without them): Prometheus scrapes a running
//! opsward that holds an expiring certificate, and its HTTP API shows the certificate expiry,
//! condition, job queue and outbox series, the target healthy, and the shipped alert rules
//! loaded with the certificate alert active. `promtool check metrics` is clean on the
//! exposition, the shipped rules pass `promtool check rules` and their unit tests, and every
//! metric the Grafana dashboard under `dist/grafana/` queries is one Prometheus received.

use crate::{certs::Pki, Env};
use serde_json::Value;
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist")
}

/// A Prometheus server on loopback, killed on drop.
struct Prometheus {
    child: Child,
    base: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(dir: &Path, opsward: std::net::SocketAddr) -> Prometheus {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {}\n\
                 scrape_configs:\n  - job_name: opsward\n    static_configs:\n      - targets: ['{opsward}']\n",
                dist().join("prometheus/opsward-alerts.yml").display()
            ),
        )
        .unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("prometheus.log")).unwrap(),
            ))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start prometheus ({e}); install Debian's prometheus, or run .ci/run")
            });
        Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn api(&self, http: &reqwest::Client, path: &str) -> Option<Value> {
        let response = http.get(format!("{}{path}", self.base)).send().await.ok()?;
        let body: Value = response.json().await.ok()?;
        (body["status"] == "success").then(|| body["data"].clone())
    }

    /// Wait (up to 60 s) until `check` accepts what `path` answers; return it.
    async fn wait_for(
        &self,
        http: &reqwest::Client,
        path: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(data) = self.api(http, path).await {
                if check(&data) {
                    return data;
                }
                last = Some(data);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("Prometheus never showed {what} at {path}; last answer: {last:?}");
    }

    /// The query's result vector, once it has at least one sample.
    async fn query(&self, http: &reqwest::Client, promql: &str) -> Vec<Value> {
        let path = format!("/api/v1/query?query={}", urlencode(promql));
        let data = self
            .wait_for(http, &path, promql, |d| {
                d["result"].as_array().is_some_and(|r| !r.is_empty())
            })
            .await;
        data["result"].as_array().unwrap().clone()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn value(sample: &Value) -> f64 {
    sample["value"][1].as_str().unwrap().parse().unwrap()
}

/// Run `promtool` with `args` (and `stdin`); return its exit code and output.
fn promtool(args: &[&str], stdin: &str, dir: &Path) -> (Option<i32>, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run promtool ({e}); install Debian's prometheus"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The metric names a PromQL expression names (ours and x509-certificate-exporter's).
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("opsward_") || t.starts_with("x509_"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_opsward_and_the_shipped_rules_and_dashboard_fit() {
    let env = Env::new(false).await;
    let added = env.run(
        &[
            "user",
            "add",
            "--username",
            "scanner",
            "--role",
            "operator",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(added.status.success());
    let token = env.ok(&["token", "create", "--username", "scanner", "--name", "scan"]);
    let certs = env.dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    Pki::new().leaf(&certs, "soon", -80, 10);
    let server = env.serve();
    let base = server.url("").trim_end_matches('/').to_string();
    let out = env
        .command()
        .args(["cert", "scan", "files", certs.to_str().unwrap()])
        .args(["--server", &base])
        .env("OPSWARD_TOKEN", token.trim())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stored on"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // promtool reads the classic text format that a plain GET gets.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let exposition = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(exposition.contains("x509_cert_not_after{"), "{exposition}");
    let (code, said) = promtool(&["check", "metrics"], &exposition, env.dir.path());
    assert_eq!(code, Some(0), "promtool check metrics: {said}");
    assert_eq!(said.trim(), "", "no lint problems");
    let rules_dir = dist().join("prometheus");
    let (code, said) = promtool(&["check", "rules", "opsward-alerts.yml"], "", &rules_dir);
    assert_eq!(code, Some(0), "promtool check rules: {said}");
    let (code, said) = promtool(
        &["test", "rules", "opsward-alerts.test.yml"],
        "",
        &rules_dir,
    );
    assert_eq!(code, Some(0), "promtool test rules: {said}");

    // Prometheus scrapes it (asking for OpenMetrics) and keeps every series.
    let prometheus = Prometheus::start(env.dir.path(), server.addr);
    let targets = prometheus
        .wait_for(&http, "/api/v1/targets", "a healthy opsward target", |d| {
            d["activeTargets"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["health"] == "up"))
        })
        .await;
    assert_eq!(targets["activeTargets"][0]["lastError"], "", "{targets}");
    let expiry = prometheus
        .query(
            &http,
            "(x509_cert_not_after{subject_CN=\"localhost\"} - time()) / 86400",
        )
        .await;
    let days = value(&expiry[0]);
    assert!((9.0..=10.0).contains(&days), "expires in {days} days");
    let certificates = prometheus
        .query(&http, "sum(opsward_conditions{practice=\"certificates\"})")
        .await;
    assert!(value(&certificates[0]) >= 1.0, "{certificates:?}");
    let kinds = prometheus
        .query(
            &http,
            "opsward_condition_kinds{practice=\"certificates\",kind=\"certificate_expiring\"}",
        )
        .await;
    assert_eq!(value(&kinds[0]), 1.0);
    let queue = prometheus.query(&http, "opsward_job_queue").await;
    let states: Vec<&str> = queue
        .iter()
        .map(|s| s["metric"]["state"].as_str().unwrap())
        .collect();
    for state in ["queued", "running", "succeeded", "dead"] {
        assert!(states.contains(&state), "{state} in {states:?}");
    }
    let outbox = prometheus.query(&http, "opsward_outbox_messages").await;
    assert_eq!(outbox.len(), 3, "pending, digest and dead: {outbox:?}");
    prometheus
        .query(&http, "opsward_jobs_total{outcome=\"succeeded\"}")
        .await;

    // The shipped rules are loaded, and the certificate alert has found the certificate
    // (pending for its `for:` time).
    prometheus
        .wait_for(&http, "/api/v1/alerts", "the certificate alert", |d| {
            d["alerts"].as_array().is_some_and(|a| {
                a.iter().any(|a| {
                    a["labels"]["alertname"] == "OpswardCertificateExpiringSoon"
                        && a["labels"]["subject_CN"] == "localhost"
                })
            })
        })
        .await;

    // Every metric the Grafana dashboard queries arrived in Prometheus.
    let names = prometheus
        .wait_for(
            &http,
            "/api/v1/label/__name__/values",
            "metric names",
            |d| {
                d.as_array()
                    .is_some_and(|n| n.iter().any(|n| n == "opsward_logins_total"))
                    || d.as_array().is_some_and(|n| n.len() > 10)
            },
        )
        .await;
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(dist().join("grafana/opsward.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            for name in metric_names(target["expr"].as_str().unwrap()) {
                // Counters that have not counted yet (no sign-in here) have no series.
                if name == "opsward_logins_total" {
                    assert!(exposition.contains("# TYPE opsward_logins_total counter"));
                    continue;
                }
                assert!(
                    names.contains(&name.as_str()),
                    "panel {:?} queries {name}, which Prometheus never received: {names:?}",
                    panel["title"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked} metric references checked");
}
