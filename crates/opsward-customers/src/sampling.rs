//! Who gets a survey. Sampling is a seeded hash of the subject, not a dice roll, so the
//! same item gets the same decision on every server and every retry, and a test can say
//! exactly which items are chosen.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// Whether `subject` (e.g. `item:17`) falls in the sample of `percent` percent for `seed`.
pub fn sampled(seed: &str, subject: &str, percent: u8) -> bool {
    if percent >= 100 {
        return true;
    }
    let digest = Sha256::digest(format!("{seed}\0{subject}").as_bytes());
    let draw = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 10_000;
    draw < u64::from(percent) * 100
}

/// Whether a contact last surveyed at `last_sent` must not be asked again at `now`.
pub fn throttled(last_sent: Option<DateTime<Utc>>, now: DateTime<Utc>, throttle_days: i64) -> bool {
    last_sent.is_some_and(|last| now - last < Duration::days(throttle_days))
}

/// Why a survey was not sent; stored with the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    NotSampled,
    Throttled,
    NoContact,
    OptedOut,
}

impl SkipReason {
    /// What people read beside a skipped survey.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::NotSampled => "not sampled",
            SkipReason::Throttled => "asked recently",
            SkipReason::NoContact => "no contact to ask",
            SkipReason::OptedOut => "opted out",
        }
    }

    /// The label of a reason as stored on a survey, or the stored text if it is not one.
    pub fn label_of(stored: &str) -> &str {
        [
            SkipReason::NotSampled,
            SkipReason::Throttled,
            SkipReason::NoContact,
            SkipReason::OptedOut,
        ]
        .into_iter()
        .find(|r| r.as_str() == stored)
        .map_or(stored, |r| r.label())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotSampled => "not_sampled",
            SkipReason::Throttled => "throttled",
            SkipReason::NoContact => "no_contact",
            SkipReason::OptedOut => "opted_out",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sampling_is_deterministic_and_close_to_the_rate() {
        let chosen = |seed: &str, percent| {
            (1..=2000)
                .filter(|i| sampled(seed, &format!("item:{i}"), percent))
                .collect::<Vec<_>>()
        };
        let first = chosen("seed-a", 30);
        assert_eq!(first, chosen("seed-a", 30), "same seed, same decisions");
        assert!(
            (540..=660).contains(&first.len()),
            "30% of 2000: {}",
            first.len()
        );
        assert_ne!(first, chosen("seed-b", 30), "another seed samples others");
        assert!(chosen("seed-a", 0).is_empty());
        assert_eq!(chosen("seed-a", 100).len(), 2000);
        // Raising the rate only adds items: nobody sampled at 30% drops out at 50%.
        let wider = chosen("seed-a", 50);
        assert!(first.iter().all(|i| wider.contains(i)));
    }

    #[test]
    fn sampling_decisions_are_pinned() {
        // Pinned so that a change to the hashing (which would re-sample every customer) is
        // a visible decision, not an accident.
        let picked: Vec<u32> = (1..=20)
            .filter(|i| sampled("opsward", &format!("item:{i}"), 50))
            .collect();
        assert_eq!(picked, [1, 2, 3, 6, 8, 11, 12, 13, 19, 20]);
    }

    #[test]
    fn throttle_counts_whole_days_from_the_last_survey() {
        let last = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
        assert!(!throttled(None, last, 30));
        assert!(throttled(Some(last), last + Duration::days(29), 30));
        assert!(throttled(
            Some(last),
            last + Duration::days(30) - Duration::seconds(1),
            30
        ));
        assert!(!throttled(Some(last), last + Duration::days(30), 30));
        assert!(!throttled(Some(last), last, 0));
    }
}
