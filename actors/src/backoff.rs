//! `FlushBackoff`: when to retry a failed flush, and when a user's failures have lasted long enough to
//! make their chat read-only (SPEC §6.5). Pure: time comes in as an argument, so every rule is tested
//! without actors or sleeping.

use std::time::{Duration, Instant};

/// The first retry delay.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest retry delay.
pub const MAX_RETRY: Duration = Duration::from_secs(60);

/// The failure streak of one flusher (or of one user, for the read-only clock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushBackoff {
    /// Failed attempts since the last success.
    pub failures: u32,
    /// When the current streak began; `None` after a success.
    pub failing_since: Option<Instant>,
}

impl FlushBackoff {
    /// Records a failure at `now`; returns the delay before the next attempt:
    /// `min(60 s, 1 s · 2^(failures − 1))`.
    pub fn on_failure(&mut self, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.failing_since.get_or_insert(now);
        let doublings = self.failures.saturating_sub(1).min(6);
        (FIRST_RETRY * 2u32.pow(doublings)).min(MAX_RETRY)
    }

    /// Records a success: the streak is over.
    pub fn on_success(&mut self) {
        *self = Self::default();
    }

    /// How long the current streak has lasted at `now`.
    pub fn failing_for(&self, now: Instant) -> Option<Duration> {
        self.failing_since.map(|since| now.saturating_duration_since(since))
    }

    /// True once the streak has lasted `stalled` (`AUGCHATD_FLUSH_STALLED_MS`).
    pub fn is_stalled(&self, now: Instant, stalled: Duration) -> bool {
        self.failing_for(now).is_some_and(|d| d >= stalled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_up_to_sixty() {
        let start = Instant::now();
        let mut backoff = FlushBackoff::default();
        let delays: Vec<u64> = (0..9).map(|_| backoff.on_failure(start).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn the_stall_clock_starts_at_the_first_failure_and_a_success_clears_it() {
        let start = Instant::now();
        let stalled = Duration::from_secs(900);
        let mut backoff = FlushBackoff::default();
        assert!(!backoff.is_stalled(start + stalled, stalled), "no failure, no stall");
        backoff.on_failure(start);
        backoff.on_failure(start + Duration::from_secs(500));
        assert!(!backoff.is_stalled(start + Duration::from_secs(899), stalled));
        assert!(backoff.is_stalled(start + stalled, stalled));
        backoff.on_success();
        assert!(!backoff.is_stalled(start + Duration::from_secs(2000), stalled));
        assert_eq!(backoff.on_failure(start), FIRST_RETRY, "a new streak starts over");
    }
}
