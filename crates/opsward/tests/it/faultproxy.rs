//! `opsward faultproxy` as a process, driven by Chaos Toolkit (`chaos run`, PyPI) with the
//! `chaostoolkit-toxiproxy` extension: an experiment whose latency breaks the steady state
//! deviates and rolls back; one whose latency stays within tolerance completes.

use crate::Env;
use serde_json::{json, Value};
use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// A minimal HTTP service that answers every request with `200 ok`.
async fn http_ok_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct FaultProxyProcess(Child);

impl Drop for FaultProxyProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `opsward faultproxy` with `config`, and wait for its API.
async fn start(env: &Env, api_port: u16, config: &Value) -> FaultProxyProcess {
    let config = env.write("proxies.json", &config.to_string());
    let child = Command::new(crate::BIN)
        .args([
            "faultproxy",
            "--listen",
            &format!("127.0.0.1:{api_port}"),
            "--proxies",
        ])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(env.dir.path().join("faultproxy.log")).unwrap())
        .spawn()
        .unwrap();
    let process = FaultProxyProcess(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let http = reqwest::Client::new();
    while http
        .get(format!("http://127.0.0.1:{api_port}/version"))
        .send()
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "opsward faultproxy did not start: {}",
            std::fs::read_to_string(env.dir.path().join("faultproxy.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    process
}

fn experiment(api_port: u16, service: u16, latency_ms: u64) -> Value {
    let toxiproxy = json!({"toxiproxy_host": "127.0.0.1", "toxiproxy_port": api_port});
    json!({
        "version": "1.0.0",
        "title": "The web service answers within a second when its network is slow",
        "description": "Latency between clients and the web service must not break it.",
        "configuration": toxiproxy,
        "steady-state-hypothesis": {
            "title": "The service answers 200 within one second",
            "probes": [{
                "type": "probe",
                "name": "service-answers",
                "tolerance": 200,
                "provider": {"type": "http", "url": format!("http://127.0.0.1:{service}/"), "timeout": 1}
            }]
        },
        "method": [{
            "type": "action",
            "name": "slow-network",
            "provider": {
                "type": "python",
                "module": "chaostoxi.toxic.actions",
                "func": "create_latency_toxic",
                "arguments": {"for_proxy": "web", "toxic_name": "slow", "latency": latency_ms}
            }
        }],
        "rollbacks": [{
            "type": "action",
            "name": "heal-network",
            "provider": {
                "type": "python",
                "module": "chaostoxi.toxic.actions",
                "func": "delete_toxic",
                "arguments": {"for_proxy": "web", "toxic_name": "slow"}
            }
        }]
    })
}

/// Run `chaos run` on `experiment`; returns the journal it wrote.
fn chaos_run(env: &Env, name: &str, experiment: &Value) -> Value {
    let python = opsward_testkit::python();
    let chaos = python.parent().unwrap().join("chaos");
    assert!(
        chaos.exists(),
        "{} is missing: pip install chaostoolkit chaostoolkit-toxiproxy (as .ci/run does)",
        chaos.display()
    );
    let file = env.write(&format!("{name}.json"), &experiment.to_string());
    let journal = env.dir.path().join(format!("{name}-journal.json"));
    let out = Command::new(&chaos)
        .args(["--no-version-check", "--log-file"])
        .arg(env.dir.path().join(format!("{name}.log")))
        .args(["run", "--rollback-strategy", "always", "--journal-path"])
        .arg(&journal)
        .arg(&file)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&journal).unwrap_or_else(|_| {
        panic!(
            "chaos run wrote no journal:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// Run the same experiment file with `opsward resilience experiment`; returns its exit code
/// and journal.
fn opsward_run(env: &Env, name: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let file = env.dir.path().join(format!("{name}.json"));
    let journal = env.dir.path().join(format!("{name}-opsward-journal.json"));
    let mut args = vec![
        "resilience",
        "experiment",
        file.to_str().unwrap(),
        "--journal-path",
        journal.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = env.run(&args, "");
    let text = std::fs::read_to_string(&journal).unwrap_or_else(|_| {
        panic!(
            "opsward wrote no journal: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), serde_json::from_str(&text).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_toolkit_experiments_run_against_the_fault_proxy() {
    let env = Env::new(false).await;
    let upstream = http_ok_server().await;
    let (api_port, web_port) = (free_port(), free_port());
    let _proxy = start(
        &env,
        api_port,
        &json!([{"name": "web", "listen": format!("127.0.0.1:{web_port}"), "upstream": upstream.to_string()}]),
    )
    .await;

    let broken = chaos_run(&env, "broken", &experiment(api_port, web_port, 1500));
    assert_eq!(
        broken["status"], "failed",
        "1.5 s latency breaks a 1 s hypothesis: {broken:#}"
    );
    assert_eq!(broken["deviated"], true);
    let after = &broken["steady_states"]["after"];
    assert_eq!(after["steady_state_met"], false, "{after:#}");
    assert_eq!(
        broken["rollbacks"][0]["status"], "succeeded",
        "the rollback ran: {:#}",
        broken["rollbacks"]
    );
    let proxies: Value = reqwest::get(format!("http://127.0.0.1:{api_port}/proxies"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        proxies["web"]["toxics"],
        json!([]),
        "the rollback removed the toxic"
    );

    let fine = chaos_run(&env, "fine", &experiment(api_port, web_port, 100));
    assert_eq!(fine["status"], "completed", "{fine:#}");
    assert_eq!(fine["deviated"], false);

    // The same files under opsward's own runner give the same verdicts, and a run recorded
    // on a calendar activity becomes evidence with its journal attached.
    let first = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let activity: Value = serde_json::from_str(&env.ok(&[
        "activity",
        "add",
        "--title",
        "Web latency game day",
        "--practice",
        "resilience",
        "--rrule",
        "FREQ=WEEKLY",
        "--start",
        &first,
        "-o",
        "json",
    ]))
    .unwrap();
    let activity = activity["id"].to_string();
    let (code, ours) = opsward_run(&env, "broken", &["--activity", &activity]);
    assert_eq!(code, Some(1), "{ours:#}");
    assert_eq!(
        (&ours["status"], &ours["deviated"]),
        (&broken["status"], &broken["deviated"])
    );
    assert_eq!(ours["steady_states"]["after"]["steady_state_met"], false);
    assert_eq!(ours["rollbacks"][0]["status"], "succeeded");
    let proxies: Value = reqwest::get(format!("http://127.0.0.1:{api_port}/proxies"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        proxies["web"]["toxics"],
        json!([]),
        "opsward's rollback removed the toxic too"
    );
    let (code, ours) = opsward_run(&env, "fine", &[]);
    assert_eq!(code, Some(0), "{ours:#}");
    assert_eq!(
        (&ours["status"], &ours["deviated"]),
        (&fine["status"], &fine["deviated"])
    );

    let evidence: Value = serde_json::from_str(&env.ok(&[
        "evidence",
        "list",
        "--practice",
        "resilience",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(evidence[0]["result"], "failed", "{evidence:#}");
    assert_eq!(evidence[0]["attachments"][0]["filename"], "journal.json");
}

/// A YAML experiment with `process` probes and actions: it removes a file the steady state
/// needs and restores it in the rollback. Chaos Toolkit and opsward agree that it deviated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_experiments_in_yaml_get_the_same_verdict_from_both_runners() {
    let env = Env::new(false).await;
    let flag = env.write("healthy.flag", "");
    let yaml = format!(
        r#"version: 1.0.0
title: The health flag survives its removal
description: A rollback must put the flag back.
configuration:
  flag: "{flag}"
steady-state-hypothesis:
  title: The flag is there
  probes:
    - type: probe
      name: flag-present
      tolerance: 0
      provider:
        type: process
        path: test
        arguments: ["-e", "${{flag}}"]
method:
  - type: action
    name: remove-flag
    provider:
      type: process
      path: rm
      arguments: "${{flag}}"
rollbacks:
  - type: action
    name: restore-flag
    provider:
      type: process
      path: touch
      arguments: ["${{flag}}"]
"#,
        flag = flag.display()
    );
    let file = env.write("flag.yaml", &yaml);
    let python = opsward_testkit::python();
    let chaos_journal = env.dir.path().join("flag-chaos-journal.json");
    let out = Command::new(python.parent().unwrap().join("chaos"))
        .args(["--no-version-check", "--log-file"])
        .arg(env.dir.path().join("flag.log"))
        .args(["run", "--rollback-strategy", "always", "--journal-path"])
        .arg(&chaos_journal)
        .arg(&file)
        .output()
        .unwrap();
    let theirs: Value = serde_json::from_str(
        &std::fs::read_to_string(&chaos_journal)
            .unwrap_or_else(|_| panic!("chaos run: {}", String::from_utf8_lossy(&out.stderr))),
    )
    .unwrap();
    assert!(flag.exists(), "chaos's rollback restored the flag");
    let ours_path = env.dir.path().join("flag-opsward-journal.json");
    let run = env.run(
        &[
            "resilience",
            "experiment",
            file.to_str().unwrap(),
            "--journal-path",
            ours_path.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(&ours_path).unwrap()).unwrap();
    assert!(flag.exists(), "opsward's rollback restored the flag");
    assert_eq!(
        (&theirs["status"], &theirs["deviated"]),
        // chaoslib: the probe ran and was out of tolerance, so the run completed, deviated.
        (&json!("completed"), &json!(true)),
        "{theirs:#}"
    );
    assert_eq!(
        (&ours["status"], &ours["deviated"]),
        (&theirs["status"], &theirs["deviated"])
    );
    assert_eq!(
        ours["steady_states"]["before"]["steady_state_met"],
        theirs["steady_states"]["before"]["steady_state_met"]
    );
}
