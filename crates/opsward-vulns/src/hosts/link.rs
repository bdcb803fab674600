//! Pending updates linked to the findings they close: a finding on the host's asset whose
//! package is the update's (source package for Debian, Ubuntu and Alpine advisories, binary
//! package for RPM distributions) and whose fixed version is at or below the update's
//! candidate, by the ecosystem's version ordering.

use std::cmp::Ordering;

use opsward_core::host_inventory::Severity as PatchSeverity;
use opsward_core::host_inventory::{PendingRow, UpdateFix, UpdateFixes};

use super::{is_os_ecosystem, PackageRule};
use crate::findings::{Finding, FindingState};
use crate::severity::Severity;
use crate::version::Scheme;

/// A vulnerability's severity as the patch policy grades updates (`None`: unknown).
pub fn patch_severity(severity: Severity) -> Option<PatchSeverity> {
    match severity {
        Severity::Critical => Some(PatchSeverity::Critical),
        Severity::High => Some(PatchSeverity::High),
        Severity::Medium => Some(PatchSeverity::Medium),
        Severity::Low => Some(PatchSeverity::Low),
        Severity::Unknown => None,
    }
}

/// Whether installing `candidate` of the update (binary `name`, built from `source`) closes
/// `finding`.
fn closes(name: &str, source: &str, candidate: &str, finding: &Finding) -> bool {
    if !matches!(
        finding.state,
        FindingState::Open | FindingState::Acknowledged | FindingState::AcceptedRisk
    ) || !is_os_ecosystem(&finding.ecosystem)
    {
        return false;
    }
    let package = match PackageRule::of(&finding.ecosystem) {
        PackageRule::Source if !source.is_empty() => source,
        _ => name,
    };
    if package != finding.package {
        return false;
    }
    let (Some(scheme), Some(fixed)) = (
        Scheme::for_ecosystem(&finding.ecosystem),
        finding.fixed_version.as_deref(),
    ) else {
        return false;
    };
    match (scheme.parse(fixed), scheme.parse(candidate)) {
        (Some(fixed), Some(candidate)) => matches!(
            fixed.compare(&candidate),
            Some(Ordering::Less | Ordering::Equal)
        ),
        _ => false,
    }
}

/// What installing the update would close among `findings` (the host's asset's).
pub fn fixes_of(name: &str, source: &str, candidate: &str, findings: &[Finding]) -> UpdateFixes {
    let mut out = UpdateFixes::default();
    for f in findings
        .iter()
        .filter(|f| closes(name, source, candidate, f))
    {
        out.findings.push(UpdateFix {
            finding_id: f.id,
            vulnerability_id: f.vulnerability_id.clone(),
            ids: f.ids.clone(),
            severity: patch_severity(f.severity),
            kev: f.kev,
            fixed_version: f.fixed_version.clone().unwrap_or_default(),
        });
        out.ids.extend(f.ids.iter().cloned());
    }
    out.ids.sort();
    out.ids.dedup();
    out.kev = out.findings.iter().filter(|f| f.kev).count() as i64;
    out.severity = PatchSeverity::highest(out.findings.iter().filter_map(|f| f.severity));
    out
}

/// Fills in each pending update's `fixes` from the host's findings.
pub fn link_fixes(pending: &mut [PendingRow], findings: &[Finding]) {
    for row in pending {
        row.fixes = fixes_of(&row.name, &row.source, &row.candidate_version, findings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::FindingKind;
    use chrono::Utc;

    fn finding(id: i64, package: &str, fixed: Option<&str>, severity: Severity) -> Finding {
        let now = Utc::now();
        Finding {
            id,
            asset_id: 1,
            kind: FindingKind::Package,
            ecosystem: "Debian:12".into(),
            package: package.into(),
            installed_version: "1:1.0-1".into(),
            vulnerability_id: format!("DSA-{id}"),
            ids: vec![format!("DSA-{id}"), format!("CVE-2024-{id}")],
            summary: String::new(),
            severity,
            cvss: None,
            fixed_version: fixed.map(str::to_owned),
            kev: id == 2,
            kev_due_date: None,
            epss_score: None,
            epss_percentile: None,
            state: FindingState::Open,
            reason: String::new(),
            approver: None,
            accepted_until: None,
            due_date: now.date_naive(),
            due_from: now.date_naive(),
            first_seen: now,
            last_seen: now,
            fixed_at: None,
        }
    }

    #[test]
    fn an_update_closes_findings_of_its_source_fixed_at_or_below_the_candidate() {
        let findings = [
            finding(1, "openssl", Some("1:1.0-2"), Severity::Medium),
            finding(2, "openssl", Some("1:1.0-3~deb12u1"), Severity::High),
            // Fixed only above the candidate: this update does not close it.
            finding(3, "openssl", Some("1:1.0-3"), Severity::Critical),
            // No fix known: nothing closes it.
            finding(4, "openssl", None, Severity::Critical),
            finding(5, "glibc", Some("1:1.0-2"), Severity::Critical),
        ];
        let fixes = fixes_of("libssl3", "openssl", "1:1.0-3~deb12u1", &findings);
        let ids: Vec<i64> = fixes.findings.iter().map(|f| f.finding_id).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(fixes.kev, 1);
        assert_eq!(fixes.severity, Some(PatchSeverity::High));
        assert_eq!(fixes.ids, ["CVE-2024-1", "CVE-2024-2", "DSA-1", "DSA-2"]);
        // Without the epoch the candidate is older than every fix.
        assert!(fixes_of("libssl3", "openssl", "1.0-9", &findings)
            .findings
            .is_empty());
        let mut gone = findings[0].clone();
        gone.state = FindingState::Fixed;
        assert!(fixes_of("libssl3", "openssl", "1:2.0-1", &[gone])
            .findings
            .is_empty());
        let unknown = [finding(6, "openssl", Some("1:1.0-2"), Severity::Unknown)];
        assert_eq!(
            fixes_of("openssl", "openssl", "1:1.0-2", &unknown).severity,
            None
        );
    }
}
