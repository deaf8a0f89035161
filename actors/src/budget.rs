//! `Budget`: one session's optional limits (`limits` of `POST /sessions`) and what it has spent against them.
//! Invariant: the counters only grow, except a turn reserved by [`Budget::admit`] that never started, which
//! is given back when its [`TurnTicket`] drops. Time is passed in (`now`), so the rate window is tested
//! without sleeping; nothing here reads a clock or does I/O.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The window `requests_per_minute` counts over.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// What an integrator allowed one session; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Tokens (input + output, as the providers count them, over every model call) the session may use.
    pub max_tokens: Option<u64>,
    /// Chat turns the session may start.
    pub max_turns: Option<u32>,
    /// Chat requests the session may make in any 60 seconds.
    pub requests_per_minute: Option<u32>,
}

/// Why a turn may not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `max_tokens` is used up.
    TokensExhausted {
        /// The limit.
        max_tokens: u64,
    },
    /// `max_turns` turns have started.
    TurnsExhausted {
        /// The limit.
        max_turns: u32,
    },
    /// `requests_per_minute` requests in the last 60 seconds.
    RateLimited {
        /// When the oldest of them leaves the window.
        retry_after: Duration,
    },
}

#[derive(Debug, Default)]
struct Spent {
    tokens: u64,
    turns: u32,
    /// When the requests of the last `RATE_WINDOW` were admitted, oldest first.
    recent: VecDeque<Instant>,
}

/// A session's limits and counters; clones share the counters.
#[derive(Clone, Debug, Default)]
pub struct Budget {
    limits: Limits,
    spent: Arc<Mutex<Spent>>,
}

impl Budget {
    /// A fresh budget under `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits, spent: Arc::default() }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Spent> {
        // Every update is a single field change or a push/pop pair, so a poisoned lock is still consistent.
        self.spent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets a chat request in, or says why not. An admitted request counts against the rate at once and
    /// reserves a turn, which is given back unless the ticket is [`TurnTicket::started`].
    pub fn admit(&self, now: Instant) -> Result<TurnTicket, Refusal> {
        let mut spent = self.lock();
        if let Some(max_tokens) = self.limits.max_tokens.filter(|max| spent.tokens >= *max) {
            return Err(Refusal::TokensExhausted { max_tokens });
        }
        if let Some(max_turns) = self.limits.max_turns.filter(|max| spent.turns >= *max) {
            return Err(Refusal::TurnsExhausted { max_turns });
        }
        if let Some(rate) = self.limits.requests_per_minute {
            while spent.recent.front().is_some_and(|at| now.saturating_duration_since(*at) >= RATE_WINDOW) {
                spent.recent.pop_front();
            }
            if spent.recent.len() >= rate as usize
                && let Some(oldest) = spent.recent.front()
            {
                return Err(Refusal::RateLimited { retry_after: RATE_WINDOW - now.saturating_duration_since(*oldest) });
            }
            spent.recent.push_back(now);
        }
        spent.turns += 1;
        Ok(TurnTicket { budget: self.clone(), started: false })
    }

    /// Counts the tokens of one model call.
    pub fn charge(&self, tokens: u64) {
        let mut spent = self.lock();
        spent.tokens = spent.tokens.saturating_add(tokens);
    }

    /// True once the session has used all its tokens: no further model call may start.
    pub fn tokens_exhausted(&self) -> bool {
        self.limits.max_tokens.is_some_and(|max| self.lock().tokens >= max)
    }

    /// Tokens used so far.
    pub fn tokens_used(&self) -> u64 {
        self.lock().tokens
    }
}

/// A turn reserved by [`Budget::admit`]; dropped unstarted (the request failed before its stream), the
/// turn is given back.
#[derive(Debug)]
pub struct TurnTicket {
    budget: Budget,
    started: bool,
}

impl TurnTicket {
    /// The turn's stream has started: it counts for good.
    pub fn started(mut self) {
        self.started = true;
    }
}

impl Drop for TurnTicket {
    fn drop(&mut self) {
        if !self.started {
            let mut spent = self.budget.lock();
            spent.turns = spent.turns.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn budget(max_tokens: Option<u64>, max_turns: Option<u32>, requests_per_minute: Option<u32>) -> Budget {
        Budget::new(Limits { max_tokens, max_turns, requests_per_minute })
    }

    #[test]
    fn no_limits_admit_everything() {
        let budget = Budget::default();
        let now = Instant::now();
        for _ in 0..1000 {
            budget.admit(now).unwrap().started();
        }
        budget.charge(u64::MAX);
        assert!(!budget.tokens_exhausted());
        assert!(budget.admit(now).is_ok());
    }

    #[test]
    fn a_spent_token_budget_refuses_the_next_turn() {
        let budget = budget(Some(100), None, None);
        let now = Instant::now();
        budget.admit(now).unwrap().started();
        budget.charge(99);
        assert!(!budget.tokens_exhausted());
        budget.admit(now).unwrap().started();
        budget.charge(1);
        assert!(budget.tokens_exhausted());
        assert_eq!(budget.admit(now).unwrap_err(), Refusal::TokensExhausted { max_tokens: 100 });
        assert_eq!(budget.tokens_used(), 100);
    }

    #[test]
    fn only_started_turns_count_against_max_turns() {
        let budget = budget(None, Some(2), None);
        let now = Instant::now();
        drop(budget.admit(now).unwrap());
        budget.admit(now).unwrap().started();
        let held = budget.admit(now).unwrap();
        assert_eq!(budget.admit(now).unwrap_err(), Refusal::TurnsExhausted { max_turns: 2 }, "reserved");
        held.started();
        assert_eq!(budget.admit(now).unwrap_err(), Refusal::TurnsExhausted { max_turns: 2 });
    }

    #[test]
    fn the_rate_is_a_sliding_minute_and_says_when_to_retry() {
        let budget = budget(None, None, Some(2));
        let start = Instant::now();
        budget.admit(start).unwrap().started();
        budget.admit(start + Duration::from_secs(20)).unwrap().started();
        assert_eq!(
            budget.admit(start + Duration::from_secs(45)).unwrap_err(),
            Refusal::RateLimited { retry_after: Duration::from_secs(15) }
        );
        // A refused request does not count: once the first leaves the window, one more fits.
        budget.admit(start + Duration::from_secs(60)).unwrap().started();
        assert_eq!(
            budget.admit(start + Duration::from_secs(61)).unwrap_err(),
            Refusal::RateLimited { retry_after: Duration::from_secs(19) }
        );
    }

    #[test]
    fn clones_share_the_counters() {
        let budget = budget(Some(10), None, None);
        budget.clone().charge(10);
        assert!(budget.tokens_exhausted());
    }
}
