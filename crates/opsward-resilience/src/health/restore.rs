//! A restore test: run the command that restores (or verifies) a backup, with a time limit,
//! and judge it by its exit status and, optionally, a text its output must contain.

use super::{Report, Verdict};
use std::{process::Stdio, time::Duration};
use tokio::{io::AsyncReadExt, process::Command};

/// Output kept for the evidence: the last this many bytes of stdout and stderr each.
pub const KEEP_OUTPUT: usize = 4096;

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(KEEP_OUTPUT);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

/// Run `command` with `sh -c`; passed when it exits 0 within `limit` and, if `expect` is
/// given, its standard output contains it. A command that runs too long is killed.
pub async fn run(command: &str, limit: Duration, expect: Option<&str>) -> Report {
    let started = std::time::Instant::now();
    let mut findings = vec![format!("command: {command}")];
    let child = Command::new("sh")
        .args(["-c", command])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            findings.push(format!("cannot start: {e}"));
            return Report {
                check: "restore".into(),
                verdict: Verdict::Failed,
                findings,
            };
        }
    };
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let collect = async {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let _ = tokio::join!(out.read_to_end(&mut o), err.read_to_end(&mut e));
        let status = child.wait().await;
        (status, o, e)
    };
    let verdict = match tokio::time::timeout(limit, collect).await {
        Err(_) => {
            findings.push(format!(
                "killed after {} s: the time limit",
                limit.as_secs()
            ));
            Verdict::Failed
        }
        Ok((Err(e), _, _)) => {
            findings.push(format!("cannot wait for it: {e}"));
            Verdict::Failed
        }
        Ok((Ok(status), stdout, stderr)) => {
            findings.push(format!(
                "exit status {} after {:.1} s",
                status.code().map_or("signal".into(), |c| c.to_string()),
                started.elapsed().as_secs_f64()
            ));
            let stdout_text = String::from_utf8_lossy(&stdout);
            let mut v = if status.success() {
                Verdict::Passed
            } else {
                Verdict::Failed
            };
            if let Some(expected) = expect {
                if !stdout_text.contains(expected) {
                    findings.push(format!("output does not contain {expected:?}"));
                    v = Verdict::Failed;
                }
            }
            if !stdout.is_empty() {
                findings.push(format!("stdout: {}", tail(&stdout)));
            }
            if !stderr.is_empty() {
                findings.push(format!("stderr: {}", tail(&stderr)));
            }
            v
        }
    };
    Report {
        check: "restore".into(),
        verdict,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn judged_by_status_output_and_time() {
        let ok = run(
            "echo restored 42 rows",
            Duration::from_secs(10),
            Some("42 rows"),
        )
        .await;
        assert_eq!(ok.verdict, Verdict::Passed, "{ok:?}");
        let wrong = run(
            "echo restored 0 rows",
            Duration::from_secs(10),
            Some("42 rows"),
        )
        .await;
        assert_eq!(wrong.verdict, Verdict::Failed);
        let failing = run("echo oops >&2; exit 3", Duration::from_secs(10), None).await;
        assert_eq!(failing.verdict, Verdict::Failed);
        assert!(
            failing.findings.iter().any(|f| f.contains("exit status 3")),
            "{failing:?}"
        );
        assert!(failing.findings.iter().any(|f| f.contains("stderr: oops")));
        let started = std::time::Instant::now();
        let hung = run("sleep 30", Duration::from_millis(300), None).await;
        assert_eq!(hung.verdict, Verdict::Failed);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "killed at its limit"
        );
    }
}
