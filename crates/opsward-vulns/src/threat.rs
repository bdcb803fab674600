//! Threat intelligence beside the advisories: CISA's catalog of Known Exploited
//! Vulnerabilities (JSON) and FIRST's EPSS scores (CSV). Both are parsed completely before
//! anything is stored, so a bad entry rejects the whole file with its position.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FeedError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

/// One KEV catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KevEntry {
    pub cve: String,
    pub vendor: String,
    pub product: String,
    pub name: String,
    pub date_added: NaiveDate,
    /// The remediation deadline CISA sets for federal agencies; opsward's due date for findings.
    pub due_date: NaiveDate,
    pub ransomware: String,
}

#[derive(Debug, Clone)]
pub struct KevCatalog {
    pub version: String,
    pub entries: Vec<KevEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    catalog_version: String,
    count: Option<usize>,
    vulnerabilities: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKev {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    vulnerability_name: String,
    date_added: NaiveDate,
    due_date: NaiveDate,
    #[serde(default)]
    known_ransomware_campaign_use: String,
}

pub fn parse_kev(file: &str, text: &str) -> Result<KevCatalog, FeedError> {
    let error = |line, reason: String| FeedError {
        file: file.to_owned(),
        line,
        reason,
    };
    let raw: RawCatalog =
        serde_json::from_str(text).map_err(|e| error(Some(e.line()), e.to_string()))?;
    let mut entries = Vec::with_capacity(raw.vulnerabilities.len());
    for (index, value) in raw.vulnerabilities.into_iter().enumerate() {
        let entry: RawKev = serde_json::from_value(value)
            .map_err(|e| error(None, format!("vulnerabilities[{index}]: {e}")))?;
        if !entry.cve_id.starts_with("CVE-") {
            return Err(error(
                None,
                format!(
                    "vulnerabilities[{index}]: {:?} is not a CVE id",
                    entry.cve_id
                ),
            ));
        }
        entries.push(KevEntry {
            cve: entry.cve_id,
            vendor: entry.vendor_project,
            product: entry.product,
            name: entry.vulnerability_name,
            date_added: entry.date_added,
            due_date: entry.due_date,
            ransomware: entry.known_ransomware_campaign_use,
        });
    }
    if let Some(count) = raw.count {
        if count != entries.len() {
            return Err(error(
                None,
                format!(
                    "the catalog says {count} entries but has {} (truncated?)",
                    entries.len()
                ),
            ));
        }
    }
    Ok(KevCatalog {
        version: raw.catalog_version,
        entries,
    })
}

/// One EPSS score: the probability of exploitation in the next 30 days, and its percentile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EpssScore {
    pub score: f64,
    pub percentile: f64,
}

#[derive(Debug, Clone)]
pub struct EpssFile {
    pub model_version: Option<String>,
    pub score_date: Option<String>,
    pub scores: Vec<(String, EpssScore)>,
}

/// `#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000`, then `cve,epss,percentile`,
/// then one row per CVE; numbers may be in scientific notation.
pub fn parse_epss(file: &str, text: &str) -> Result<EpssFile, FeedError> {
    let error = |line: usize, reason: String| FeedError {
        file: file.to_owned(),
        line: Some(line),
        reason,
    };
    let mut model_version = None;
    let mut score_date = None;
    let mut scores = vec![];
    let mut header_seen = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            for part in comment.split(',') {
                match part.split_once(':') {
                    Some(("model_version", v)) => model_version = Some(v.to_owned()),
                    Some(("score_date", v)) => score_date = Some(v.to_owned()),
                    _ => {}
                }
            }
            continue;
        }
        if !header_seen {
            if line.replace(' ', "") != "cve,epss,percentile" {
                return Err(error(
                    number,
                    format!("expected the header cve,epss,percentile, found {line:?}"),
                ));
            }
            header_seen = true;
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [cve, score, percentile] = fields[..] else {
            return Err(error(
                number,
                format!("expected 3 fields, found {}", fields.len()),
            ));
        };
        if !cve.starts_with("CVE-") {
            return Err(error(number, format!("{cve:?} is not a CVE id")));
        }
        let probability = |field: &str, name: &str| -> Result<f64, FeedError> {
            let value: f64 = field
                .parse()
                .map_err(|_| error(number, format!("{name} {field:?} is not a number")))?;
            if !(0.0..=1.0).contains(&value) {
                return Err(error(number, format!("{name} {value} is outside 0..1")));
            }
            Ok(value)
        };
        scores.push((
            cve.to_owned(),
            EpssScore {
                score: probability(score, "epss")?,
                percentile: probability(percentile, "percentile")?,
            },
        ));
    }
    if !header_seen {
        return Err(FeedError {
            file: file.to_owned(),
            line: None,
            reason: "no header cve,epss,percentile".into(),
        });
    }
    Ok(EpssFile {
        model_version,
        score_date,
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epss_csv_with_scientific_notation() {
        let text = "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99961\nCVE-1999-0001,1.2e-05,0.00123\n";
        let parsed = parse_epss("epss.csv", text).unwrap();
        assert_eq!(parsed.model_version.as_deref(), Some("v2025.03.14"));
        assert_eq!(
            parsed.score_date.as_deref(),
            Some("2025-08-25T00:00:00+0000")
        );
        assert_eq!(
            parsed.scores[1],
            (
                "CVE-1999-0001".to_owned(),
                EpssScore {
                    score: 0.000012,
                    percentile: 0.00123
                }
            )
        );
        let bad = parse_epss(
            "e.csv",
            "cve,epss,percentile\nCVE-1,0.5,0.5\nCVE-2,abc,0.1\n",
        )
        .unwrap_err();
        assert_eq!((bad.line, bad.reason.contains("abc")), (Some(3), true));
        assert_eq!(
            parse_epss("e.csv", "cve,epss,percentile\nCVE-1,1.5,0.5\n")
                .unwrap_err()
                .line,
            Some(2)
        );
        assert!(parse_epss("e.csv", "x,y\n").is_err());
    }
}
