//! What the calendar knows about one asset, for the asset page: the recurring activities about
//! it, when each is next due, whether one is overdue, and the latest evidence.

use crate::{
    model::{CalendarFilter, EvidenceResult, OccurrenceState},
    store::{OpsStore, Result},
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::{
    contract::{count, AssetFacet, FacetRow, Tone},
    practice::Practice,
};

/// At most this many activities are listed; the calendar has the rest.
const MAX_ROWS: usize = 20;

impl OpsStore {
    /// The asset's activities with their next occurrence and latest evidence.
    pub async fn asset_facet(&self, asset_id: i64, now: DateTime<Utc>) -> Result<AssetFacet> {
        let filter = CalendarFilter {
            asset_id: Some(asset_id),
            ..Default::default()
        };
        let mut activities = self.list_activities(&filter, false).await?;
        let total = activities.len();
        activities.truncate(MAX_ROWS);
        let occurrences = self
            .occurrences_of(
                &activities,
                now - Duration::days(crate::hygiene::LOOKBACK_DAYS),
                now + Duration::days(400),
                now,
            )
            .await?;
        let mut rows = Vec::with_capacity(activities.len());
        let mut overdue_total = 0;
        for a in &activities {
            let mine = occurrences.iter().filter(|o| o.activity_id == a.id);
            let overdue = mine
                .clone()
                .filter(|o| o.state == OccurrenceState::Overdue)
                .count();
            overdue_total += overdue;
            let next = mine
                .clone()
                .find(|o| o.state == OccurrenceState::Upcoming)
                .map_or_else(
                    || "nothing planned".to_string(),
                    |o| format!("{} {}", o.starts_local, o.timezone),
                );
            // One activity's latest evidence: a bounded query per listed activity.
            let latest = self
                .list_evidence(None, Some(a.id), None, None, 1)
                .await?
                .pop();
            let (evidence, result) = match &latest {
                Some(e) => (
                    format!(
                        "{} on {}",
                        e.result.as_str(),
                        e.recorded_at.format("%Y-%m-%d")
                    ),
                    Some(e.result),
                ),
                None => ("none yet".to_string(), None),
            };
            let tone = if overdue > 0 || result == Some(EvidenceResult::Failed) {
                Tone::Bad
            } else if result == Some(EvidenceResult::Partial) {
                Tone::Warning
            } else {
                Tone::Good
            };
            rows.push(FacetRow {
                cells: vec![
                    a.title.clone(),
                    a.practice.to_string(),
                    next,
                    if overdue > 0 {
                        count(overdue, "occurrence overdue", "occurrences overdue")
                    } else {
                        "none".into()
                    },
                    evidence,
                ],
                link: Some(format!("/calendar/activities/{}", a.id)),
                tone,
            });
        }
        Ok(AssetFacet {
            practice: Practice::General,
            title: "Calendar".into(),
            summary: (total > 0).then(|| {
                format!(
                    "{}, {}",
                    count(total, "recurring activity", "activities"),
                    count(overdue_total, "occurrence overdue", "occurrences overdue")
                )
            }),
            columns: ["Activity", "Practice", "Next", "Overdue", "Latest evidence"]
                .map(String::from)
                .to_vec(),
            rows,
            empty: "No calendar activity is about this asset.".into(),
            more_link: (total > MAX_ROWS).then(|| "/calendar/activities".to_string()),
        })
    }
}
