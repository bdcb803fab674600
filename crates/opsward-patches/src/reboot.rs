//! Reboots after an installation: never automatic unless the policy says so.
//!
//! A ring has a reboot policy, and an approval may set its own for that ring. With `never`
//! (the default) the agent only reports that a reboot is required. With `if-required` it runs
//! its configured reboot command, once, after a successful installation that left the host
//! needing a reboot, while the ring's window is still open, and only after the run (with
//! this decision in it) was recorded by the server.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

/// Whether the agent may reboot the host after installing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RebootPolicy {
    /// Report that a reboot is required; never reboot.
    #[default]
    Never,
    /// Reboot inside the window after a successful install that requires one.
    IfRequired,
}

impl RebootPolicy {
    pub const ALL: &'static [RebootPolicy] = &[RebootPolicy::Never, RebootPolicy::IfRequired];

    pub fn as_str(self) -> &'static str {
        match self {
            RebootPolicy::Never => "never",
            RebootPolicy::IfRequired => "if-required",
        }
    }
}

impl fmt::Display for RebootPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RebootPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        RebootPolicy::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == wanted)
            .ok_or_else(|| format!("{s:?} is not one of never, if-required"))
    }
}

/// What the agent decided after an installation run, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RebootDecision {
    /// The reboot command was run (after the run was recorded).
    Reboot,
    /// The policy is `never`.
    PolicyNever,
    /// The installation did not succeed.
    InstallFailed,
    /// Nothing asks for a reboot (or whether one is needed could not be told).
    NotRequired,
    /// The window closed during the installation.
    WindowClosed,
}

impl RebootDecision {
    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            RebootDecision::Reboot => "Reboot",
            RebootDecision::PolicyNever => "Not rebooted: policy says never",
            RebootDecision::InstallFailed => "Not rebooted: install failed",
            RebootDecision::NotRequired => "No reboot needed",
            RebootDecision::WindowClosed => "Not rebooted: window closed",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RebootDecision::Reboot => "reboot",
            RebootDecision::PolicyNever => "policy-never",
            RebootDecision::InstallFailed => "install-failed",
            RebootDecision::NotRequired => "not-required",
            RebootDecision::WindowClosed => "window-closed",
        }
    }
}

impl fmt::Display for RebootDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reboot part of a run's evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebootOutcome {
    /// The policy that applied (the approval's, else the ring's).
    pub policy: RebootPolicy,
    pub decision: RebootDecision,
    /// The command the agent runs for a reboot (empty when it does not reboot).
    pub command: Vec<String>,
}

/// The one place that says whether to reboot: only `if-required`, only after success, only
/// when a reboot is required, only while the window is open.
pub fn decide(
    policy: RebootPolicy,
    install_succeeded: bool,
    reboot_required: bool,
    window_open: bool,
) -> RebootDecision {
    if policy == RebootPolicy::Never {
        RebootDecision::PolicyNever
    } else if !install_succeeded {
        RebootDecision::InstallFailed
    } else if !reboot_required {
        RebootDecision::NotRequired
    } else if !window_open {
        RebootDecision::WindowClosed
    } else {
        RebootDecision::Reboot
    }
}

/// `needs-restarting -r` (dnf-utils / yum-utils) by its exit code: 1 a reboot is needed, 0
/// it is not, anything else (or killed) cannot tell.
pub fn needs_restarting_verdict(exit_code: Option<i32>) -> Option<bool> {
    match exit_code {
        Some(0) => Some(false),
        Some(1) => Some(true),
        _ => None,
    }
}

/// The packages `needs-restarting -r` names as updated since boot (`  * kernel`).
pub fn needs_restarting_packages(output: &str) -> Vec<String> {
    let mut packages: Vec<String> = output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("* "))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_if_required_after_success_in_the_window_reboots() {
        use RebootDecision::*;
        use RebootPolicy::*;
        for (ok, required, open) in [
            (true, true, true),
            (true, true, false),
            (false, true, true),
            (true, false, true),
        ] {
            assert_eq!(decide(Never, ok, required, open), PolicyNever);
        }
        assert_eq!(decide(IfRequired, true, true, true), Reboot);
        assert_eq!(decide(IfRequired, false, true, true), InstallFailed);
        assert_eq!(decide(IfRequired, true, false, true), NotRequired);
        assert_eq!(decide(IfRequired, true, true, false), WindowClosed);
    }

    #[test]
    fn needs_restarting_exit_codes() {
        assert_eq!(needs_restarting_verdict(Some(1)), Some(true));
        assert_eq!(needs_restarting_verdict(Some(0)), Some(false));
        for unknown in [Some(2), Some(127), Some(-1), None] {
            assert_eq!(needs_restarting_verdict(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn needs_restarting_names_the_packages() {
        // The text dnf-utils' needs-restarting prints with -r when a reboot is needed.
        let text = "Core libraries or services have been updated since boot-up:\n  * kernel\n  * systemd\n\n\
                    Reboot is required to fully utilize these updates.\n\
                    More information: https://access.redhat.com/solutions/27943\n";
        assert_eq!(needs_restarting_packages(text), ["kernel", "systemd"]);
        assert!(needs_restarting_packages(
            "No core libraries or services have been updated since boot-up.\nReboot should not be necessary.\n"
        )
        .is_empty());
    }

    #[test]
    fn policies_parse_and_print_as_written() {
        assert_eq!("if-required".parse(), Ok(RebootPolicy::IfRequired));
        assert_eq!("IF_REQUIRED".parse(), Ok(RebootPolicy::IfRequired));
        assert_eq!("never".parse(), Ok(RebootPolicy::Never));
        assert!("always".parse::<RebootPolicy>().is_err());
        assert_eq!(
            serde_json::to_string(&RebootPolicy::IfRequired).unwrap(),
            "\"if-required\""
        );
        assert_eq!(RebootPolicy::default(), RebootPolicy::Never);
    }
}
