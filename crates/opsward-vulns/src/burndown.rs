//! Open findings over time, rebuilt from each finding's lifecycle events (the audit log rows
//! every change writes): a finding counts as open at the end of a day when its last event up to
//! then left it open or acknowledged.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};

/// One change of a finding's state, as the audit log recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct StateEvent {
    pub finding_id: i64,
    pub at: DateTime<Utc>,
    /// The audit action: `open`, `reopen`, `acknowledge`, `fixed`, `accept_risk`, `false_positive`.
    pub action: String,
}

impl StateEvent {
    /// Whether the finding is still to be remediated after this event.
    pub fn leaves_open(&self) -> Option<bool> {
        match self.action.as_str() {
            "open" | "reopen" | "acknowledge" => Some(true),
            "fixed" | "accept_risk" | "false_positive" => Some(false),
            _ => None,
        }
    }
}

/// The number of open (or acknowledged) findings at the end of each day `from..=to`.
pub fn open_per_day(
    events: &[StateEvent],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, usize)> {
    let mut sorted: Vec<&StateEvent> = events
        .iter()
        .filter(|e| e.leaves_open().is_some())
        .collect();
    sorted.sort_by_key(|e| (e.at, e.finding_id));
    let mut open: HashMap<i64, bool> = HashMap::new();
    let mut next = sorted.into_iter().peekable();
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        while let Some(e) = next.next_if(|e| e.at.date_naive() <= day) {
            open.insert(e.finding_id, e.leaves_open().unwrap_or(false));
        }
        out.push((day, open.values().filter(|o| **o).count()));
        match day.checked_add_days(Days::new(1)) {
            Some(d) => day = d,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(id: i64, day: u32, hour: u32, action: &str) -> StateEvent {
        StateEvent {
            finding_id: id,
            at: Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap(),
            action: action.into(),
        }
    }

    #[test]
    fn counts_follow_opening_closing_and_reopening() {
        let events = vec![
            event(1, 2, 10, "open"),
            event(2, 2, 11, "open"),
            event(1, 3, 9, "acknowledge"),
            event(3, 3, 12, "open"),
            event(2, 4, 8, "fixed"),
            event(3, 4, 9, "accept_risk"),
            event(2, 5, 23, "reopen"),
            event(1, 6, 0, "false_positive"),
            event(1, 6, 1, "something_else"),
        ];
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let counts: Vec<usize> = open_per_day(&events, day(1), day(7))
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(counts, vec![0, 2, 3, 1, 2, 1, 1]);
    }

    #[test]
    fn events_before_the_window_count_and_order_does_not_matter() {
        let mut events = vec![
            event(1, 1, 10, "open"),
            event(1, 3, 10, "fixed"),
            event(2, 1, 5, "open"),
        ];
        events.reverse();
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        assert_eq!(
            open_per_day(&events, day(2), day(3)),
            vec![(day(2), 2), (day(3), 1)]
        );
        assert!(open_per_day(&events, day(3), day(2)).is_empty());
    }
}
