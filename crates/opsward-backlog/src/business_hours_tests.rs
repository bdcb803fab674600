use super::*;
use chrono_tz::{America::New_York, Europe::Berlin};

fn cal(tz: &str, week: WeekSpec, holidays: &[&str]) -> WorkingCalendar {
    WorkingCalendar::try_from(&CalendarSpec {
        time_zone: tz.into(),
        week,
        holidays: holidays.iter().map(|d| d.parse().unwrap()).collect(),
    })
    .unwrap()
}

fn office(tz: &str) -> WorkingCalendar {
    cal(tz, WeekSpec::weekdays(&["09:00-17:00"]), &[])
}

/// An unambiguous local wall-clock time as an instant.
fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("unambiguous local time")
        .with_timezone(&Utc)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

// 2026-03-27 is a Friday; Europe/Berlin springs forward on Sunday 2026-03-29 at 02:00 and
// falls back on Sunday 2026-10-25 at 03:00; America/New_York springs forward on Sunday
// 2026-03-08 at 02:00 and falls back on Sunday 2026-11-01 at 02:00.

#[test]
fn within_one_working_day() {
    let c = office("Europe/Berlin");
    let (from, to) = (
        at(Berlin, 2026, 6, 10, 10, 0),
        at(Berlin, 2026, 6, 10, 15, 30),
    );
    assert_eq!(c.working_time(from, to, &[]), Duration::minutes(330));
    assert_eq!(
        c.deadline(from, Duration::minutes(330), &[]),
        Some(to),
        "deadline and working time are inverse"
    );
    // Before opening and after closing count nothing.
    let early = at(Berlin, 2026, 6, 10, 6, 0);
    let late = at(Berlin, 2026, 6, 10, 20, 0);
    assert_eq!(c.working_time(early, late, &[]), hours(8));
    assert_eq!(
        c.deadline(early, hours(1), &[]),
        Some(at(Berlin, 2026, 6, 10, 10, 0))
    );
    assert_eq!(c.working_time(late, early, &[]), Duration::zero());
}

#[test]
fn weekends_are_skipped() {
    let c = office("Europe/Berlin");
    let friday = at(Berlin, 2026, 6, 12, 16, 0);
    let monday_noon = at(Berlin, 2026, 6, 15, 12, 0);
    assert_eq!(c.working_time(friday, monday_noon, &[]), hours(4));
    assert_eq!(c.deadline(friday, hours(4), &[]), Some(monday_noon));
    // Raised on Saturday: the clock starts on Monday morning.
    let saturday = at(Berlin, 2026, 6, 13, 11, 0);
    assert_eq!(
        c.deadline(saturday, hours(8), &[]),
        Some(at(Berlin, 2026, 6, 15, 17, 0))
    );
    // Exactly the end of the window: the deadline is the window's last instant, not the
    // next morning.
    assert_eq!(
        c.deadline(at(Berlin, 2026, 6, 15, 9, 0), hours(8), &[]),
        Some(at(Berlin, 2026, 6, 15, 17, 0))
    );
    // A whole week is five days of eight hours.
    assert_eq!(
        c.working_time(
            at(Berlin, 2026, 6, 15, 0, 0),
            at(Berlin, 2026, 6, 22, 0, 0),
            &[]
        ),
        hours(40)
    );
}

#[test]
fn holidays_are_skipped() {
    // 2026-12-24 Thursday half-worked is not modelled; 25th (Fri) is a holiday, 28th too.
    let c = cal(
        "Europe/Berlin",
        WeekSpec::weekdays(&["09:00-17:00"]),
        &["2026-12-25", "2026-12-28"],
    );
    let thursday = at(Berlin, 2026, 12, 24, 13, 0);
    assert_eq!(
        c.deadline(thursday, hours(8), &[]),
        Some(at(Berlin, 2026, 12, 29, 13, 0)),
        "Fri holiday, weekend, Mon holiday"
    );
    assert_eq!(
        c.working_time(thursday, at(Berlin, 2026, 12, 30, 9, 0), &[]),
        hours(12)
    );
    // A holiday is a local date: 23:30 UTC on the 24th is already the 25th in Berlin.
    let twentyfour_seven = cal(
        "Europe/Berlin",
        WeekSpec::every_day(&["00:00-24:00"]),
        &["2026-12-25"],
    );
    assert_eq!(
        twentyfour_seven.working_time(utc(2026, 12, 24, 22, 0), utc(2026, 12, 25, 22, 0), &[]),
        hours(1),
        "22:00-23:00 UTC is 23:00-24:00 on the 24th; the rest is the 25th, a holiday"
    );
}

