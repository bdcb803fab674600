//! What the notification layer hears from patching: a failed installation run, which stops
//! its ring's rollout.

use crate::store::rollout::RunRecord;
use opsward_core::practice::Practice;
use opsward_ops::notifications::{Event, Severity};

/// `patch.install_failed` for a failed run, `None` for a successful one. The run's id is the
/// dedupe key, so each failed run is notified once per rule however often this is emitted.
pub fn install_failed_event(run: &RunRecord) -> Option<Event> {
    if run.succeeded {
        return None;
    }
    let exit = run.run.exit_code.map_or_else(
        || "was killed at the time limit".into(),
        |c| format!("exited {c}"),
    );
    let tail: String = {
        let lines: Vec<&str> = run.run.output.lines().rev().take(10).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    Some(Event {
        kind: "patch.install_failed".into(),
        practice: Practice::Patches,
        severity: Severity::Critical,
        subject: format!("Patch installation failed on {}", run.hostname),
        body: format!(
            "`{}` on {} {exit}; the rollout of approval #{} (approved by {}) is stopped.\n{tail}",
            run.run.command.join(" "),
            run.hostname,
            run.approval_id,
            run.approved_by,
        ),
        link: Some("/patches/rollout".into()),
        owner_team_id: None,
        owner_person_id: None,
        dedupe_key: format!("patch_run:{}", run.id),
        state: "failed".into(),
        occurred_at: run.run.finished_at,
    })
}
