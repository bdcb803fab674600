//! Load for `bench/patches/run.sh`: N simulated agents enroll, each sends a full report of P
//! packages (with 20 pending updates, 5 of them security), then a delta (10 packages
//! upgraded, 2 removed, 1 installed), C agents at a time. Prints ingest rates and latency
//! percentiles per kind of report.
//!
//! `cargo run --release -p opsward --example patches_bench -- URL ENROLLMENT_TOKEN N P C`

use opsward_patches::{report::HostReport, InstalledPackage, RebootRequired};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

#[path = "common/host_report.rs"]
mod host_report;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, token, n, p, c] = &args[..] else {
        eprintln!("usage: patches_bench URL ENROLLMENT_TOKEN AGENTS PACKAGES CONCURRENCY");
        std::process::exit(2);
    };
    let (n, p, c): (usize, usize, usize) =
        (n.parse().unwrap(), p.parse().unwrap(), c.parse().unwrap());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let url = Arc::new(url.trim_end_matches('/').to_string());
    let token = Arc::new(token.clone());
    let limit = Arc::new(tokio::sync::Semaphore::new(c));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for agent in 0..n {
        let (http, url, token, limit) = (http.clone(), url.clone(), token.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let full = host_report::full_report(
                agent,
                format!("bench-{agent:05}"),
                p,
                RebootRequired::default(),
            );
            let enrolled: serde_json::Value = http
                .post(format!("{url}/api/v1/patches/enroll"))
                .json(&serde_json::json!({"token": token.as_str(), "hostname": full.hostname}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let credential = enrolled["credential"].as_str().unwrap().to_string();
            let send = |report: HostReport| {
                let body = serde_json::to_vec(&report).unwrap();
                let request = http
                    .post(format!("{url}/api/v1/patches/reports"))
                    .header("X-Opsward-Host", &credential)
                    .header("Content-Type", "application/json")
                    .body(body);
                async move {
                    let t = Instant::now();
                    let response = request.send().await.unwrap();
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    assert!(status.is_success(), "{status}: {text}");
                    t.elapsed()
                }
            };
            let full_took = send(full.clone()).await;
            let mut next = full.clone();
            next.sequence = 2;
            for pkg in next.packages.iter_mut().take(10) {
                pkg.version.push_str("+b1");
            }
            next.packages.truncate(p - 2);
            next.packages.push(InstalledPackage {
                name: "newly-installed".into(),
                version: "0.1-1".into(),
                arch: "amd64".into(),
                source: "newly-installed".into(),
                source_version: "0.1-1".into(),
            });
            next.pending.drain(..10);
            let delta_took = send(next.delta_from(&full)).await;
            (full_took, delta_took)
        }));
    }
    let mut fulls = Vec::new();
    let mut deltas = Vec::new();
    for t in tasks {
        let (f, d) = t.await.unwrap();
        fulls.push(f);
        deltas.push(d);
    }
    let wall = started.elapsed().as_secs_f64();
    fulls.sort();
    deltas.sort();
    let sum = |v: &[Duration]| v.iter().map(|d| d.as_secs_f64()).sum::<f64>();
    println!("agents={n} packages={p} concurrency={c} wall_s={wall:.2}");
    println!(
        "reports_per_s={:.1} packages_per_s={:.0}",
        (2 * n) as f64 / wall,
        (n * p) as f64 / wall
    );
    for (kind, v) in [("full", &fulls), ("delta", &deltas)] {
        println!(
            "{kind}: mean_ms={:.1} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
            1000.0 * sum(v) / v.len() as f64,
            percentile(v, 0.5),
            percentile(v, 0.99),
            percentile(v, 1.0)
        );
    }
}
