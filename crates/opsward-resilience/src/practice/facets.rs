//! What the practice knows about one asset: its measures with their last and next test, and
//! what host agents last reported on its resilience activities.

use super::{queries, standings, Standing};
use chrono::{DateTime, Duration, Utc};
use opsward_core::{
    contract::{count, AssetFacet, FacetRow, Tone},
    practice::Practice,
};
use opsward_ops::EvidenceResult;
use opsward_store::{Database, StoreError};

/// Most rows of one facet.
const FACET_ROWS: usize = 20;

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

pub async fn of_asset(
    db: &Database,
    asset_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<AssetFacet>, StoreError> {
    let activities = queries::tested_activities(db, Some(asset_id)).await?;
    if activities.is_empty() {
        return Ok(Vec::new());
    }
    let completions = queries::completions(
        db,
        now - Duration::days(super::LOOKBACK_DAYS),
        now + Duration::seconds(1),
    )
    .await?;
    let standings = standings(&activities, &completions, now);
    let judged = |a: &&queries::TestedActivity| standings.contains_key(&a.activity_id);
    let measures: Vec<_> = activities
        .iter()
        .filter(|a| a.measure_id.is_some())
        .filter(judged)
        .collect();
    let reports: Vec<_> = activities
        .iter()
        .filter(|a| {
            a.last_notes_head
                .as_deref()
                .is_some_and(|n| n.contains(" check, "))
        })
        .filter(judged)
        .collect();
    let mut out = Vec::new();
    if !measures.is_empty() {
        let rows: Vec<FacetRow> = measures
            .iter()
            .take(FACET_ROWS)
            .map(|a| measure_row(a, &standings[&a.activity_id]))
            .collect();
        let failing = rows.iter().filter(|r| r.tone == Tone::Bad).count();
        out.push(AssetFacet {
            practice: Practice::Resilience,
            title: "Resilience measures".into(),
            summary: Some(format!(
                "{}, {} failing or overdue",
                count(measures.len(), "measure", "measures"),
                failing
            )),
            columns: [
                "Measure",
                "Kind",
                "Last test",
                "Result",
                "Next test",
                "Overdue since",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            empty: "No resilience measure protects this asset.".into(),
            more_link: Some(format!("/resilience?asset={asset_id}")),
        });
    }
    if !reports.is_empty() {
        let rows = reports
            .iter()
            .take(FACET_ROWS)
            .map(|a| {
                let standing = &standings[&a.activity_id];
                let notes = a.last_notes_head.clone().unwrap_or_default();
                let check = notes.split(" check, ").next().unwrap_or_default();
                FacetRow {
                    cells: vec![
                        check.to_string(),
                        a.measure_title
                            .clone()
                            .unwrap_or_else(|| a.activity_title.clone()),
                        a.last_result.clone().unwrap_or_default(),
                        when(a.last_recorded_at),
                    ],
                    link: Some(match a.measure_id {
                        Some(id) => format!("/resilience/{id}"),
                        None => format!("/calendar/activities/{}", a.activity_id),
                    }),
                    tone: match (standing.agent, standing.last_result) {
                        (Some(_), _) => Tone::Bad,
                        (None, Some(EvidenceResult::Passed)) => Tone::Good,
                        _ => Tone::Warning,
                    },
                }
            })
            .collect();
        out.push(AssetFacet {
            practice: Practice::Resilience,
            title: "Host agent health checks".into(),
            summary: Some(format!(
                "{} reported, {} degraded or stale",
                count(reports.len(), "check", "checks"),
                reports
                    .iter()
                    .filter(|a| standings[&a.activity_id].agent.is_some())
                    .count()
            )),
            columns: ["Check", "Measure or activity", "Result", "Reported"]
                .map(String::from)
                .to_vec(),
            rows,
            empty: "No host agent reports on this asset.".into(),
            more_link: None,
        });
    }
    Ok(out)
}

fn measure_row(a: &queries::TestedActivity, standing: &Standing) -> FacetRow {
    // A host agent's finding is always a failed or partial result, so this covers it.
    let failing = matches!(
        standing.last_result,
        Some(EvidenceResult::Failed | EvidenceResult::Partial)
    );
    let tone = if failing || standing.overdue_since.is_some() {
        Tone::Bad
    } else if standing.last_result == Some(EvidenceResult::Passed) {
        Tone::Good
    } else {
        Tone::Neutral
    };
    FacetRow {
        cells: vec![
            a.measure_title.clone().unwrap_or_default(),
            a.measure_kind.clone().unwrap_or_default().replace('_', " "),
            when(a.last_recorded_at),
            a.last_result.clone().unwrap_or_else(|| "not tested".into()),
            when(standing.next_test_at),
            standing
                .overdue_since
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
        ],
        link: a.measure_id.map(|id| format!("/resilience/{id}")),
        tone,
    }
}
