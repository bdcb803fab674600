//! Chaos experiments in Chaos Toolkit's format (JSON or YAML: title, configuration,
//! steady-state hypothesis with probes and tolerances, method, rollbacks), run natively, with
//! a journal shaped like Chaos Toolkit's `journal.json`.
//!
//! The run follows chaoslib: check the steady state; if it holds, apply the method; check the
//! steady state again (not holding now means the system *deviated*); then roll back. Rollbacks
//! always run, like `chaos run --rollback-strategy always`, so a fault injected by a method
//! is removed even when the hypothesis fails. Status, as chaoslib sets it: `failed` when a
//! hypothesis probe itself failed (raised: a timeout, a refused connection), otherwise
//! `completed`, even when a probe was out of tolerance; that is told by `deviated` (after the
//! method) and `steady_states.before.steady_state_met`. [`succeeded`] combines them.

mod providers;
pub mod tolerance;

use chrono::{DateTime, Utc};
pub use providers::Context;
use serde_json::{json, Map, Value};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExperimentError {
    #[error("the experiment is not valid JSON or YAML: {0}")]
    Syntax(String),
    #[error("invalid experiment: {0}")]
    Invalid(String),
}

/// Read an experiment; YAML when `yaml` (by file extension), JSON otherwise.
pub fn load(text: &str, yaml: bool) -> Result<Value, ExperimentError> {
    let value: Value = if yaml {
        serde_norway::from_str(text).map_err(|e| ExperimentError::Syntax(e.to_string()))?
    } else {
        serde_json::from_str(text).map_err(|e| ExperimentError::Syntax(e.to_string()))?
    };
    validate(&value)?;
    Ok(value)
}

fn invalid(msg: impl Into<String>) -> ExperimentError {
    ExperimentError::Invalid(msg.into())
}

fn check_activity(
    a: &Value,
    where_: &str,
    probe_needs_tolerance: bool,
) -> Result<(), ExperimentError> {
    if a.get("ref").is_some() {
        return Ok(());
    }
    let name = a
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("an activity in {where_} has no name")))?;
    let kind = a
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("activity {name:?} has no type")))?;
    if kind != "probe" && kind != "action" {
        return Err(invalid(format!(
            "activity {name:?}: type must be probe or action, not {kind:?}"
        )));
    }
    let provider = a
        .get("provider")
        .ok_or_else(|| invalid(format!("activity {name:?} has no provider")))?;
    match provider.get("type").and_then(Value::as_str) {
        Some("http") if provider.get("url").is_none() => {
            return Err(invalid(format!(
                "activity {name:?}: http provider without url"
            )))
        }
        Some("process") if provider.get("path").is_none() => {
            return Err(invalid(format!(
                "activity {name:?}: process provider without path"
            )))
        }
        Some("python") if provider.get("module").is_none() || provider.get("func").is_none() => {
            return Err(invalid(format!(
                "activity {name:?}: python provider needs module and func"
            )))
        }
        Some("http" | "process" | "python") => {}
        other => {
            return Err(invalid(format!(
                "activity {name:?}: unknown provider type {other:?}"
            )))
        }
    }
    if probe_needs_tolerance && a.get("tolerance").is_none() {
        return Err(invalid(format!(
            "steady-state probe {name:?} has no tolerance"
        )));
    }
    Ok(())
}

/// The checks chaoslib makes before running: a title, at least one method activity, each
/// activity well-formed, each hypothesis probe with a tolerance.
pub fn validate(e: &Value) -> Result<(), ExperimentError> {
    if e.get("title")
        .and_then(Value::as_str)
        .is_none_or(|t| t.trim().is_empty())
    {
        return Err(invalid("the experiment has no title"));
    }
    if let Some(h) = e.get("steady-state-hypothesis") {
        for p in h
            .get("probes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            check_activity(p, "the steady-state hypothesis", true)?;
        }
    }
    let method = e
        .get("method")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("the experiment has no method"))?;
    if method.is_empty() {
        return Err(invalid("the method has no activity"));
    }
    for a in method {
        check_activity(a, "the method", false)?;
    }
    for a in e
        .get("rollbacks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_activity(a, "the rollbacks", false)?;
    }
    Ok(())
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn seconds(v: Option<&Value>) -> Duration {
    v.and_then(Value::as_f64)
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or_default()
}

