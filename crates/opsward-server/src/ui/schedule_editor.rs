//! The schedule editor shared by every form that schedules something: frequency, interval,
//! weekdays, day of the month, time zone from the IANA list, the rule in words and the next
//! five occurrences. Without JavaScript: the server writes the RRULE from the fields, and a
//! "Preview" button re-renders the form with the occurrences.

use super::Choice;
use chrono::{NaiveDate, NaiveDateTime, Utc, Weekday};
use opsward_ops::{
    recurrence::{parse_timezone, Schedule},
    rule_parts::{weekday_code, weekday_from_code, WEEKDAYS},
    schedule_editor::{EditorSchedule, MonthlyOn, NTH_CHOICES},
    schedule_words::{day_ordinal, nth_name, rule_in_words, weekday_name},
};
use serde::Deserialize;

/// How many occurrences the preview lists.
const PREVIEW: u16 = 5;

/// The editor's fields as typed (flattened into each form). An empty `frequency` means a
/// client that posts only `rrule` (older forms, scripts): the rule is taken as written.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScheduleFields {
    #[serde(default)]
    pub frequency: String,
    #[serde(default)]
    pub interval: String,
    #[serde(default)]
    pub day_mo: Option<String>,
    #[serde(default)]
    pub day_tu: Option<String>,
    #[serde(default)]
    pub day_we: Option<String>,
    #[serde(default)]
    pub day_th: Option<String>,
    #[serde(default)]
    pub day_fr: Option<String>,
    #[serde(default)]
    pub day_sa: Option<String>,
    #[serde(default)]
    pub day_su: Option<String>,
    #[serde(default)]
    pub monthly_by: String,
    #[serde(default)]
    pub month_day: String,
    #[serde(default)]
    pub nth: String,
    #[serde(default)]
    pub nth_weekday: String,
    /// The advanced RFC 5545 text, used when the frequency is "custom".
    #[serde(default)]
    pub rrule: String,
    /// Set by the "Preview" button: show the occurrences, save nothing.
    #[serde(default)]
    pub preview: Option<String>,
}

impl ScheduleFields {
    fn day_flags(&self) -> [(Weekday, &Option<String>); 7] {
        [
            (Weekday::Mon, &self.day_mo),
            (Weekday::Tue, &self.day_tu),
            (Weekday::Wed, &self.day_we),
            (Weekday::Thu, &self.day_th),
            (Weekday::Fri, &self.day_fr),
            (Weekday::Sat, &self.day_sa),
            (Weekday::Sun, &self.day_su),
        ]
    }

    /// The fields of a stored rule.
    pub fn from_rule(rule: &str, start: NaiveDate) -> ScheduleFields {
        let mut f = ScheduleFields {
            rrule: rule.trim().to_string(),
            interval: "1".into(),
            monthly_by: "day".into(),
            month_day: chrono::Datelike::day(&start).to_string(),
            nth: "1".into(),
            nth_weekday: weekday_code(chrono::Datelike::weekday(&start)).into(),
            ..Default::default()
        };
        let (frequency, interval) = match EditorSchedule::from_rule(rule, start) {
            EditorSchedule::Once => ("once", 1),
            EditorSchedule::Daily { interval } => ("daily", interval),
            EditorSchedule::Weekly { interval, weekdays } => {
                let on = Some("on".to_string());
                for w in weekdays {
                    match w {
                        Weekday::Mon => f.day_mo = on.clone(),
                        Weekday::Tue => f.day_tu = on.clone(),
                        Weekday::Wed => f.day_we = on.clone(),
                        Weekday::Thu => f.day_th = on.clone(),
                        Weekday::Fri => f.day_fr = on.clone(),
                        Weekday::Sat => f.day_sa = on.clone(),
                        Weekday::Sun => f.day_su = on.clone(),
                    }
                }
                ("weekly", interval)
            }
            EditorSchedule::Monthly { interval, on } => {
                match on {
                    MonthlyOn::Day(d) => f.month_day = d.to_string(),
                    MonthlyOn::NthWeekday(n, w) => {
                        f.monthly_by = "weekday".into();
                        f.nth = n.to_string();
                        f.nth_weekday = weekday_code(w).into();
                    }
                }
                ("monthly", interval)
            }
            EditorSchedule::Yearly { interval } => ("yearly", interval),
            EditorSchedule::Custom(_) => ("custom", 1),
        };
        f.frequency = frequency.into();
        f.interval = interval.to_string();
        f
    }