#[test]
fn split_windows_and_lunch() {
    let c = cal(
        "America/New_York",
        WeekSpec::weekdays(&["13:30-17:00", "08:00-12:00"]),
        &[],
    );
    let monday = at(New_York, 2026, 6, 15, 11, 0);
    assert_eq!(
        c.deadline(monday, hours(2), &[]),
        Some(at(New_York, 2026, 6, 15, 14, 30))
    );
    assert_eq!(
        c.working_time(monday, at(New_York, 2026, 6, 16, 9, 0), &[]),
        Duration::minutes(60 + 210 + 60)
    );
}

#[test]
fn office_hours_are_wall_clock_hours_across_dst() {
    for (tz, name, fri, mon) in [
        (Berlin, "Europe/Berlin", (2026, 3, 27), (2026, 3, 30)),
        (Berlin, "Europe/Berlin", (2026, 10, 23), (2026, 10, 26)),
        (New_York, "America/New_York", (2026, 3, 6), (2026, 3, 9)),
        (New_York, "America/New_York", (2026, 10, 30), (2026, 11, 2)),
    ] {
        let c = office(name);
        let from = at(tz, fri.0, fri.1, fri.2, 15, 0);
        let monday_11 = at(tz, mon.0, mon.1, mon.2, 11, 0);
        assert_eq!(
            c.working_time(from, monday_11, &[]),
            hours(4),
            "{name} {fri:?}"
        );
        assert_eq!(
            c.deadline(from, hours(4), &[]),
            Some(monday_11),
            "{name} {fri:?}"
        );
    }
    // The same local deadline is a different UTC instant after the change.
    let c = office("Europe/Berlin");
    assert_eq!(
        c.deadline(at(Berlin, 2026, 3, 27, 16, 0), hours(2), &[]),
        Some(utc(2026, 3, 30, 8, 0)),
        "Mon 10:00 CEST"
    );
    assert_eq!(at(Berlin, 2026, 3, 27, 16, 0), utc(2026, 3, 27, 15, 0));
}

#[test]
fn spring_forward_day_is_short() {
    // Around the clock: the Sunday has 23 real hours.
    let c = cal("Europe/Berlin", WeekSpec::every_day(&["00:00-24:00"]), &[]);
    let sat_noon = at(Berlin, 2026, 3, 28, 12, 0);
    let sun_noon = at(Berlin, 2026, 3, 29, 12, 0);
    assert_eq!(c.working_time(sat_noon, sun_noon, &[]), hours(23));
    assert_eq!(c.deadline(sat_noon, hours(23), &[]), Some(sun_noon));
    assert_eq!(
        c.working_time(
            at(Berlin, 2026, 3, 29, 0, 0),
            at(Berlin, 2026, 3, 30, 0, 0),
            &[]
        ),
        hours(23)
    );

    // A window across the jump: 01:00-04:00 is two real hours.
    let night = cal("Europe/Berlin", WeekSpec::every_day(&["01:00-04:00"]), &[]);
    let day = |d| {
        night.working_time(
            at(Berlin, 2026, 3, d, 0, 0),
            at(Berlin, 2026, 3, d, 23, 0),
            &[],
        )
    };
    assert_eq!((day(28), day(29), day(30)), (hours(3), hours(2), hours(3)));

    // A window starting in the skipped hour opens at the jump (03:00 CEST = 01:00 UTC).
    let gap = cal("Europe/Berlin", WeekSpec::every_day(&["02:30-05:00"]), &[]);
    assert_eq!(
        gap.deadline(at(Berlin, 2026, 3, 29, 0, 0), Duration::minutes(1), &[]),
        Some(utc(2026, 3, 29, 1, 1))
    );
    assert_eq!(
        gap.working_time(
            at(Berlin, 2026, 3, 29, 0, 0),
            at(Berlin, 2026, 3, 29, 12, 0),
            &[]
        ),
        hours(2)
    );

    // New York skips 02:00-03:00 on 8 March.
    let ny = cal(
        "America/New_York",
        WeekSpec::every_day(&["00:00-03:00"]),
        &[],
    );
    assert_eq!(
        ny.working_time(
            at(New_York, 2026, 3, 8, 0, 0),
            at(New_York, 2026, 3, 8, 12, 0),
            &[]
        ),
        hours(2)
    );
    assert_eq!(
        ny.deadline(at(New_York, 2026, 3, 8, 0, 0), Duration::minutes(150), &[]),
        Some(at(New_York, 2026, 3, 9, 0, 30)),
        "two hours on the short night, the last half hour the next night"
    );
}

