//! A chaos monkey that only touches what it is told it may touch.
//!
//! Each run it may inject faults into targets that are explicitly opted in (`opt_in = true`)
//! and carry none of the excluded tags: kill a process (from its pid file, or a systemd
//! unit's main process), or add a toxic to a fault proxy for a while. It acts only inside an
//! allowed time window, on at most `max_faults_per_run` targets (the blast radius), with a
//! probability per run, never when switched off (`enabled = false`) or when the kill-switch
//! file exists, and in leashed mode (dry run) it only says what it would do.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::{path::PathBuf, time::Duration};

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonkeyConfig {
    /// The global kill switch: false, and the monkey does nothing at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Dry run: decide and report, touch nothing.
    #[serde(default)]
    pub leashed: bool,
    /// While this file exists the monkey does nothing (an emergency stop anyone can set).
    #[serde(default)]
    pub kill_switch_file: Option<PathBuf>,
    /// At most this many faults per run.
    #[serde(default = "one")]
    pub max_faults_per_run: usize,
    /// Chance that a run injects anything, 0-1.
    #[serde(default = "one_f")]
    pub probability: f64,
    /// Targets with any of these tags are never touched, opted in or not.
    #[serde(default)]
    pub exclude_tags: Vec<String>,
    /// When faults are allowed; none means never.
    #[serde(default)]
    pub windows: Vec<Window>,
    #[serde(default)]
    pub targets: Vec<Target>,
}

fn one() -> usize {
    1
}
fn one_f() -> f64 {
    1.0
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// `mon` .. `sun`; empty means every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// `HH:MM`, local time in `timezone`; `start` equal to `end` means the whole day.
    pub start: String,
    pub end: String,
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

// No `deny_unknown_fields` here: serde cannot combine it with the flattened fault.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Target {
    pub name: String,
    /// Must be set to true: nothing is a target by default.
    #[serde(default)]
    pub opt_in: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub fault: Fault,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Send SIGTERM (or `signal`) to the process whose pid the file holds.
    Pidfile {
        pidfile: PathBuf,
        #[serde(default = "term")]
        signal: String,
    },
    /// `systemctl kill --signal=<signal> <unit>`.
    Systemd {
        unit: String,
        #[serde(default = "term")]
        signal: String,
    },
    /// Add `toxic` to proxy `proxy` of the fault proxy at `api` for `seconds`.
    Proxy {
        api: String,
        proxy: String,
        toxic: Value,
        #[serde(default = "minute")]
        seconds: u64,
    },
}

fn term() -> String {
    "TERM".into()
}
fn minute() -> u64 {
    60
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MonkeyError {
    #[error("monkey configuration: {0}")]
    Config(String),
}

impl MonkeyConfig {
    pub fn from_toml(text: &str) -> Result<MonkeyConfig, MonkeyError> {
        let config: MonkeyConfig =
            toml::from_str(text).map_err(|e| MonkeyError::Config(e.to_string()))?;
        if !(0.0..=1.0).contains(&config.probability) {
            return Err(MonkeyError::Config(
                "probability must be between 0 and 1".into(),
            ));
        }
        for w in &config.windows {
            w.bounds()?;
            w.timezone
                .parse::<chrono_tz::Tz>()
                .map_err(|_| MonkeyError::Config(format!("unknown time zone {:?}", w.timezone)))?;
            for d in &w.days {
                day_number(d).ok_or_else(|| {
                    MonkeyError::Config(format!("unknown day {d:?} (mon .. sun)"))
                })?;
            }
        }
        let mut names = std::collections::HashSet::new();
        for t in &config.targets {
            if !names.insert(&t.name) {
                return Err(MonkeyError::Config(format!(
                    "target {:?} is listed twice",
                    t.name
                )));
            }
        }
        Ok(config)
    }

    /// Targets the monkey may touch: opted in, and without an excluded tag.
    pub fn eligible(&self) -> Vec<&Target> {
        self.targets
            .iter()
            .filter(|t| t.opt_in && !t.tags.iter().any(|tag| self.exclude_tags.contains(tag)))
            .collect()
    }
}

fn day_number(day: &str) -> Option<u32> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|d| day.eq_ignore_ascii_case(d))
        .map(|p| p as u32)
}