    fn editor(&self) -> Result<EditorSchedule, String> {
        let interval = || -> Result<u32, String> {
            let text = self.interval.trim();
            if text.is_empty() {
                return Ok(1);
            }
            text.parse()
                .map_err(|_| format!("the interval {text:?} is not a whole number"))
        };
        Ok(match self.frequency.as_str() {
            "" | "custom" => EditorSchedule::Custom(self.rrule.clone()),
            "once" => EditorSchedule::Once,
            "daily" => EditorSchedule::Daily {
                interval: interval()?,
            },
            "weekly" => EditorSchedule::Weekly {
                interval: interval()?,
                weekdays: self
                    .day_flags()
                    .into_iter()
                    .filter(|(_, on)| on.is_some())
                    .map(|(w, _)| w)
                    .collect(),
            },
            "monthly" => EditorSchedule::Monthly {
                interval: interval()?,
                on: if self.monthly_by == "weekday" {
                    let nth = self
                        .nth
                        .parse()
                        .map_err(|_| "choose which week of the month".to_string())?;
                    let weekday = weekday_from_code(&self.nth_weekday)
                        .ok_or("choose a weekday for the month")?;
                    MonthlyOn::NthWeekday(nth, weekday)
                } else {
                    MonthlyOn::Day(
                        self.month_day
                            .parse()
                            .map_err(|_| "choose a day of the month".to_string())?,
                    )
                },
            },
            "yearly" => EditorSchedule::Yearly {
                interval: interval()?,
            },
            other => return Err(format!("{other:?} is not a frequency")),
        })
    }

    /// The RFC 5545 rule the fields describe (empty for once), or what is wrong.
    pub fn rule(&self) -> Result<String, String> {
        self.editor()?.to_rule()
    }

    pub fn is_preview(&self) -> bool {
        self.preview.is_some()
    }

    /// What the template shows: the fields as choices, and for `starts_local` in `timezone`
    /// the rule in words and the next occurrences when `with_preview`.
    pub fn view(&self, starts_local: &str, timezone: &str, with_preview: bool) -> ScheduleView {
        let frequency = if self.frequency.is_empty() {
            "custom"
        } else {
            self.frequency.as_str()
        };
        let frequencies = [
            ("once", "Once"),
            ("daily", "Daily"),
            ("weekly", "Weekly"),
            ("monthly", "Monthly"),
            ("yearly", "Yearly"),
            ("custom", "Custom rule (advanced)"),
        ]
        .into_iter()
        .map(|(v, l)| choice(v, l, frequency))
        .collect();
        let weekdays = self
            .day_flags()
            .into_iter()
            .map(|(w, on)| WeekdayBox {
                code: weekday_code(w).to_ascii_lowercase(),
                label: weekday_name(w),
                checked: on.is_some(),
            })
            .collect();
        let mut month_days: Vec<Choice> = (1..=31i8)
            .filter_map(|d| Some(choice(&d.to_string(), &day_ordinal(d)?, &self.month_day)))
            .collect();
        month_days.push(choice("-1", "last day", &self.month_day));
        let nths = NTH_CHOICES
            .iter()
            .filter_map(|n| Some(choice(&n.to_string(), nth_name(*n)?, &self.nth)))
            .collect();
        let nth_weekdays = WEEKDAYS
            .iter()
            .map(|w| choice(weekday_code(*w), weekday_name(*w), &self.nth_weekday))
            .collect();
        let mut view = ScheduleView {
            starts_local: starts_local.to_string(),
            frequencies,
            interval: self.interval.clone(),
            weekdays,
            by_weekday: self.monthly_by == "weekday",
            month_days,
            nths,
            nth_weekdays,
            rrule: self.rrule.clone(),
            custom: frequency == "custom",
            timezones: timezone_choices(timezone),
            words: None,
            occurrences: Vec::new(),
            problem: None,
        };
        if with_preview {
            match preview(self, starts_local, timezone) {
                Ok((words, occurrences)) => {
                    view.words = Some(words);
                    view.occurrences = occurrences;
                }
                Err(problem) => view.problem = Some(problem),
            }
        }
        view
    }
}

fn choice(value: &str, label: &str, current: &str) -> Choice {
    Choice {
        value: value.into(),
        label: label.into(),
        selected: value == current,
    }
}

/// Every IANA zone chrono-tz knows, `current` selected. A zone typed before the list
/// existed and unknown to it stays as the first choice, so the form shows what is stored.
pub fn timezone_choices(current: &str) -> Vec<Choice> {
    let known = parse_timezone(current).is_ok();
    let mut list = Vec::with_capacity(chrono_tz::TZ_VARIANTS.len() + 1);
    if !known && !current.is_empty() {
        list.push(choice(current, current, current));
    }
    list.extend(
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| choice(tz.name(), tz.name(), current)),
    );
    list
}

fn parse_local(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .map_err(|_| format!("the first start {text:?} must look like 2026-01-14T22:00"))
}

