//! Supervision helpers shared by every actor kind: panic containment, lifecycle log lines and the
//! health counters that feed the periodic summary line and `/healthz`.
//!
//! Why `guarded` exists: actix's `Supervisor` restarts an actor only when it stops; a raw panic in a
//! handler closes the mailbox for good (probed, see spec/CRATES.md). So handler bodies run under
//! `catch_unwind`, and a panic becomes `ctx.stop()`, after which the Supervisor calls
//! `Supervised::restarting` and the same `Addr` keeps working.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

use actix::ActorContext;

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

/// Process-wide counters for the health summary. Cheap to bump from any thread.
#[derive(Debug, Default)]
pub struct Health {
    sessions_minted: AtomicU64,
    sessions_ended: AtomicU64,
    sessions_expired: AtomicU64,
    actor_restarts: AtomicU64,
}

/// A point-in-time copy of [`Health`], for one log line.
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

    /// Counts an actor restart.
    pub fn actor_restarted(&self) {
        self.actor_restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> HealthSnapshot {
        HealthSnapshot {
            sessions_minted: self.sessions_minted.load(Ordering::Relaxed),
            sessions_ended: self.sessions_ended.load(Ordering::Relaxed),
            sessions_expired: self.sessions_expired.load(Ordering::Relaxed),
            actor_restarts: self.actor_restarts.load(Ordering::Relaxed),
        }
    }
}
