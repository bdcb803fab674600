//! Scheduled re-import over HTTP from a local server bound by the test, serving the real KEV
//! catalog and a zip of real OSV records from `../shared/data`: imported when due, not again
//! within the interval; a failed fetch (HTTP error, no answer within the timeout) keeps the
//! previous data and is recorded as a failed run.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use opsward_core::Actor;
use opsward_store::Store;
use opsward_testkit::store_test;
use opsward_vulns::feeds::{reimport, reimport_due};
use opsward_vulns::findings::FeedKind;
use opsward_vulns::VulnStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::real_data::shared_data;

fn actor() -> Actor {
    Actor::system("scheduler")
}

/// A minimal HTTP/1.1 server: `GET /name` answers the body registered under that name, 404
/// otherwise; `/hang` never answers. One request per connection.
async fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let files = Arc::new(files);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let files = Arc::clone(&files);
            tokio::spawn(async move {
                let mut request = vec![];
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request);
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/');
                if path == "hang" {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
                let response = match files.get(path) {
                    Some(body) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend_from_slice(body);
                        r
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    base
}

fn osv_zip(ids: &[&str]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for id in ids {
        let text = std::fs::read(shared_data().join(format!("osv/crates.io/{id}.json"))).unwrap();
        zip.start_file(
            format!("{id}.json"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&text).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

store_test!(
    feeds_are_reimported_on_schedule_and_failures_keep_old_data,
    |store: Arc<dyn Store>| async move {
        let vulns = VulnStore::new(store.as_ref());
        let kev =
            std::fs::read(shared_data().join("kev/known_exploited_vulnerabilities.json")).unwrap();
        let epss = b"#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2025-48384,0.25,0.97\nCVE-2021-44228,9.4e-01,0.99\n".to_vec();
        let base = serve(HashMap::from([
            ("kev.json".to_string(), kev),
            (
                "all.zip".to_string(),
                osv_zip(&["RUSTSEC-2019-0009", "RUSTSEC-2021-0003"]),
            ),
            ("epss.csv".to_string(), epss),
        ]))
        .await;

        let mut settings = vulns.settings().await.unwrap();
        settings.feeds.osv = Some(format!("{base}/all.zip"));
        settings.feeds.kev = Some(format!("{base}/kev.json"));
        settings.feeds.epss = Some(format!("{base}/epss.csv"));
        settings.feeds.timeout_secs = 2;
        vulns.set_settings(&actor(), &settings).await.unwrap();

        let runs = reimport_due(&vulns, &actor(), Utc::now()).await.unwrap();
        let outcome: Vec<_> = runs
            .iter()
            .map(|r| (r.kind, r.outcome.as_str(), r.created + r.updated))
            .collect();
        assert_eq!(
            outcome,
            vec![
                (FeedKind::Osv, "imported", 2),
                (FeedKind::Kev, "imported", 1404),
                (FeedKind::Epss, "imported", 2),
            ],
            "{runs:?}"
        );
        assert_eq!(vulns.advisory_index().await.unwrap().advisory_count(), 2);
        assert!(
            reimport_due(&vulns, &actor(), Utc::now())
                .await
                .unwrap()
                .is_empty(),
            "nothing is due within the interval"
        );
        // Once the interval has passed, it runs again (and changes nothing).
        let later = Utc::now() + chrono::Duration::minutes(settings.feeds.interval_minutes + 1);
        let again = reimport_due(&vulns, &actor(), later).await.unwrap();
        assert_eq!(again.len(), 3);
        assert_eq!(again[0].unchanged, 2);

        // The server loses the file, then stops answering: failed runs, old data kept.
        let gone = reimport(
            &vulns,
            &actor(),
            FeedKind::Kev,
            &format!("{base}/missing.json"),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        assert_eq!(gone.outcome, "failed");
        assert!(
            gone.problems[0].reason.contains("404"),
            "{:?}",
            gone.problems
        );
        let started = std::time::Instant::now();
        let hung = reimport(
            &vulns,
            &actor(),
            FeedKind::Osv,
            &format!("{base}/hang"),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(hung.outcome, "failed");
        assert_eq!(
            vulns.advisory_index().await.unwrap().advisory_count(),
            2,
            "old advisories kept"
        );
        let stored = vulns.import_runs(1).await.unwrap();
        assert_eq!(stored[0].outcome, "failed", "the failure is recorded");

        // A file path works the same way.
        let path = shared_data().join("kev/known_exploited_vulnerabilities.json");
        let local = reimport(
            &vulns,
            &actor(),
            FeedKind::Kev,
            path.to_str().unwrap(),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        assert_eq!(
            (local.outcome.as_str(), local.unchanged),
            ("imported", 1404)
        );
    }
);
