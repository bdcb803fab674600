//! Resilience measures as stored and as callers send them, and how they are checked.

use chrono::{DateTime, NaiveDateTime, Utc};
use opsward_core::validation::{ValidationError, Validator};
use opsward_ops::{Evidence, EvidenceResult};
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

/// Most steps in a test procedure; a longer one belongs in a runbook the steps link to.
pub const MAX_STEPS: usize = 50;
/// The activity title adds a prefix to the measure's title and must stay within 200.
pub const MAX_TITLE: usize = 180;

use opsward_core::text_enum;

text_enum!(
    /// What kind of redundancy a measure is.
    MeasureKind {
        Raid => "raid" as "RAID",
        Multipath => "multipath",
        ClusterFailover => "cluster_failover",
        BackupRestore => "backup_restore",
        RedundantNetwork => "redundant_network",
        RedundantPower => "redundant_power",
        DrSite => "dr_site" as "Disaster recovery site",
        Other => "other",
    }
);

text_enum!(
    /// The `opsward resilience check` that verifies a measure automatically.
    CheckKind {
        Mdstat => "mdstat" as "RAID status (mdstat)",
        Multipath => "multipath",
        Backup => "backup",
        Restore => "restore",
    }
);

text_enum!(
    /// Where a measure stands. A failed (or partial) last result wins over an overdue test:
    /// a redundancy known to be broken is the more urgent news.
    MeasureState {
        /// The last test passed and none is overdue.
        Ok => "ok" as "OK",
        /// The last test failed or passed only partly.
        Failed => "failed",
        /// A scheduled test has started and has no result.
        Overdue => "overdue",
        /// No result yet and no test due yet.
        NeverTested => "never_tested",
    }
);

/// When a measure is tested: a calendar schedule in the measure's time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TestSchedule {
    /// RFC 5545 RRULE value, e.g. `FREQ=MONTHLY;INTERVAL=3`; empty for a single test.
    #[serde(default)]
    pub rrule: String,
    /// First test, wall-clock time in `timezone`.
    #[schema(value_type = String, example = "2026-01-14T10:00:00")]
    pub starts_local: NaiveDateTime,
    /// IANA time zone name.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default = "default_duration")]
    pub duration_minutes: i32,
}

fn default_timezone() -> String {
    "UTC".into()
}
fn default_duration() -> i32 {
    60
}

/// A measure as stored. Its schedule, results and evidence live on its calendar activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Measure {
    pub id: i64,
    pub asset_id: i64,
    pub kind: MeasureKind,
    pub title: String,
    pub description: String,
    /// The test procedure, step by step.
    pub procedure: Vec<String>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// The automated check that verifies it, if one does.
    pub check: Option<CheckKind>,
    /// The calendar activity that schedules its tests and holds their evidence.
    pub activity_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A measure as a caller creates or replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeasureInput {
    pub asset_id: i64,
    pub kind: MeasureKind,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub procedure: Vec<String>,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
    #[serde(default)]
    pub check: Option<CheckKind>,
    pub schedule: TestSchedule,
}

impl MeasureInput {
    /// Trimmed text, blank steps dropped.
    pub fn normalize(mut self) -> Self {
        self.title = self.title.trim().to_string();
        self.description = self.description.trim().to_string();
        self.procedure = self
            .procedure
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        self.schedule.rrule = self.schedule.rrule.trim().to_string();
        self.schedule.timezone = self.schedule.timezone.trim().to_string();
        self
    }

    /// Field checks; the schedule itself is checked by the calendar when the activity is
    /// written, with the same field names (`rrule`, `timezone`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("title", &self.title, MAX_TITLE);
        v.text("description", &self.description, false, 20_000);
        if self.procedure.len() > MAX_STEPS {
            v.error("procedure", format!("at most {MAX_STEPS} steps"));
        }
        for step in &self.procedure {
            v.text("procedure", step, true, 2000);
        }
        if self.owner_team_id.is_some() && self.owner_person_id.is_some() {
            v.error(
                "owner",
                "a measure is owned by a team or by a person, not both",
            );
        }
        v.finish()
    }
}

/// A measure with its schedule and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeasureStatus {
    pub measure: Measure,
    pub schedule: TestSchedule,
    pub state: MeasureState,
    /// Result and time of the newest evidence on the measure's activity.
    pub last_result: Option<EvidenceResult>,
    pub last_tested_at: Option<DateTime<Utc>>,
    pub last_evidence_id: Option<i64>,
    /// Start of the next scheduled test after now.
    pub next_test_at: Option<DateTime<Utc>>,
    /// Start of the oldest scheduled test still without a result, when one is overdue.
    pub overdue_since: Option<DateTime<Utc>>,
}

/// A measure with its evidence history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeasureDetail {
    pub status: MeasureStatus,
    pub evidence: Vec<Evidence>,
}

/// Which measures a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasureFilter {
    pub asset_id: Option<i64>,
    pub kind: Option<MeasureKind>,
    pub state: Option<MeasureState>,
}

/// A manual test result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TestResultInput {
    pub result: EvidenceResult,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub links: Vec<String>,
    /// The scheduled test it completes (UTC start, as listed by the calendar). Without it
    /// the most recent scheduled test still open is completed, as `opsward resilience
    /// check --activity` does.
    #[serde(default)]
    pub occurrence_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MeasureInput {
        MeasureInput {
            asset_id: 1,
            kind: MeasureKind::Raid,
            title: "  Mirror on db1 ".into(),
            description: String::new(),
            procedure: vec![" Pull disk 2 ".into(), "  ".into(), "Check resync".into()],
            owner_team_id: Some(1),
            owner_person_id: None,
            check: Some(CheckKind::Mdstat),
            schedule: TestSchedule {
                rrule: "FREQ=MONTHLY".into(),
                starts_local: NaiveDateTime::default(),
                timezone: "UTC".into(),
                duration_minutes: 60,
            },
        }
    }

    #[test]
    fn normalize_trims_and_drops_blank_steps() {
        let n = input().normalize();
        assert_eq!(n.title, "Mirror on db1");
        assert_eq!(n.procedure, ["Pull disk 2", "Check resync"]);
        assert!(n.validate().is_ok());
    }

    #[test]
    fn validation_names_the_fields() {
        let mut bad = input();
        bad.title = "x".repeat(MAX_TITLE + 1);
        bad.owner_person_id = Some(2);
        bad.procedure = vec!["step".into(); MAX_STEPS + 1];
        let err = bad.validate().unwrap_err().to_string();
        for field in ["title", "owner", "procedure"] {
            assert!(err.contains(field), "{err}");
        }
    }

    #[test]
    fn kinds_parse_with_dashes_and_list_choices() {
        assert_eq!("dr-site".parse::<MeasureKind>(), Ok(MeasureKind::DrSite));
        assert_eq!(
            "never_tested".parse::<MeasureState>(),
            Ok(MeasureState::NeverTested)
        );
        assert!("tape".parse::<MeasureKind>().unwrap_err().contains("raid"));
    }
}