/// Activities by name, so `{"ref": "name"}` finds the one defined earlier.
fn resolve<'a>(a: &'a Value, named: &'a Map<String, Value>) -> Option<&'a Value> {
    match a.get("ref").and_then(Value::as_str) {
        Some(name) => named.get(name),
        None => Some(a),
    }
}

/// Run one activity; the run record as Chaos Toolkit writes it.
async fn run_activity(activity: &Value, ctx: &mut Context) -> Value {
    let pauses = activity.get("pauses");
    tokio::time::sleep(seconds(pauses.and_then(|p| p.get("before")))).await;
    let start = Utc::now();
    let provider = ctx.substitute(activity.get("provider").unwrap_or(&Value::Null));
    let result = providers::run(&provider, ctx).await;
    let end = Utc::now();
    let mut record = json!({
        "activity": activity,
        "start": stamp(start),
        "end": stamp(end),
        "duration": (end - start).num_microseconds().unwrap_or(0) as f64 / 1e6,
    });
    match result {
        Ok(output) => {
            record["status"] = json!("succeeded");
            record["output"] = output;
        }
        Err(e) => {
            record["status"] = json!("failed");
            record["output"] = Value::Null;
            record["exception"] = json!([format!("opsward.experiment.ActivityFailed: {e}\n")]);
        }
    }
    tokio::time::sleep(seconds(pauses.and_then(|p| p.get("after")))).await;
    record
}

/// Check the steady-state hypothesis; stops at the first probe out of tolerance.
async fn hypothesis(e: &Value, ctx: &mut Context, named: &Map<String, Value>) -> Option<Value> {
    let h = e.get("steady-state-hypothesis")?;
    let mut probes = Vec::new();
    let mut met = true;
    for p in h
        .get("probes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(p) = resolve(p, named) else {
            met = false;
            break;
        };
        let mut run = run_activity(p, ctx).await;
        let within = if run["status"] == "succeeded" {
            let tolerance = ctx.substitute(p.get("tolerance").unwrap_or(&Value::Null));
            match tolerance::within(&tolerance, &run["output"]) {
                Ok(w) => w,
                Err(why) => {
                    run["exception"] = json!([why]);
                    false
                }
            }
        } else {
            false
        };
        run["tolerance_met"] = json!(within);
        probes.push(run);
        if !within {
            met = false;
            break;
        }
    }
    Some(json!({"steady_state_met": met, "probes": probes}))
}

fn named_activities(e: &Value) -> Map<String, Value> {
    let mut named = Map::new();
    let lists = [
        e.get("steady-state-hypothesis")
            .and_then(|h| h.get("probes")),
        e.get("method"),
        e.get("rollbacks"),
    ];
    for a in lists
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
    {
        if let Some(n) = a.get("name").and_then(Value::as_str) {
            named.entry(n.to_string()).or_insert_with(|| a.clone());
        }
    }
    named
}

