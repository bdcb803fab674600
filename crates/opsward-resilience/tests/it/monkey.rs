//! The chaos monkey against real processes and a real fault proxy: it touches opted-in
//! targets only, respects the leash, the kill switches and the blast radius.

use crate::support::*;
use chrono::Utc;
use opsward_resilience::monkey::{run_once, MonkeyConfig};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

/// A long-running process with its pid in a file; killed on drop if still running.
struct Victim {
    child: Child,
    pidfile: PathBuf,
}

impl Victim {
    fn start(dir: &Path, name: &str) -> Victim {
        let child = Command::new("sleep").arg("300").spawn().unwrap();
        let pidfile = dir.join(format!("{name}.pid"));
        std::fs::write(&pidfile, child.id().to_string()).unwrap();
        Victim { child, pidfile }
    }

    /// Whether it has exited, waiting up to `within` for it to.
    fn exited(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn target(name: &str, victim: &Victim, extra: &str) -> String {
    format!(
        "[[targets]]\nname = \"{name}\"\nkind = \"pidfile\"\npidfile = \"{}\"\n{extra}\n",
        victim.pidfile.display()
    )
}

const ALWAYS: &str = "[[windows]]\nstart = \"00:00\"\nend = \"00:00\"\n";

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "opsward-monkey-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn it_never_touches_what_is_not_opted_in() {
    let dir = tempdir();
    let mut opted = Victim::start(&dir, "opted");
    let mut silent = Victim::start(&dir, "silent");
    let mut protected = Victim::start(&dir, "protected");
    let mut unlisted = Victim::start(&dir, "unlisted");
    let config = format!(
        "max_faults_per_run = 10\nexclude_tags = [\"no-chaos\"]\n{ALWAYS}{}{}{}",
        target("opted", &opted, "opt_in = true"),
        target("silent", &silent, "opt_in = false"),
        target(
            "protected",
            &protected,
            "opt_in = true\ntags = [\"db\", \"no-chaos\"]"
        ),
    );
    let mut leashed = MonkeyConfig::from_toml(&format!("leashed = true\n{config}")).unwrap();
    let dry = run_once(&leashed, Utc::now(), Some(7)).await;
    assert_eq!(dry.outcome, "leashed");
    assert_eq!(dry.eligible, ["opted"]);
    assert_eq!(dry.faults.len(), 1);
    assert!(!dry.faults[0].done);
    assert!(
        !opted.exited(Duration::from_millis(300)),
        "leashed: nothing happens"
    );

    leashed.leashed = false;
    let switch = dir.join("STOP");
    leashed.kill_switch_file = Some(switch.clone());
    std::fs::write(&switch, "").unwrap();
    assert_eq!(
        run_once(&leashed, Utc::now(), Some(7)).await.outcome,
        "halted"
    );
    std::fs::remove_file(&switch).unwrap();
    leashed.enabled = false;
    assert_eq!(
        run_once(&leashed, Utc::now(), Some(7)).await.outcome,
        "halted"
    );
    leashed.enabled = true;
    assert!(!opted.exited(Duration::from_millis(200)));

    for seed in 0..5 {
        let report = run_once(&leashed, Utc::now(), Some(seed)).await;
        assert!(
            report.faults.iter().all(|f| f.target == "opted"),
            "{report:?}"
        );
    }
    assert!(
        opted.exited(Duration::from_secs(5)),
        "the opted-in process was killed"
    );
    for (name, v) in [
        ("silent", &mut silent),
        ("protected", &mut protected),
        ("unlisted", &mut unlisted),
    ] {
        assert!(
            !v.exited(Duration::from_millis(100)),
            "{name} must never be touched"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn blast_radius_windows_and_probability() {
    let dir = tempdir();
    let mut victims: Vec<Victim> = (0..3)
        .map(|i| Victim::start(&dir, &format!("v{i}")))
        .collect();
    let targets: String = victims
        .iter()
        .enumerate()
        .map(|(i, v)| target(&format!("v{i}"), v, "opt_in = true"))
        .collect();
    let config =
        MonkeyConfig::from_toml(&format!("max_faults_per_run = 1\n{ALWAYS}{targets}")).unwrap();
    let report = run_once(&config, Utc::now(), Some(1)).await;
    assert_eq!(
        (report.outcome.as_str(), report.faults.len()),
        ("acted", 1),
        "{report:?}"
    );
    assert!(report.faults[0].done, "{report:?}");
    let killed = victims
        .iter_mut()
        .map(|v| v.exited(Duration::from_secs(1)))
        .filter(|exited| *exited)
        .count();
    assert_eq!(killed, 1, "one fault per run");

    let closed = MonkeyConfig::from_toml(&format!("[[windows]]\ndays = [\"mon\"]\nstart = \"09:00\"\nend = \"09:01\"\ntimezone = \"Pacific/Kiritimati\"\n{targets}")).unwrap();
    let never: Vec<_> = (0..7)
        .map(|d| chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 2 + d, 12, 0, 0).unwrap())
        .collect();
    for at in never {
        assert_eq!(
            run_once(&closed, at, Some(1)).await.outcome,
            "outside_window"
        );
    }
    let no_windows = MonkeyConfig::from_toml(&targets).unwrap();
    assert_eq!(
        run_once(&no_windows, Utc::now(), Some(1)).await.outcome,
        "outside_window",
        "no window means never"
    );
    let unlikely =
        MonkeyConfig::from_toml(&format!("probability = 0.0\n{ALWAYS}{targets}")).unwrap();
    assert_eq!(
        run_once(&unlikely, Utc::now(), Some(1)).await.outcome,
        "skipped"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_proxy_fault_is_injected_and_healed() {
    let api = Api::start().await;
    api.proxy_to("web", echo_server().await).await;
    let config = MonkeyConfig::from_toml(&format!(
        "{ALWAYS}[[targets]]\nname = \"web-latency\"\nopt_in = true\nkind = \"proxy\"\napi = \"{}\"\nproxy = \"web\"\nseconds = 1\ntoxic = {{ type = \"latency\", attributes = {{ latency = 300 }} }}\n",
        api.base
    ))
    .unwrap();
    let run = tokio::spawn(async move { run_once(&config, Utc::now(), Some(3)).await });
    let mut seen = false;
    for _ in 0..40 {
        if api.proxy.list()[0]
            .toxics
            .iter()
            .any(|t| t.name.starts_with("monkey-"))
        {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "the toxic was added");
    let report = run.await.unwrap();
    assert!(report.faults[0].done, "{report:?}");
    assert!(
        api.proxy.list()[0].toxics.is_empty(),
        "and removed after its time"
    );
}