/// The rule in words and the next occurrences (local time), or why there are none.
fn preview(
    fields: &ScheduleFields,
    starts_local: &str,
    timezone: &str,
) -> Result<(String, Vec<String>), String> {
    let rule = fields.rule()?;
    let start = parse_local(starts_local)?;
    let tz = parse_timezone(timezone)?;
    let schedule = Schedule::new(start, tz, &rule)?;
    let words = rule_in_words(&rule, start, timezone).unwrap_or(rule);
    let occurrences = schedule
        .next(Utc::now(), PREVIEW)
        .into_iter()
        .map(|at| {
            at.with_timezone(&tz)
                .format("%a %Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .collect();
    Ok((words, occurrences))
}

pub struct WeekdayBox {
    pub code: String,
    pub label: &'static str,
    pub checked: bool,
}

/// What `partials/schedule_editor.html` shows.
pub struct ScheduleView {
    pub starts_local: String,
    pub frequencies: Vec<Choice>,
    pub interval: String,
    pub weekdays: Vec<WeekdayBox>,
    pub by_weekday: bool,
    pub month_days: Vec<Choice>,
    pub nths: Vec<Choice>,
    pub nth_weekdays: Vec<Choice>,
    pub rrule: String,
    pub custom: bool,
    pub timezones: Vec<Choice>,
    pub words: Option<String>,
    pub occurrences: Vec<String>,
    pub problem: Option<String>,
}

/// A stored schedule for people: the words, or the raw rule when there are none.
pub struct ScheduleText {
    pub words: Option<String>,
    pub raw: String,
}

impl ScheduleText {
    pub fn new(rule: &str, starts_local: NaiveDateTime, timezone: &str) -> ScheduleText {
        ScheduleText {
            words: rule_in_words(rule, starts_local, timezone),
            raw: rule.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
    }

    #[test]
    fn fields_write_the_rule() {
        let form: ScheduleFields = serde_urlencoded::from_str(
            "frequency=weekly&interval=2&day_mo=on&day_th=on&monthly_by=day&month_day=1&rrule=",
        )
        .unwrap();
        assert_eq!(form.rule().unwrap(), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH");
        let form: ScheduleFields = serde_urlencoded::from_str(
            "frequency=monthly&interval=1&monthly_by=weekday&nth=-1&nth_weekday=FR",
        )
        .unwrap();
        assert_eq!(form.rule().unwrap(), "FREQ=MONTHLY;BYDAY=-1FR");
        // A client posting only the rule keeps working.
        let form: ScheduleFields = serde_urlencoded::from_str("rrule=FREQ%3DDAILY").unwrap();
        assert_eq!(form.rule().unwrap(), "FREQ=DAILY");
        let form: ScheduleFields =
            serde_urlencoded::from_str("frequency=daily&interval=x").unwrap();
        assert!(form.rule().unwrap_err().contains("interval"));
    }

    #[test]
    fn stored_rules_fill_the_fields() {
        let f = ScheduleFields::from_rule("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1", day(1));
        assert_eq!(
            (
                f.frequency.as_str(),
                f.interval.as_str(),
                f.month_day.as_str()
            ),
            ("monthly", "6", "1")
        );
        assert_eq!(f.rule().unwrap(), "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1");
        let f = ScheduleFields::from_rule("FREQ=MONTHLY;BYDAY=2WE;COUNT=3", day(1));
        assert_eq!(f.frequency, "custom");
        assert_eq!(f.rule().unwrap(), "FREQ=MONTHLY;BYDAY=2WE;COUNT=3");
        let v = f.view("2026-01-01T09:00", "Europe/Berlin", true);
        assert!(v.custom);
        assert!(v
            .timezones
            .iter()
            .any(|c| c.selected && c.value == "Europe/Berlin"));
        assert!(v.problem.is_none(), "{:?}", v.problem);
    }

    #[test]
    fn preview_lists_five_future_occurrences_in_words() {
        let f = ScheduleFields::from_rule("FREQ=WEEKLY;BYDAY=MO,TH", day(5));
        let v = f.view("2026-01-05T22:00", "Europe/London", true);
        assert_eq!(
            v.words.as_deref(),
            Some("every week on Monday and Thursday at 22:00 Europe/London")
        );
        assert_eq!(v.occurrences.len(), 5);
        assert!(v.occurrences.iter().all(|o| o.contains("22:00")));
        let bad = ScheduleFields {
            frequency: "daily".into(),
            ..Default::default()
        };
        let v = bad.view("2026-01-05T22:00", "Mars/Olympus", true);
        assert!(v.problem.unwrap().contains("Mars/Olympus"));
    }
}
