//! Severity: CVSS vectors scored with the `cvss` crate (v3.0, v3.1, v4.0), and the textual
//! severities databases publish in `database_specific` (GitHub's `MODERATE`, ...).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::osv::{OsvRecord, OsvSeverity};

opsward_core::text_enum! {
    /// Qualitative severity, CVSS's bands; `unknown` when an advisory gives none (Go's).
    Severity {
        Unknown => "unknown",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

impl Severity {
    /// The CVSS band of a base score (CVSS v3.1 §5 and v4.0 use the same bands).
    pub fn of_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// A database's own word for severity (`database_specific.severity`).
    pub fn of_label(label: &str) -> Option<Severity> {
        Some(match label.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "negligible" => Severity::Low,
            _ => return None,
        })
    }
}

/// A scored CVSS vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CvssScore {
    /// `3.0`, `3.1` or `4.0`
    pub version: String,
    pub vector: String,
    pub score: f64,
}

/// Scores a CVSS vector string; `None` for versions and strings the `cvss` crate cannot score
/// (CVSS v2, malformed vectors).
pub fn score_vector(vector: &str) -> Option<CvssScore> {
    let parsed = cvss::Cvss::from_str(vector.trim()).ok()?;
    let version = match parsed {
        cvss::Cvss::CvssV30(_) => "3.0",
        cvss::Cvss::CvssV31(_) => "3.1",
        cvss::Cvss::CvssV40(_) => "4.0",
        _ => return None,
    };
    Some(CvssScore {
        version: version.to_owned(),
        vector: vector.trim().to_owned(),
        score: parsed.score(),
    })
}

/// The severity of a record: its newest scorable CVSS vector (record level, then per package),
/// else the label in `database_specific.severity`.
pub fn assess(record: &OsvRecord) -> (Severity, Option<CvssScore>) {
    let entries: Vec<&OsvSeverity> = record
        .severity
        .iter()
        .chain(record.affected.iter().flat_map(|a| a.severity.iter()))
        .collect();
    let best = entries
        .iter()
        .filter(|s| s.kind.starts_with("CVSS_V"))
        .filter_map(|s| score_vector(&s.score))
        .max_by(|a, b| a.version.cmp(&b.version).then(a.score.total_cmp(&b.score)));
    if let Some(best) = best {
        return (Severity::of_score(best.score), Some(best));
    }
    let label = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str())
        .or_else(|| {
            record
                .affected
                .iter()
                .find_map(|a| a.database_specific.as_ref()?.get("severity")?.as_str())
        });
    (
        label
            .and_then(Severity::of_label)
            .unwrap_or(Severity::Unknown),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_vectors_score_as_the_calculators_do() {
        // FIRST's calculators: this v3.1 vector is 9.8, the v3.0 one from RUSTSEC-2016-0001 8.1.
        let v31 = score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!((v31.version.as_str(), v31.score), ("3.1", 9.8));
        let v30 = score_vector("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!((v30.version.as_str(), v30.score), ("3.0", 8.1));
        let v40 = score_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H")
            .unwrap();
        assert_eq!((v40.version.as_str(), v40.score), ("4.0", 10.0));
        assert!(
            score_vector("AV:N/AC:L/Au:N/C:C/I:C/A:C").is_none(),
            "CVSS v2 is not scored"
        );
        assert!(score_vector("CVSS:3.1/AV:X").is_none());
    }

    #[test]
    fn bands() {
        assert_eq!(Severity::of_score(9.8), Severity::Critical);
        assert_eq!(Severity::of_score(7.0), Severity::High);
        assert_eq!(Severity::of_score(6.9), Severity::Medium);
        assert_eq!(Severity::of_score(0.1), Severity::Low);
        assert_eq!(Severity::of_score(0.0), Severity::Unknown);
        assert_eq!(Severity::of_label("MODERATE"), Some(Severity::Medium));
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Unknown);
    }
}
