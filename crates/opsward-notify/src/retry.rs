//! When to try a failed delivery again.

use std::time::Duration;

/// Deliveries are given up after this many attempts (the first one included).
///
/// With [`retry_delay`] that spreads the attempts over a little more than two hours.
pub const MAX_ATTEMPTS: u32 = 10;

const FIRST_DELAY: Duration = Duration::from_secs(30);
const MAX_DELAY: Duration = Duration::from_secs(60 * 60);

/// How long to wait after the `attempt`-th failed attempt (1-based) before the next one:
/// 30 s, 60 s, 2 min, 4 min, ... doubling up to a cap of one hour. `attempt` 0 is treated as 1.
pub fn retry_delay(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(1u32 << doublings).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_thirty_seconds() {
        assert_eq!(retry_delay(1), Duration::from_secs(30));
        assert_eq!(retry_delay(2), Duration::from_secs(60));
        assert_eq!(retry_delay(3), Duration::from_secs(120));
        assert_eq!(retry_delay(4), Duration::from_secs(240));
        assert_eq!(retry_delay(7), Duration::from_secs(1920));
    }

    #[test]
    fn attempt_zero_is_treated_as_the_first() {
        assert_eq!(retry_delay(0), retry_delay(1));
    }

    #[test]
    fn delays_are_capped_at_one_hour_and_never_shrink() {
        assert_eq!(retry_delay(8), Duration::from_secs(3600));
        assert_eq!(retry_delay(MAX_ATTEMPTS), Duration::from_secs(3600));
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(3600));
        for attempt in 1..100 {
            assert!(retry_delay(attempt + 1) >= retry_delay(attempt));
        }
    }

    #[test]
    fn all_retries_fit_in_a_few_hours() {
        let total: Duration = (1..MAX_ATTEMPTS).map(retry_delay).sum();
        assert!(total > Duration::from_secs(3600), "{total:?}");
        assert!(total < Duration::from_secs(4 * 3600), "{total:?}");
    }
}