impl Window {
    fn bounds(&self) -> Result<(NaiveTime, NaiveTime), MonkeyError> {
        let t = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M")
                .map_err(|_| MonkeyError::Config(format!("{s:?} is not HH:MM")))
        };
        Ok((t(&self.start)?, t(&self.end)?))
    }

    /// Whether `now` falls inside (start inclusive, end exclusive; may span midnight).
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        let (Ok((start, end)), Ok(tz)) = (self.bounds(), self.timezone.parse::<chrono_tz::Tz>())
        else {
            return false;
        };
        let local = now.with_timezone(&tz);
        let day_ok = self.days.is_empty()
            || self
                .days
                .iter()
                .any(|d| day_number(d) == Some(local.weekday().num_days_from_monday()));
        let t = local.time();
        let in_time = if start == end {
            true // the whole day
        } else if start < end {
            t >= start && t < end
        } else {
            t >= start || t < end
        };
        day_ok && in_time
    }
}

/// What one run decided and did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub at: DateTime<Utc>,
    /// `acted`, `leashed`, `halted` (switched off or kill-switch file), `outside_window`,
    /// `skipped` (the probability roll), `no_targets`.
    pub outcome: String,
    pub eligible: Vec<String>,
    pub faults: Vec<FaultReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultReport {
    pub target: String,
    pub action: String,
    /// Whether it was carried out (false when leashed or when it failed).
    pub done: bool,
    pub error: Option<String>,
}

/// One run at `now`. `seed` makes the choices repeatable (tests, or a reproducible game day).
pub async fn run_once(config: &MonkeyConfig, now: DateTime<Utc>, seed: Option<u64>) -> RunReport {
    let eligible = config.eligible();
    let mut report = RunReport {
        at: now,
        outcome: String::new(),
        eligible: eligible.iter().map(|t| t.name.clone()).collect(),
        faults: Vec::new(),
    };
    let halted = !config.enabled || config.kill_switch_file.as_ref().is_some_and(|f| f.exists());
    report.outcome = if halted {
        "halted"
    } else if !config.windows.iter().any(|w| w.contains(now)) {
        "outside_window"
    } else if eligible.is_empty() {
        "no_targets"
    } else {
        ""
    }
    .to_string();
    if !report.outcome.is_empty() {
        return report;
    }
    let mut rng = match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_entropy(),
    };
    if rng.gen::<f64>() >= config.probability {
        report.outcome = "skipped".into();
        return report;
    }
    let chosen: Vec<&&Target> = eligible
        .choose_multiple(&mut rng, config.max_faults_per_run)
        .collect();
    report.outcome = if config.leashed { "leashed" } else { "acted" }.into();
    for target in chosen {
        let action = describe(&target.fault);
        let (done, error) = if config.leashed {
            (false, None)
        } else {
            match inject(&target.fault).await {
                Ok(()) => (true, None),
                Err(e) => (false, Some(e)),
            }
        };
        tracing::warn!(target = %target.name, %action, done, leashed = config.leashed, "chaos monkey");
        report.faults.push(FaultReport {
            target: target.name.clone(),
            action,
            done,
            error,
        });
    }
    report
}

fn describe(fault: &Fault) -> String {
    match fault {
        Fault::Pidfile { pidfile, signal } => {
            format!("kill -{signal} $(cat {})", pidfile.display())
        }
        Fault::Systemd { unit, signal } => format!("systemctl kill --signal={signal} {unit}"),
        Fault::Proxy {
            proxy,
            toxic,
            seconds,
            ..
        } => format!("toxic {toxic} on proxy {proxy} for {seconds} s"),
    }
}

async fn command(program: &str, args: &[&str]) -> Result<(), String> {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(program)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| format!("{program} did not finish within 30 s"))?
    .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

