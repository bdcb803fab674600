//! The dashboard's getting-started checklist for a new installation: each step is done when
//! the data says so (counted from the stores, never remembered separately), links to the page
//! where it is done, and the list goes away once every step is done.

use crate::AppState;
use opsward_ops::CalendarFilter;
use opsward_store::StoreError;
use opsward_vulns::findings::FeedKind;

/// What the checklist is decided from: how much of each thing exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub assets: i64,
    /// TLS scans recorded (by the server, the CLI or an upload).
    pub certificate_scans: usize,
    /// Hosts enrolled through any enrollment token.
    pub enrollments: i64,
    /// OSV imports that went in.
    pub advisory_imports: usize,
    /// Active calendar activities.
    pub activities: usize,
}

/// One step of the checklist.
pub struct Step {
    pub key: &'static str,
    pub title: &'static str,
    pub why: &'static str,
    /// Where it is done.
    pub href: &'static str,
    pub action: &'static str,
    pub done: bool,
    /// What is there now, in words ("3 assets").
    pub status: String,
}

pub struct Checklist {
    pub steps: Vec<Step>,
}

fn counted(n: i64, one: &str, many: &str) -> String {
    match n {
        0 => "not yet".to_string(),
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

impl Checklist {
    pub fn from_counts(c: Counts) -> Self {
        let steps = vec![
            Step {
                key: "assets",
                title: "Add your assets",
                why: "Everything else (certificates, hosts, findings, activities) hangs off them.",
                href: "/assets/new",
                action: "Add an asset (or import a CSV)",
                done: c.assets > 0,
                status: counted(c.assets, "asset", "assets"),
            },
            Step {
                key: "certificates",
                title: "Scan for certificates",
                why: "Find every TLS certificate you serve and when it expires.",
                href: "/certificates/scans",
                action: "Scan endpoints",
                done: c.certificate_scans > 0,
                status: counted(c.certificate_scans as i64, "scan", "scans"),
            },
            Step {
                key: "agents",
                title: "Enroll a host agent",
                why: "Hosts report their packages and pending updates, and run resilience checks.",
                href: "/patches/enrollment",
                action: "Create an enrollment token",
                done: c.enrollments > 0,
                status: counted(c.enrollments, "host enrolled", "hosts enrolled"),
            },
            Step {
                key: "advisories",
                title: "Import advisories",
                why: "OSV advisories turn installed packages into vulnerability findings; KEV and EPSS rank them.",
                href: "/vulns/imports",
                action: "Upload OSV, KEV or EPSS files",
                done: c.advisory_imports > 0,
                status: counted(c.advisory_imports as i64, "OSV import", "OSV imports"),
            },
            Step {
                key: "activities",
                title: "Schedule the first activities",
                why: "Recurring checks and reviews, with evidence when each is done.",
                href: "/calendar/activities/new",
                action: "Schedule an activity",
                done: c.activities > 0,
                status: counted(c.activities as i64, "activity", "activities"),
            },
        ];
        Checklist { steps }
    }

    pub fn all_done(&self) -> bool {
        self.steps.iter().all(|s| s.done)
    }

    pub fn done_count(&self) -> usize {
        self.steps.iter().filter(|s| s.done).count()
    }

    /// The checklist as of now, from the stores.
    pub async fn gather(state: &AppState) -> Result<Self, StoreError> {
        let assets = state.store.count_assets().await?;
        let certificate_scans = state.certs.scans(1).await?.len();
        let enrollments = state
            .patches
            .list_enrollment_tokens()
            .await?
            .iter()
            .map(|t| t.uses)
            .sum();
        let advisory_imports = state
            .vulns
            .import_runs(200)
            .await?
            .iter()
            .filter(|r| r.kind == FeedKind::Osv && r.outcome == "imported")
            .count();
        let activities = state
            .ops
            .list_activities(&CalendarFilter::default(), false)
            .await?
            .len();
        Ok(Self::from_counts(Counts {
            assets,
            certificate_scans,
            enrollments,
            advisory_imports,
            activities,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_is_done_by_its_own_count() {
        let empty = Checklist::from_counts(Counts::default());
        assert_eq!(empty.done_count(), 0);
        assert!(!empty.all_done());
        let some = Checklist::from_counts(Counts {
            assets: 3,
            enrollments: 1,
            ..Counts::default()
        });
        let done: Vec<_> = some
            .steps
            .iter()
            .filter(|s| s.done)
            .map(|s| s.key)
            .collect();
        assert_eq!(done, ["assets", "agents"]);
        assert_eq!(some.steps[0].status, "3 assets");
        assert_eq!(some.steps[2].status, "1 host enrolled");
        let all = Checklist::from_counts(Counts {
            assets: 1,
            certificate_scans: 1,
            enrollments: 1,
            advisory_imports: 1,
            activities: 1,
        });
        assert!(all.all_done());
    }
}