#[test]
fn fall_back_day_is_long() {
    let c = cal("Europe/Berlin", WeekSpec::every_day(&["00:00-24:00"]), &[]);
    let sat_noon = at(Berlin, 2026, 10, 24, 12, 0);
    let sun_noon = at(Berlin, 2026, 10, 25, 12, 0);
    assert_eq!(c.working_time(sat_noon, sun_noon, &[]), hours(25));
    assert_eq!(c.deadline(sat_noon, hours(25), &[]), Some(sun_noon));

    // 01:00-04:00 in Berlin on 25 October contains 02:00-03:00 twice: four real hours.
    let night = cal("Europe/Berlin", WeekSpec::every_day(&["01:00-04:00"]), &[]);
    assert_eq!(
        night.working_time(
            at(Berlin, 2026, 10, 25, 0, 0),
            at(Berlin, 2026, 10, 25, 12, 0),
            &[]
        ),
        hours(4)
    );
    // A window ending inside the repeated hour runs to its second occurrence:
    // 00:00 CEST (22:00 UTC) to the second 02:30, which is CET (01:30 UTC).
    let ends_twice = cal("Europe/Berlin", WeekSpec::every_day(&["00:00-02:30"]), &[]);
    assert_eq!(
        ends_twice.working_time(utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 12, 0), &[]),
        Duration::minutes(210)
    );
    // A window starting inside it starts at its first occurrence (02:30 CEST = 00:30 UTC).
    let starts_twice = cal("Europe/Berlin", WeekSpec::every_day(&["02:30-04:00"]), &[]);
    assert_eq!(
        starts_twice.deadline(utc(2026, 10, 24, 12, 0), Duration::minutes(1), &[]),
        Some(utc(2026, 10, 25, 0, 31))
    );

    // New York repeats 01:00-02:00 on 1 November: 00:00-03:00 is four hours.
    let ny = cal(
        "America/New_York",
        WeekSpec::every_day(&["00:00-03:00"]),
        &[],
    );
    assert_eq!(
        ny.working_time(
            at(New_York, 2026, 11, 1, 0, 0),
            at(New_York, 2026, 11, 1, 12, 0),
            &[]
        ),
        hours(4)
    );
}

#[test]
fn closed_pauses_are_not_counted() {
    let c = office("Europe/Berlin");
    let from = at(Berlin, 2026, 6, 15, 9, 0);
    let pause = Pause {
        start: at(Berlin, 2026, 6, 15, 11, 0),
        end: Some(at(Berlin, 2026, 6, 15, 14, 0)),
    };
    let to = at(Berlin, 2026, 6, 15, 17, 0);
    assert_eq!(c.working_time(from, to, &[pause]), hours(5));
    assert_eq!(
        c.deadline(from, hours(8), &[pause]),
        Some(at(Berlin, 2026, 6, 16, 12, 0)),
        "three paused hours move the deadline three business hours"
    );
    // A pause over the weekend costs nothing: nothing was counted then anyway.
    let weekend = Pause {
        start: at(Berlin, 2026, 6, 12, 17, 30),
        end: Some(at(Berlin, 2026, 6, 15, 8, 0)),
    };
    let friday = at(Berlin, 2026, 6, 12, 15, 0);
    assert_eq!(
        c.deadline(friday, hours(4), &[weekend]),
        c.deadline(friday, hours(4), &[])
    );
    // Overlapping and out-of-order pauses are merged, not subtracted twice.
    let overlapping = [
        Pause {
            start: at(Berlin, 2026, 6, 15, 12, 0),
            end: Some(at(Berlin, 2026, 6, 15, 15, 0)),
        },
        pause,
    ];
    assert_eq!(c.working_time(from, to, &overlapping), hours(4));
    // A pause spanning a DST change in New York: Fri 16:00 to Mon 10:00.
    let ny = office("America/New_York");
    let p = Pause {
        start: at(New_York, 2026, 3, 6, 16, 0),
        end: Some(at(New_York, 2026, 3, 9, 10, 0)),
    };
    assert_eq!(
        ny.working_time(
            at(New_York, 2026, 3, 6, 9, 0),
            at(New_York, 2026, 3, 9, 17, 0),
            &[p]
        ),
        hours(7 + 7)
    );
}

