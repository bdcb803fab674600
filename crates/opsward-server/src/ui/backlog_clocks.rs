//! A backlog item's SLA clocks as its page shows them: elapsed and target in hours, and the
//! due time in the SLA calendar's zone.

use opsward_backlog::sla::SlaReport;

/// One SLA clock as the item page shows it.
pub struct ClockView {
    pub name: &'static str,
    /// The status as stored, for the row's class.
    pub status: String,
    pub status_label: &'static str,
    pub elapsed: String,
    pub target: String,
    /// Due time in the calendar's zone, or why there is none.
    pub due: String,
    pub paused: bool,
}

fn hours_minutes(m: i64) -> String {
    format!("{}:{:02} h", m / 60, m % 60)
}

pub fn clock_views(report: &SlaReport) -> Vec<ClockView> {
    let tz: chrono_tz::Tz = report.time_zone.parse().unwrap_or(chrono_tz::UTC);
    [
        ("Time to own", &report.own),
        ("Time to resolve", &report.resolve),
    ]
    .into_iter()
    .map(|(name, c)| ClockView {
        name,
        status: c.status.to_string(),
        status_label: c.status.label(),
        elapsed: hours_minutes(c.elapsed_minutes),
        target: hours_minutes(c.target_minutes),
        due: match (c.due_at, c.paused) {
            (Some(d), _) => d.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
            (None, true) => "paused while waiting".into(),
            (None, false) => "not within five years of working time".into(),
        },
        paused: c.paused,
    })
    .collect()
}
