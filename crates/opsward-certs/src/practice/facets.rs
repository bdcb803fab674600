//! What the practice knows about one asset: its certificates (days left, problems, renewal)
//! and its places (TLS endpoints and files) with what they serve.

use super::queries::{self, AssetPlace, CertificateFacts, FACET_ROWS};
use chrono::{DateTime, Utc};
use opsward_core::{
    contract::{count, AssetFacet, FacetRow, Tone},
    practice::Practice,
};
use opsward_store::{Database, StoreError};
use std::collections::BTreeMap;

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

pub async fn of_asset(
    db: &Database,
    asset_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<AssetFacet>, StoreError> {
    let certs = queries::asset_certificates(db, asset_id).await?;
    let places = queries::asset_places(db, asset_id).await?;
    // Per certificate: its problem codes, and whether one is critical.
    let mut problems: BTreeMap<i64, (Vec<String>, bool)> = BTreeMap::new();
    if !certs.is_empty() {
        for (cert, code, severity) in queries::asset_problem_codes(db, asset_id).await? {
            let entry = problems.entry(cert).or_default();
            entry.0.push(code);
            entry.1 |= severity == "critical";
        }
    }
    let mut out = Vec::new();
    if !certs.is_empty() {
        out.push(certificates_facet(&certs, &problems, now));
    }
    if !places.is_empty() {
        out.push(places_facet(&places, now));
    }
    Ok(out)
}

fn certificates_facet(
    certs: &[CertificateFacts],
    problems: &BTreeMap<i64, (Vec<String>, bool)>,
    now: DateTime<Utc>,
) -> AssetFacet {
    let shown = &certs[..certs.len().min(FACET_ROWS as usize)];
    let expired = shown.iter().filter(|c| c.not_after <= now).count();
    let soon = shown
        .iter()
        .filter(|c| c.not_after > now && (c.not_after - now).num_days() <= 30)
        .count();
    let rows = shown
        .iter()
        .map(|c| {
            let days = (c.not_after - now).num_days();
            let (codes, critical) = problems.get(&c.id).cloned().unwrap_or_default();
            let tone = if c.not_after <= now || days <= 7 || critical {
                Tone::Bad
            } else if days <= 30 || !codes.is_empty() {
                Tone::Warning
            } else {
                Tone::Good
            };
            FacetRow {
                cells: vec![
                    c.name().to_string(),
                    c.not_after.format("%Y-%m-%d").to_string(),
                    if c.not_after <= now {
                        "expired".into()
                    } else {
                        days.to_string()
                    },
                    codes.join(", "),
                    c.renewal_status
                        .clone()
                        .unwrap_or_else(|| "none".into())
                        .replace('_', " "),
                    if c.places > 0 {
                        count(usize::try_from(c.places).unwrap_or(0), "place", "places")
                    } else {
                        "not served".into()
                    },
                ],
                link: Some(format!("/certificates/{}", c.id)),
                tone,
            }
        })
        .collect();
    let more = certs.len() > FACET_ROWS as usize;
    AssetFacet {
        practice: Practice::Certificates,
        title: "Certificates".into(),
        summary: Some(format!(
            "{}{}, {} expired, {} expiring within 30 days",
            count(shown.len(), "certificate", "certificates"),
            if more { " shown" } else { "" },
            expired,
            soon
        )),
        columns: [
            "Certificate",
            "Expires",
            "Days left",
            "Problems",
            "Renewal",
            "Served at",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        empty: "No certificate is set on this asset or served at its places.".into(),
        more_link: more.then(|| "/certificates".to_string()),
    }
}

fn places_facet(places: &[AssetPlace], now: DateTime<Utc>) -> AssetFacet {
    let shown = &places[..places.len().min(FACET_ROWS as usize)];
    let failing = shown.iter().filter(|p| p.last_error.is_some()).count();
    let rows = shown
        .iter()
        .map(|p| {
            let expired = p.leaf_not_after.is_some_and(|t| t <= now);
            let tone = if p.last_error.is_some() || expired {
                Tone::Bad
            } else if p.leaf_id.is_some() {
                Tone::Good
            } else {
                Tone::Neutral
            };
            FacetRow {
                cells: vec![
                    match &p.sni {
                        Some(sni) => format!("{} (SNI {sni})", p.location),
                        None => p.location.clone(),
                    },
                    p.kind.clone(),
                    p.leaf_name.clone().unwrap_or_default(),
                    when(p.last_scan_at),
                    p.last_error.clone().unwrap_or_else(|| "ok".into()),
                ],
                link: p.leaf_id.map(|id| format!("/certificates/{id}")),
                tone,
            }
        })
        .collect();
    let more = places.len() > FACET_ROWS as usize;
    AssetFacet {
        practice: Practice::Certificates,
        title: "TLS endpoints and certificate files".into(),
        summary: Some(format!(
            "{}{}, {} failing at the last scan",
            count(shown.len(), "place", "places"),
            if more { " shown" } else { "" },
            failing
        )),
        columns: ["Place", "Kind", "Serves", "Last scan", "Last error"]
            .map(String::from)
            .to_vec(),
        rows,
        empty: "No TLS endpoint or certificate file is linked to this asset.".into(),
        more_link: Some("/certificates/assets".into()),
    }
}
