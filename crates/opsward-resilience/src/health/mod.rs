//! Health checks a host can run on its own resilience measures: software RAID, storage
//! multipathing, backup freshness, and a restore test. Each gives a verdict with the facts
//! behind it, so the result can be recorded as evidence.

pub mod backup;
pub mod mdstat;
pub mod multipath;
pub mod restore;

use serde::Serialize;

/// The outcome of one check, in the evidence vocabulary: passed, partial (working, with less
/// margin than it should have), failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Passed,
    Partial,
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Partial => "partial",
            Verdict::Failed => "failed",
        }
    }
}

/// A check's verdict and what it saw, one line per finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub check: String,
    pub verdict: Verdict,
    pub findings: Vec<String>,
}

impl Report {
    /// The notes of the evidence that records this report: `<check> check, <verdict>:` and
    /// one line per finding. The practice contract reads host agents' findings back from
    /// this prefix, so every way of recording a check should write it through here.
    pub fn evidence_notes(&self) -> String {
        format!(
            "{} check, {}:\n{}",
            self.check,
            self.verdict.as_str(),
            self.findings.join("\n")
        )
    }
}

/// Judge `/proc/mdstat`: a degraded or inactive array fails; one resyncing is partial.
pub fn judge_mdstat(arrays: &[mdstat::Array]) -> Report {
    let mut verdict = Verdict::Passed;
    let mut findings = Vec::new();
    for a in arrays {
        let health = a.health();
        let v = match health {
            mdstat::Health::Ok => Verdict::Passed,
            mdstat::Health::Syncing => Verdict::Partial,
            mdstat::Health::Degraded | mdstat::Health::Inactive => Verdict::Failed,
        };
        verdict = verdict.max(v);
        let mut line = format!(
            "{} {} {:?}: {}",
            a.name,
            a.level.as_deref().unwrap_or("-"),
            health,
            a.status.as_deref().unwrap_or("-")
        );
        let failed: Vec<_> = a
            .members
            .iter()
            .filter(|m| m.failed)
            .map(|m| m.device.as_str())
            .collect();
        if !failed.is_empty() {
            line.push_str(&format!(", failed members {}", failed.join(" ")));
        }
        if let Some(s) = &a.sync {
            match (&s.waiting, s.percent) {
                (Some(w), _) => line.push_str(&format!(", {} {w}", s.action)),
                (None, Some(p)) => line.push_str(&format!(", {} {p}%", s.action)),
                (None, None) => line.push_str(&format!(", {}", s.action)),
            }
        }
        findings.push(line);
    }
    if arrays.is_empty() {
        findings.push("no md arrays".into());
    }
    Report {
        check: "mdstat".into(),
        verdict,
        findings,
    }
}

/// Judge multipath paths: any unusable path is partial; a device with no usable path fails
/// (paths of one device share their hcil LUN; here any all-down set of paths is failed).
pub fn judge_multipath(paths: &[multipath::Path]) -> Report {
    let usable = paths.iter().filter(|p| p.usable()).count();
    let verdict = if paths.is_empty() || usable == 0 {
        Verdict::Failed
    } else if usable < paths.len() {
        Verdict::Partial
    } else {
        Verdict::Passed
    };
    let mut findings: Vec<String> = paths
        .iter()
        .map(|p| {
            format!(
                "{} ({}): {} {} {}",
                p.device, p.hcil, p.dm_state, p.checker_state, p.device_state
            )
        })
        .collect();
    findings.insert(0, format!("{usable} of {} paths usable", paths.len()));
    Report {
        check: "multipath".into(),
        verdict,
        findings,
    }
}