/// Run a validated experiment; the journal.
pub async fn run(e: &Value) -> Result<Value, ExperimentError> {
    validate(e)?;
    let configuration = e
        .get("configuration")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut ctx = Context::new(&configuration).map_err(invalid)?;
    let named = named_activities(e);
    let start = Utc::now();
    tracing::info!(
        title = e["title"].as_str().unwrap_or_default(),
        "experiment started"
    );

    let before = hypothesis(e, &mut ctx, &named).await;
    let before_met = before
        .as_ref()
        .is_none_or(|b| b["steady_state_met"] == true);
    let mut runs = Vec::new();
    let mut after = None;
    if before_met {
        for a in e["method"].as_array().into_iter().flatten() {
            let Some(a) = resolve(a, &named) else {
                continue;
            };
            let run = run_activity(a, &mut ctx).await;
            if run["status"] == "failed" {
                tracing::warn!(
                    activity = a["name"].as_str().unwrap_or_default(),
                    "method activity failed"
                );
            }
            runs.push(run);
        }
        after = hypothesis(e, &mut ctx, &named).await;
    }
    let deviated = after
        .as_ref()
        .is_some_and(|a| a["steady_state_met"] == false);
    let mut rollbacks = Vec::new();
    for a in e
        .get("rollbacks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(a) = resolve(a, &named) else {
            continue;
        };
        rollbacks.push(run_activity(a, &mut ctx).await);
    }
    // chaoslib: a hypothesis that is not met leaves the status `completed` unless one of
    // its probes failed outright.
    let probe_failed = |state: &Option<Value>| {
        state.as_ref().is_some_and(|s| {
            s["probes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["status"] != "succeeded")
        })
    };
    let status = if (!before_met && probe_failed(&before)) || (deviated && probe_failed(&after)) {
        "failed"
    } else {
        "completed"
    };
    let end = Utc::now();
    tracing::info!(status, deviated, "experiment finished");
    Ok(json!({
        "opsward-version": env!("CARGO_PKG_VERSION"),
        "platform": format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        "node": std::env::var("HOSTNAME").unwrap_or_default(),
        "experiment": e,
        "start": stamp(start),
        "status": status,
        "deviated": deviated,
        "steady_states": {"before": before, "after": after, "during": []},
        "run": runs,
        "rollbacks": rollbacks,
        "end": stamp(end),
        "duration": (end - start).num_microseconds().unwrap_or(0) as f64 / 1e6,
    }))
}

/// Whether a journal shows the system held: the run completed, the steady state held before
/// the method and did not deviate after it.
pub fn succeeded(journal: &Value) -> bool {
    journal["status"] == "completed"
        && journal["deviated"] == false
        && journal["steady_states"]["before"]["steady_state_met"] != false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_problem() {
        let ok = json!({"title": "t", "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}]});
        assert_eq!(validate(&ok), Ok(()));
        for (bad, says) in [
            (json!({"method": []}), "no title"),
            (json!({"title": "t"}), "no method"),
            (json!({"title": "t", "method": []}), "no activity"),
            (
                json!({"title": "t", "method": [{"type": "action", "name": "a", "provider": {"type": "grpc"}}]}),
                "unknown provider",
            ),
            (
                json!({"title": "t", "method": [{"type": "nap", "name": "a", "provider": {"type": "process", "path": "x"}}]}),
                "probe or action",
            ),
            (
                json!({"title": "t", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "process", "path": "true"}}]},
                "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}]}),
                "no tolerance",
            ),
        ] {
            let e = validate(&bad).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        assert!(matches!(
            load("title: [", true),
            Err(ExperimentError::Syntax(_))
        ));
    }

    #[tokio::test]
    async fn a_broken_steady_state_deviates_and_still_rolls_back() {
        let dir = std::env::temp_dir().join(format!("opsward-exp-{}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let flag = dir.join("healthy");
        std::fs::write(&flag, "").unwrap();
        let e = json!({
            "title": "the flag file survives",
            "configuration": {"flag": flag.to_str().unwrap()},
            "steady-state-hypothesis": {"title": "flag present", "probes": [
                {"type": "probe", "name": "flag-present", "tolerance": 0, "provider": {"type": "process", "path": "test", "arguments": ["-e", "${flag}"]}}
            ]},
            "method": [{"type": "action", "name": "remove-flag", "provider": {"type": "process", "path": "rm", "arguments": "${flag}"}}],
            "rollbacks": [{"type": "action", "name": "restore-flag", "provider": {"type": "process", "path": "touch", "arguments": ["${flag}"]}}]
        });
        let journal = run(&e).await.unwrap();
        assert_eq!(
            journal["status"], "completed",
            "the probe ran; it was out of tolerance"
        );
        assert_eq!(journal["deviated"], true);
        assert!(!succeeded(&journal));
        assert_eq!(journal["steady_states"]["before"]["steady_state_met"], true);
        assert_eq!(journal["steady_states"]["after"]["steady_state_met"], false);
        assert_eq!(journal["run"][0]["status"], "succeeded");
        assert_eq!(journal["rollbacks"][0]["status"], "succeeded");
        assert!(flag.exists(), "the rollback restored it");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
