//! Login rate limiting: failed attempts per account and per client address in a sliding
//! window. A locked account or address is refused before its password is checked, so a
//! guessing attack costs the server nothing and learns nothing.
//!
//! Counts live in memory, per server process: behind a load balancer each instance limits
//! on its own, which bounds an attacker at (instances x limit) guesses per window.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account: usize,
    pub per_ip: usize,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_account: 5,
            per_ip: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Default)]
pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        LoginLimiter {
            limits,
            failures: Mutex::default(),
        }
    }

    fn keys(username: &str, ip: Option<IpAddr>) -> [(String, bool); 2] {
        [
            (format!("user:{}", username.to_lowercase()), true),
            (
                format!("ip:{}", ip.map(|i| i.to_string()).unwrap_or_default()),
                false,
            ),
        ]
    }

    /// `Some(wait)` when this attempt must be refused.
    pub fn check(&self, username: &str, ip: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().expect("limiter lock");
        let mut wait = None;
        for (key, is_account) in Self::keys(username, ip) {
            let limit = if is_account {
                self.limits.per_account
            } else {
                self.limits.per_ip
            };
            if let Some(times) = failures.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let until = *times.front().expect("non-empty") + self.limits.window;
                    let w = until.saturating_duration_since(now);
                    wait = Some(wait.map_or(w, |old: Duration| old.max(w)));
                }
            }
        }
        wait
    }

    pub fn record_failure(&self, username: &str, ip: Option<IpAddr>, now: Instant) {
        let mut failures = self.failures.lock().expect("limiter lock");
        // Bound memory under a flood of distinct usernames: forget the oldest entries.
        if failures.len() > 100_000 {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < self.limits.window)
            });
        }
        for (key, _) in Self::keys(username, ip) {
            failures.entry(key).or_default().push_back(now);
        }
    }

    pub fn record_success(&self, username: &str) {
        self.failures
            .lock()
            .expect("limiter lock")
            .remove(&format!("user:{}", username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_account_then_ip_and_releases_after_window() {
        let limiter = LoginLimiter::new(LoginLimits {
            per_account: 3,
            per_ip: 5,
            window: Duration::from_secs(60),
        });
        let ip = Some("192.0.2.1".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("alice", ip, t0).is_none());
            limiter.record_failure("alice", ip, t0);
        }
        assert!(
            limiter.check("ALICE", None, t0).is_some(),
            "account locked from any address"
        );
        assert!(limiter.check("bob", ip, t0).is_none());
        limiter.record_failure("bob", ip, t0);
        limiter.record_failure("carol", ip, t0);
        assert!(
            limiter.check("dave", ip, t0).is_some(),
            "address locked for every account"
        );
        assert!(limiter
            .check("dave", Some("192.0.2.2".parse().unwrap()), t0)
            .is_none());
        assert!(
            limiter
                .check("alice", ip, t0 + Duration::from_secs(61))
                .is_none(),
            "window passed"
        );
    }
}