#[test]
fn an_open_pause_stops_the_clock() {
    let c = office("Europe/Berlin");
    let from = at(Berlin, 2026, 6, 15, 9, 0);
    let waiting = Pause {
        start: at(Berlin, 2026, 6, 15, 11, 0),
        end: None,
    };
    let much_later = at(Berlin, 2026, 7, 15, 9, 0);
    assert_eq!(c.working_time(from, much_later, &[waiting]), hours(2));
    assert_eq!(
        c.deadline(from, hours(3), &[waiting]),
        None,
        "paused before the budget ran out"
    );
    assert_eq!(
        c.deadline(from, hours(2), &[waiting]),
        Some(at(Berlin, 2026, 6, 15, 11, 0)),
        "budget used up before the pause began"
    );
    assert_eq!(
        c.deadline(from, hours(1), &[waiting]),
        Some(at(Berlin, 2026, 6, 15, 10, 0))
    );
}

#[test]
fn bad_calendars_are_refused_with_every_reason() {
    let spec = CalendarSpec {
        time_zone: "Mars/Olympus".into(),
        week: WeekSpec {
            mon: vec!["9-17".into()],
            tue: vec!["17:00-09:00".into()],
            wed: vec!["09:00-12:00".into(), "11:00-13:00".into()],
            thu: vec!["09:00-24:01".into()],
            ..WeekSpec::default()
        },
        holidays: vec![],
    };
    let errors = WorkingCalendar::try_from(&spec).unwrap_err();
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(errors[0].contains("Mars/Olympus"));
    assert!(errors[1].starts_with("mon:"));
    assert!(errors[2].contains("ends before it starts"));
    assert!(errors[3].contains("overlap"));
    assert!(errors[4].starts_with("thu:"));

    let empty = CalendarSpec {
        time_zone: "UTC".into(),
        ..CalendarSpec::default()
    };
    assert_eq!(
        WorkingCalendar::try_from(&empty).unwrap_err(),
        ["the calendar has no working hours on any day"]
    );
    let whole_day = cal("UTC", WeekSpec::every_day(&["00:00-24:00"]), &[]);
    assert_eq!(
        whole_day.working_time(utc(2026, 1, 1, 0, 0), utc(2026, 1, 8, 0, 0), &[]),
        hours(7 * 24)
    );
}

#[test]
fn a_calendar_of_holidays_has_no_deadline() {
    let c = cal(
        "UTC",
        WeekSpec {
            mon: vec!["09:00-10:00".into()],
            ..WeekSpec::default()
        },
        &[],
    );
    // One hour a week: forty hours take forty weeks.
    let monday = utc(2026, 1, 5, 9, 0);
    assert_eq!(
        c.deadline(monday, hours(40), &[]),
        Some(utc(2026, 10, 5, 10, 0))
    );
    // Only the 2026-01-05 Monday is worked within reach when every other one is a holiday:
    // the search gives up rather than looping.
    let mondays: Vec<String> = (1..400)
        .map(|w| (monday.date_naive() + Duration::weeks(w)).to_string())
        .collect();
    let holidays: Vec<&str> = mondays.iter().map(String::as_str).collect();
    let sparse = cal(
        "UTC",
        WeekSpec {
            mon: vec!["09:00-10:00".into()],
            ..WeekSpec::default()
        },
        &holidays,
    );
    assert_eq!(sparse.deadline(monday, hours(2), &[]), None);
}
