//! What the actors need from the outside world, as traits the `augchatd` crate implements.
//! Invariant: errors that cross this boundary are our own words (safe to log), never a URL or key.

use std::future::Future;
use std::pin::Pin;

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
