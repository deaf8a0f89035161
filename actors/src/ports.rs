//! What the actors need from the outside world, as traits the `augchatd` crate implements.
//! Invariant: errors that cross this boundary are our own words (safe to log), never a URL or key.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::ids::{ConversationId, SessionId};

/// A boxed, sendable future, so the ports stay object-safe.
pub type PortFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Why a cold-storage call failed, in words safe for a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ColdFailure(pub String);

/// The integrator's bucket, as a flusher sees it. Keys are relative to the session's prefix.
pub trait ColdStore: Send + Sync + 'static {
    /// Writes (overwrites) one JSON object.
    fn put_json(&self, key: String, body: Vec<u8>) -> PortFuture<Result<(), ColdFailure>>;
    /// Reads one object; `None` when it does not exist (and only then).
    fn get(&self, key: String) -> PortFuture<Result<Option<Vec<u8>>, ColdFailure>>;
    /// Deletes one object; deleting a missing object succeeds.
    fn delete(&self, key: String) -> PortFuture<Result<(), ColdFailure>>;
    /// Lists the keys under a prefix, relative to the store's own prefix.
    fn list(&self, prefix: String) -> PortFuture<Result<Vec<String>, ColdFailure>>;
}

/// What one flush attempt of a conversation came to, for its trace (SPEC §9.3 `flush.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlushOutcome {
    /// The conversation reached the bucket.
    Success,
    /// The upload failed; `attempt` counts from 1 within the conversation's failure streak.
    Error { attempt: u32, message: String },
    /// The user's flushes have now failed for longer than the stalled threshold, and the user is
    /// read-only: reported once per streak, for each conversation that failed in it.
    Stalled { failing_for: Duration },
}

/// Where flushers report their outcomes; the `augchatd` crate writes them to the JSONL trace.
pub trait FlushTrace: Send + Sync + 'static {
    /// `session` is the session whose write the flush carries; `None` when the flusher was started by
    /// something other than a session's write (recovery at boot, a shutdown flush).
    fn flushed(&self, cid: &ConversationId, session: Option<&SessionId>, outcome: FlushOutcome);
}
