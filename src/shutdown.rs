//! Graceful shutdown: the signals that start it, how serving stops (`stop_serving`), the flag that
//! ends running chat streams when their grace is over, and the final flush of every dirty conversation
//! to cold storage, bounded by `AUGCHATD_SHUTDOWN_FLUSH_MS`, with one log line per conversation.
//! Invariant: this module only asks the flushers to flush; it never reads hot data or talks to S3
//! itself, so a shutdown flush is the same upload (and the same acknowledgement) as any other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use augchatd_actors::flusher::{FlushError, Flushers};
use augchatd_actors::ids::{ConversationId, TenantId, UserId};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};

use crate::metrics::Metrics;

/// How long a stop waits for running requests before their connections are closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long running chat streams may go on after a stop signal before they are ended (and stored);
/// shorter than `SHUTDOWN_GRACE`, so an ended turn still reaches its client and its writer.
const STREAM_GRACE: Duration = Duration::from_secs(5);
/// How often a stopping server looks whether anything still runs.
const IDLE_CHECK: Duration = Duration::from_millis(100);
/// Users whose dirty conversations are listed at the same time by the final flush. Listing asks the
/// user's writer, and an idle user's writer has been retired, so each listing may start a thread and
/// open a file (milliseconds); thousands of users one after the other would eat the flush deadline.
const LISTINGS_AT_ONCE: usize = 32;
/// First pause before the final flush tries a failed conversation again, doubling up to `RETRY_MAX`:
/// one transient failure (a pooled connection the bucket had closed, a 503) must not cost the final
/// flush while the deadline still leaves time.
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// Longest pause between two tries of the final flush.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// Consecutive idle checks before idle connections are closed: a response whose handler has just
/// returned gets this long to reach its client.
const IDLE_CHECKS_BEFORE_CLOSE: u32 = 3;

/// Set once the grace for running chat streams is over: each running turn, which races `wait()`
/// against whatever it waits on, stops at once, ends its stream and stores what it has. Nothing is
/// checked per token.
#[derive(Clone, Debug, Default)]
pub struct Draining(Arc<DrainingInner>);

#[derive(Debug, Default)]
struct DrainingInner {
    set: AtomicBool,
    notify: Notify,
}

impl Draining {
    /// From now on, running turns end.
    pub fn start(&self) {
        self.0.set.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether running turns should end now.
    pub fn is_set(&self) -> bool {
        self.0.set.load(Ordering::SeqCst)
    }

    /// Resolves once draining has started.
    pub async fn wait(&self) {
        let notified = self.0.notify.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a `start` in between is not missed.
        notified.as_mut().enable();
        if !self.is_set() {
            notified.await;
        }
    }
}

/// Listens for SIGTERM and SIGINT from now on (both mean a graceful stop) and returns the future that
/// resolves with the signal's name when one arrives. Listening starts before the future is awaited, so
/// a signal sent right after the banner is not lost.
pub fn signals() -> std::io::Result<impl Future<Output = &'static str>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    })
}

/// Stops `server` after a stop signal and resolves when it has stopped: no new connections; chat streams
/// end after `STREAM_GRACE`; the connections left are closed once nothing has run for a few checks, or
/// after `SHUTDOWN_GRACE`. Not actix's graceful stop: it waits for idle HTTP/2 connections as long as
/// for busy ones, so every stop would take the whole grace.
pub async fn stop_serving(
    mut server: Pin<&mut Server>,
    handle: &ServerHandle,
    draining: &Draining,
    metrics: &Metrics,
) -> std::io::Result<()> {
    // Commands are sent at once; the server future below carries them out.
    drop(handle.pause());
    let started = Instant::now();
    let mut checks = tokio::time::interval(IDLE_CHECK);
    let mut idle_checks = 0;
    let mut closing = false;
    loop {
        tokio::select! {
            result = &mut server => return result,
            _ = checks.tick(), if !closing => {
                let waited = started.elapsed();
                if waited >= STREAM_GRACE && !draining.is_set() {
                    tracing::info!("shutdown: stream grace over, ending running chat streams");
                    draining.start();
                }
                idle_checks = if metrics.is_idle() { idle_checks + 1 } else { 0 };
                let idle = idle_checks >= IDLE_CHECKS_BEFORE_CLOSE;
                if idle || waited >= SHUTDOWN_GRACE {
                    tracing::info!(idle, "shutdown: closing the remaining connections");
                    closing = true;
                    drop(handle.stop(false));
                }
            }
        }
    }
}