async fn inject(fault: &Fault) -> Result<(), String> {
    match fault {
        Fault::Pidfile { pidfile, signal } => {
            let text = std::fs::read_to_string(pidfile)
                .map_err(|e| format!("cannot read {}: {e}", pidfile.display()))?;
            let pid: u32 = text
                .trim()
                .parse()
                .map_err(|_| format!("{} does not hold a pid", pidfile.display()))?;
            // Never signal a process group (0, negative) or init.
            if pid <= 1 {
                return Err(format!("refusing to signal pid {pid}"));
            }
            command("kill", &[&format!("-{signal}"), &pid.to_string()]).await
        }
        Fault::Systemd { unit, signal } => {
            command("systemctl", &["kill", &format!("--signal={signal}"), unit]).await
        }
        Fault::Proxy {
            api,
            proxy,
            toxic,
            seconds,
        } => {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| e.to_string())?;
            let name = format!("monkey-{}", Utc::now().timestamp_millis());
            let mut body = toxic.clone();
            body["name"] = json!(name);
            let base = api.trim_end_matches('/');
            let added = http
                .post(format!("{base}/proxies/{proxy}/toxics"))
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !added.status().is_success() {
                return Err(format!(
                    "adding the toxic: {} {}",
                    added.status(),
                    added.text().await.unwrap_or_default()
                ));
            }
            // The fault lasts `seconds`, then heals, whatever happens meanwhile.
            tokio::time::sleep(Duration::from_secs(*seconds)).await;
            http.delete(format!("{base}/proxies/{proxy}/toxics/{name}"))
                .send()
                .await
                .map_err(|e| format!("removing the toxic: {e}"))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows_days_and_midnight() {
        let office = Window {
            days: vec!["mon".into(), "fri".into()],
            start: "09:00".into(),
            end: "16:00".into(),
            timezone: "Europe/Berlin".into(),
        };
        // Monday 2026-03-02 09:30 Berlin = 08:30 UTC.
        assert!(office.contains(Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap()));
        assert!(
            !office.contains(Utc.with_ymd_and_hms(2026, 3, 2, 7, 30, 0).unwrap()),
            "08:30 Berlin"
        );
        assert!(
            !office.contains(Utc.with_ymd_and_hms(2026, 3, 3, 8, 30, 0).unwrap()),
            "a Tuesday"
        );
        let night = Window {
            days: vec![],
            start: "22:00".into(),
            end: "02:00".into(),
            timezone: "UTC".into(),
        };
        assert!(night.contains(Utc.with_ymd_and_hms(2026, 3, 2, 23, 0, 0).unwrap()));
        assert!(night.contains(Utc.with_ymd_and_hms(2026, 3, 2, 1, 59, 0).unwrap()));
        assert!(!night.contains(Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()));
    }

    #[test]
    fn only_opted_in_untagged_targets_are_eligible_and_bad_config_is_refused() {
        let config = MonkeyConfig::from_toml(
            r#"
exclude_tags = ["no-chaos"]
[[targets]]
name = "in"
opt_in = true
kind = "pidfile"
pidfile = "/run/a.pid"
[[targets]]
name = "silent"
kind = "pidfile"
pidfile = "/run/b.pid"
[[targets]]
name = "protected"
opt_in = true
tags = ["no-chaos"]
kind = "systemd"
unit = "db.service"
"#,
        )
        .unwrap();
        let names: Vec<_> = config.eligible().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["in"]);
        for bad in [
            "probability = 2.0",
            "[[windows]]\nstart = \"9\"\nend = \"10:00\"",
            "[[windows]]\ndays = [\"someday\"]\nstart = \"09:00\"\nend = \"10:00\"",
            "unknown_setting = 1",
            "[[targets]]\nname = \"x\"\nkind = \"pidfile\"\npidfile = \"/a\"\n[[targets]]\nname = \"x\"\nkind = \"pidfile\"\npidfile = \"/b\"",
        ] {
            assert!(MonkeyConfig::from_toml(bad).is_err(), "{bad}");
        }
    }
}
