//! Exponential backoff with jitter, as Kafka's `ExponentialBackoff` computes it (KIP-580).
//!
//! ```text
//!  attempt:   0      1      2      3      4 …
//!  delay:   100ms  200ms  400ms  800ms  1000ms (capped)   each × random [0.8, 1.2)
//! ```
//!
//! Used for `retry.backoff.ms` → `retry.backoff.max.ms` (request retries) and
//! `reconnect.backoff.ms` → `reconnect.backoff.max.ms` (reconnects). The jitter keeps many
//! clients that failed at the same moment from retrying at the same moment.

use std::time::Duration;

use rand::Rng;

/// Kafka's multiplier between consecutive attempts.
const MULTIPLIER: f64 = 2.0;
/// Kafka's jitter: each delay is scaled by a random factor in `[1 - JITTER, 1 + JITTER)`.
const JITTER: f64 = 0.2;

/// `now + after`, saturating to a far-future instant instead of overflowing (a configured
/// timeout of `u64::MAX` ms must not panic).
pub(crate) fn deadline_after(after: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(after)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// A backoff policy: the delay before attempt `n + 1` after `n` failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    jitter: f64,
}

impl Backoff {
    /// Delays starting at `initial`, doubling per attempt, never above `max`, with Kafka's
    /// ±20 % jitter.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            jitter: JITTER,
        }
    }

    /// The same policy without jitter (deterministic; for tests and for callers that add their
    /// own randomness).
    pub fn without_jitter(mut self) -> Self {
        self.jitter = 0.0;
        self
    }

    /// The delay after `attempts` consecutive failures (0 = after the first failure).
    pub fn delay(&self, attempts: u32) -> Duration {
        // Kafka: when max <= initial the policy is constant.
        if self.max <= self.initial {
            return self.initial;
        }
        let initial = self.initial.as_secs_f64();
        let max = self.max.as_secs_f64();
        // Kafka caps the exponent where the curve reaches `max` (not at the next whole
        // attempt), so delays near the cap still get jitter below it instead of all being
        // clipped to exactly `max`.
        let exp_max = (max / initial.max(f64::MIN_POSITIVE)).ln() / MULTIPLIER.ln();
        let term = if f64::from(attempts) >= exp_max {
            max
        } else {
            initial * MULTIPLIER.powf(f64::from(attempts))
        };
        let factor = if self.jitter > 0.0 {
            rand::rng().random_range((1.0 - self.jitter)..(1.0 + self.jitter))
        } else {
            1.0
        };
        Duration::try_from_secs_f64(term * factor)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// A counter of consecutive failures that hands out the matching delays.
    pub(crate) fn attempts(self) -> Attempts {
        Attempts {
            policy: self,
            failures: 0,
        }
    }
}

/// Consecutive failures of one operation, with the backoff policy to apply.
#[derive(Debug, Clone)]
pub(crate) struct Attempts {
    policy: Backoff,
    failures: u32,
}

impl Attempts {
    /// Records a failure and returns how long to wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.policy.delay(self.failures);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// How many failures have been recorded since the last success.
    #[cfg(test)]
    fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a success: the next failure starts from the initial delay again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_up_to_the_cap_without_jitter() {
        let b = Backoff::new(ms(100), ms(1000)).without_jitter();
        let delays: Vec<_> = (0..7).map(|n| b.delay(n)).collect();
        assert_eq!(
            delays,
            [
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1000),
                ms(1000),
                ms(1000)
            ]
        );
        assert_eq!(b.delay(u32::MAX), ms(1000));
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_under_the_cap() {
        let b = Backoff::new(ms(100), ms(1000));
        for _ in 0..1000 {
            let first = b.delay(0);
            assert!(first >= ms(80) && first < ms(120), "{first:?}");
            let third = b.delay(2);
            assert!(third >= ms(320) && third < ms(480), "{third:?}");
            assert!(b.delay(30) <= ms(1000));
        }
        // Jitter actually varies the delay.
        let distinct: std::collections::HashSet<_> = (0..50).map(|_| b.delay(1)).collect();
        assert!(distinct.len() > 1);
    }

    #[test]
    fn constant_when_max_is_not_above_initial() {
        let b = Backoff::new(ms(500), ms(100));
        assert_eq!(b.delay(0), ms(500));
        assert_eq!(b.delay(9), ms(500));
        assert_eq!(
            Backoff::new(Duration::ZERO, Duration::ZERO).delay(3),
            Duration::ZERO
        );
    }

    #[test]
    fn deadlines_saturate() {
        let now = tokio::time::Instant::now();
        assert!(deadline_after(Duration::MAX) > now + Duration::from_secs(3600));
        assert!(deadline_after(ms(10)) >= now + ms(10));
    }

    #[test]
    fn attempts_count_and_reset() {
        let mut a = Backoff::new(ms(50), ms(1000)).without_jitter().attempts();
        assert_eq!(a.next_delay(), ms(50));
        assert_eq!(a.next_delay(), ms(100));
        assert_eq!(a.failures(), 2);
        a.reset();
        assert_eq!(a.next_delay(), ms(50));
    }
}
