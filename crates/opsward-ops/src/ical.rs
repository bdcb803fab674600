//! iCalendar (RFC 5545) feeds of activities.
//!
//! Written by hand because the format opsward needs is small: one VEVENT per activity with
//! its RRULE and TZID, plus a VTIMEZONE per zone listing that zone's real offset changes
//! (from the tz database via chrono-tz) for the years the feed covers. Text is escaped and
//! lines are folded at 75 octets as the RFC requires. Python's `icalendar` parses the result
//! in the tests.

use crate::model::Activity;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use std::fmt::Write;

/// Escape a TEXT value (RFC 5545 3.3.11).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Append one content line, folded so no physical line exceeds 75 octets (RFC 5545 3.1).
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local_stamp(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// What a feed contains besides activities: one-off deadlines from the practices.
#[derive(Debug, Clone)]
pub struct Deadline {
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub at: DateTime<Utc>,
    pub category: String,
}

/// A whole calendar. `base_url` makes each event link back to opsward.
pub fn calendar(
    name: &str,
    activities: &[Activity],
    deadlines: &[Deadline],
    base_url: &str,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//opsward//operations calendar//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    let mut zones: Vec<&str> = activities
        .iter()
        .map(|a| a.timezone.as_str())
        .filter(|z| *z != "UTC")
        .collect();
    zones.sort();
    zones.dedup();
    let first_year = activities
        .iter()
        .map(|a| a.starts_local.year())
        .min()
        .unwrap_or(now.year());
    for zone in zones {
        if let Ok(tz) = zone.parse::<chrono_tz::Tz>() {
            vtimezone(&mut out, tz, first_year - 1, now.year() + 10);
        }
    }
    for a in activities {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:activity-{}@opsward", a.id));
        line(&mut out, &format!("DTSTAMP:{}", utc_stamp(now)));
        line(
            &mut out,
            &format!("LAST-MODIFIED:{}", utc_stamp(a.updated_at)),
        );
        if a.timezone == "UTC" {
            line(
                &mut out,
                &format!("DTSTART:{}Z", local_stamp(a.starts_local)),
            );
        } else {
            line(
                &mut out,
                &format!(
                    "DTSTART;TZID={}:{}",
                    a.timezone,
                    local_stamp(a.starts_local)
                ),
            );
        }
        line(&mut out, &format!("DURATION:PT{}M", a.duration_minutes));
        if !a.rrule.is_empty() {
            line(&mut out, &format!("RRULE:{}", a.rrule));
        }
        line(&mut out, &format!("SUMMARY:{}", escape_text(&a.title)));
        if !a.description.is_empty() {
            line(
                &mut out,
                &format!("DESCRIPTION:{}", escape_text(&a.description)),
            );
        }
        line(&mut out, &format!("CATEGORIES:{}", a.practice));
        line(
            &mut out,
            &format!("URL:{base_url}/calendar/activities/{}", a.id),
        );
        line(&mut out, "END:VEVENT");
    }
    for d in deadlines {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", escape_text(&d.uid)));
        line(&mut out, &format!("DTSTAMP:{}", utc_stamp(now)));
        line(&mut out, &format!("DTSTART:{}", utc_stamp(d.at)));
        line(&mut out, "DURATION:PT0M");
        line(&mut out, &format!("SUMMARY:{}", escape_text(&d.summary)));
        if !d.description.is_empty() {
            line(
                &mut out,
                &format!("DESCRIPTION:{}", escape_text(&d.description)),
            );
        }
        line(
            &mut out,
            &format!("CATEGORIES:{}", escape_text(&d.category)),
        );
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    if s % 60 == 0 {
        format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
    } else {
        format!("{sign}{:02}{:02}{:02}", s / 3600, (s % 3600) / 60, s % 60)
    }
}

/// A VTIMEZONE for `tz` listing each offset change between `from_year` and `to_year` as an
/// RDATE, so any client can resolve the event times without knowing the zone's name.
fn vtimezone(out: &mut String, tz: chrono_tz::Tz, from_year: i32, to_year: i32) {
    let offset_at = |t: DateTime<Utc>| {
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let mut t = Utc
        .with_ymd_and_hms(from_year, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let end = Utc
        .with_ymd_and_hms(to_year, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let mut current = offset_at(t);
    let initial = current;
    // (offset before, offset after, local wall time at the change in the old offset)
    let mut changes: Vec<(i32, i32, NaiveDateTime)> = Vec::new();
    while t < end {
        let next = t + Duration::hours(1);
        let offset = offset_at(next);
        if offset != current {
            // Narrow to the minute of the change.
            let mut lo = t;
            let mut hi = next;
            while hi - lo > Duration::minutes(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(mid) == current {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            changes.push((
                current,
                offset,
                (hi + Duration::seconds(i64::from(current))).naive_utc(),
            ));
            current = offset;
        }
        t = next;
    }
    line(out, "BEGIN:VTIMEZONE");
    line(out, &format!("TZID:{}", tz.name()));
    if changes.is_empty() {
        line(out, "BEGIN:STANDARD");
        line(out, &format!("DTSTART:{}0101T000000", from_year));
        line(out, &format!("TZOFFSETFROM:{}", offset_text(initial)));
        line(out, &format!("TZOFFSETTO:{}", offset_text(initial)));
        line(out, "END:STANDARD");
    }
    // Changes to the larger offset are daylight time, to the smaller standard time.
    for daylight in [false, true] {
        let group: Vec<_> = changes
            .iter()
            .filter(|(from, to, _)| (to > from) == daylight)
            .collect();
        if group.is_empty() {
            continue;
        }
        let kind = if daylight { "DAYLIGHT" } else { "STANDARD" };
        // One sub-component per (from, to) pair, since offsets may change over the years.
        let mut pairs: Vec<(i32, i32)> = group.iter().map(|(f, t, _)| (*f, *t)).collect();
        pairs.sort();
        pairs.dedup();
        for (from, to) in pairs {
            let times: Vec<_> = group
                .iter()
                .filter(|(f, t, _)| (*f, *t) == (from, to))
                .map(|(_, _, at)| *at)
                .collect();
            line(out, &format!("BEGIN:{kind}"));
            line(out, &format!("DTSTART:{}", local_stamp(times[0])));
            line(out, &format!("TZOFFSETFROM:{}", offset_text(from)));
            line(out, &format!("TZOFFSETTO:{}", offset_text(to)));
            let mut rdates = String::new();
            for at in &times[1..] {
                if !rdates.is_empty() {
                    rdates.push(',');
                }
                let _ = write!(rdates, "{}", local_stamp(*at));
            }
            if !rdates.is_empty() {
                line(out, &format!("RDATE:{rdates}"));
            }
            line(out, &format!("END:{kind}"));
        }
    }
    line(out, "END:VTIMEZONE");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_folds() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(60));
        line(&mut out, &long);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded.trim_end(), long);
    }

    #[test]
    fn timezone_lists_real_changes() {
        let mut out = String::new();
        vtimezone(&mut out, chrono_tz::Europe::Berlin, 2026, 2027);
        assert!(out.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200"), "{out}");
        assert!(out.contains("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100"), "{out}");
        assert!(out.contains("RDATE:20270328T020000"), "{out}");
    }
}
