//! Supervision helpers shared by every actor kind: panic containment, lifecycle log lines and the
//! health counters that feed the periodic summary line and `/metrics`.
//!
//! Why `guarded` exists: actix's `Supervisor` restarts an actor only when it stops; a raw panic in a
//! handler closes the mailbox for good (probed, see spec/CRATES.md). So handler bodies run under
//! `catch_unwind`, and a panic becomes `ctx.stop()`, after which the Supervisor calls
//! `Supervised::restarting` and the same `Addr` keeps working.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix::ActorContext;

use crate::metrics::{FLUSH_BUCKETS, Gauge, Histogram, HistogramSnapshot};

/// The kinds of actor augchatd runs, as they appear in the `actor` field of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// One per minted session.
    Session,
    /// One per (tenant, user): the owner of the hot SQLite file.
    UserDb,
    /// One per conversation with hot changes: moves them to cold storage.
    Flusher,
}

impl ActorKind {
    /// The lowercase name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Session => "session",
            ActorKind::UserDb => "user_db",
            ActorKind::Flusher => "flusher",
        }
    }
}

/// Runs a handler body; on panic logs it, stops the context (so the Supervisor restarts the actor
/// behind the same `Addr`) and returns `None`. The message that panicked cannot be recovered.
pub fn guarded<C: ActorContext, R>(ctx: &mut C, kind: ActorKind, id: &str, f: impl FnOnce(&mut C) -> R) -> Option<R> {
    match panic::catch_unwind(AssertUnwindSafe(|| f(&mut *ctx))) {
        Ok(out) => Some(out),
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            tracing::error!(actor = kind.as_str(), id, reason, "handler panicked, restarting actor");
            ctx.stop();
            None
        }
    }
}

/// Process-wide counters for the health summary line and `/metrics`. Cheap to bump from any thread:
/// every instrument is atomic.
#[derive(Debug)]
pub struct Health {
    sessions_minted: AtomicU64,
    sessions_ended: AtomicU64,
    sessions_expired: AtomicU64,
    /// Restarts after a contained panic, indexed like [`ActorKind::ALL`].
    actor_restarts: [AtomicU64; 3],
    flush_attempts: AtomicU64,
    flush_failures: AtomicU64,
    flush_latency: Histogram,
    /// Flushers with an upload in flight.
    pub flushes_in_flight: Gauge,
    /// Flushers waiting for a retry after a failed upload.
    pub flushers_backing_off: Gauge,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            sessions_minted: AtomicU64::new(0),
            sessions_ended: AtomicU64::new(0),
            sessions_expired: AtomicU64::new(0),
            actor_restarts: Default::default(),
            flush_attempts: AtomicU64::new(0),
            flush_failures: AtomicU64::new(0),
            flush_latency: Histogram::new(FLUSH_BUCKETS),
            flushes_in_flight: Gauge::default(),
            flushers_backing_off: Gauge::default(),
        }
    }
}

/// A point-in-time copy of [`Health`]'s counters, for one log line or one scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// Sessions minted since boot.
    pub sessions_minted: u64,
    /// Sessions ended by `DELETE /sessions/:id`.
    pub sessions_ended: u64,
    /// Sessions that reached their TTL.
    pub sessions_expired: u64,
    /// Actor restarts after a contained panic, all kinds.
    pub actor_restarts: u64,
    /// Flush attempts that finished (an attempt that found nothing newer than cold is not counted).
    pub flush_attempts: u64,
    /// Uploads that failed (cold refused, or hot could not be read).
    pub flush_failures: u64,
}

impl ActorKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ActorKind; 3] = [ActorKind::Session, ActorKind::UserDb, ActorKind::Flusher];

    fn index(self) -> usize {
        match self {
            ActorKind::Session => 0,
            ActorKind::UserDb => 1,
            ActorKind::Flusher => 2,
        }
    }
}

impl Health {
    /// Counts a minted session.
    pub fn session_minted(&self) {
        self.sessions_minted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a session ended on request.
    pub fn session_ended(&self) {
        self.sessions_ended.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a session that expired.
    pub fn session_expired(&self) {
        self.sessions_expired.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a restart of an actor of `kind`.
    pub fn actor_restarted(&self, kind: ActorKind) {
        self.actor_restarts[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Restarts of actors of `kind` since boot.
    pub fn restarts_of(&self, kind: ActorKind) -> u64 {
        self.actor_restarts[kind.index()].load(Ordering::Relaxed)
    }

    /// Records a finished flush attempt: whether it failed and how long it took.
    pub fn flush_finished(&self, failed: bool, elapsed: Duration) {
        self.flush_attempts.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.flush_failures.fetch_add(1, Ordering::Relaxed);
        }
        self.flush_latency.observe(elapsed);
    }

    /// How long uploads took, failed ones included.
    pub fn flush_latency(&self) -> HistogramSnapshot {
        self.flush_latency.snapshot()
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> HealthSnapshot {
        HealthSnapshot {
            sessions_minted: self.sessions_minted.load(Ordering::Relaxed),
            sessions_ended: self.sessions_ended.load(Ordering::Relaxed),
            sessions_expired: self.sessions_expired.load(Ordering::Relaxed),
            actor_restarts: ActorKind::ALL.iter().map(|kind| self.restarts_of(*kind)).sum(),
            flush_attempts: self.flush_attempts.load(Ordering::Relaxed),
            flush_failures: self.flush_failures.load(Ordering::Relaxed),
        }
    }
}