/// How one conversation's shutdown flush ended.
#[derive(Debug)]
pub enum Outcome {
    /// Cold storage acknowledged the latest version.
    Flushed,
    /// The upload (or reading hot) failed, and kept failing until too little time was left to try
    /// again; the conversation stays dirty in the hot file, and the user's next session after a restart
    /// flushes it (crash recovery).
    Failed(FlushError),
    /// The deadline passed first; as with a failure, the hot file keeps it dirty.
    Deadline,
}

impl Outcome {
    /// The `outcome` field of the log line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Flushed => "flushed",
            Outcome::Failed(_) => "failed",
            Outcome::Deadline => "deadline",
        }
    }
}

/// What the final flush did, conversation by conversation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Conversations cold storage acknowledged.
    pub flushed: usize,
    /// Conversations whose flush failed (or whose user's dirty list could not be read).
    pub failed: usize,
    /// Conversations still flushing when the deadline passed.
    pub deadline: usize,
}

/// Flushes every dirty conversation of every user with a bucket, all at once, until `within` has
/// passed; logs one `shutdown flush` line per conversation and one summary line.
pub async fn flush_all(flushers: &Flushers, within: Duration) -> Tally {
    let deadline = Instant::now() + within;
    let mut tally = Tally::default();
    let mut flushes = FuturesUnordered::new();
    let users = flushers.users_with_cold();
    tracing::info!(users = users.len(), deadline_ms = within.as_millis() as u64, "shutdown flush started");
    let mut listings = futures_util::stream::iter(users)
        .map(|(tenant, user)| async move {
            let listed = timeout_at(deadline, flushers.dirty(&tenant, &user)).await;
            (tenant, user, listed)
        })
        .buffer_unordered(LISTINGS_AT_ONCE);
    while let Some((tenant, user, listed)) = listings.next().await {
        match listed {
            Ok(Ok(dirty)) => {
                for cid in dirty {
                    flushes.push(flush_one(flushers, tenant.clone(), user.clone(), cid, deadline));
                }
            }
            Ok(Err(err)) => {
                tally.failed += 1;
                tracing::warn!(%tenant, %user, outcome = "failed", error = %err,
                    "shutdown flush: the user's dirty conversations could not be listed");
            }
            Err(_) => {
                tally.deadline += 1;
                tracing::warn!(%tenant, %user, outcome = "deadline",
                    "shutdown flush: the user's dirty conversations could not be listed");
            }
        }
    }
    while let Some((tenant, user, cid, outcome)) = flushes.next().await {
        let result = outcome.as_str();
        match outcome {
            Outcome::Flushed => {
                tally.flushed += 1;
                tracing::info!(%tenant, %user, %cid, outcome = result, "shutdown flush");
            }
            Outcome::Failed(err) => {
                tally.failed += 1;
                tracing::warn!(%tenant, %user, %cid, outcome = result, error = %err, "shutdown flush");
            }
            Outcome::Deadline => {
                tally.deadline += 1;
                tracing::warn!(%tenant, %user, %cid, outcome = result, "shutdown flush");
            }
        }
    }
    tracing::info!(
        flushed = tally.flushed,
        failed = tally.failed,
        deadline = tally.deadline,
        "shutdown flush finished"
    );
    tally
}

async fn flush_one(
    flushers: &Flushers,
    tenant: TenantId,
    user: UserId,
    cid: ConversationId,
    deadline: Instant,
) -> (TenantId, UserId, ConversationId, Outcome) {
    let mut pause = RETRY_FIRST;
    let outcome = loop {
        match timeout_at(deadline, flushers.flush_conversation(&tenant, &user, &cid)).await {
            Ok(Ok(())) => break Outcome::Flushed,
            Err(_) => break Outcome::Deadline,
            Ok(Err(err)) if Instant::now() + pause >= deadline => break Outcome::Failed(err),
            Ok(Err(err)) => {
                tracing::debug!(%tenant, %user, %cid, error = %err, retry_ms = pause.as_millis() as u64,
                    "shutdown flush failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX);
            }
        }
    };
    (tenant, user, cid, outcome)
}
