//! The audit port: security-relevant events as typed values, and the sink the `augchatd` crate writes
//! them to (`AUGCHATD_AUDIT_LOG`). Actors report session ends and read-only transitions through it
//! without knowing where the lines go.
//! Invariant: an event holds identifiers, names, counts and outcomes only. No variant has a field that
//! could hold message text, a prompt, tool arguments or results, a credential or a JWT.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::ids::{SessionId, TenantId, UserId};
use crate::session::EndReason;

/// How a tool call, retrieval, export or erase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked.
    Ok,
    /// It ran and failed (upstream error, timeout, unusable input).
    Error,
    /// It was not allowed to run (a tool name outside the turn's set, credentials refused upstream).
    Refused,
    /// The user denied a call that needed their approval, so it did not run.
    Denied,
    /// The client left or the daemon stopped while it ran.
    Cancelled,
}

impl Outcome {
    /// `ok`, `error`, `refused`, `denied` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Refused => "refused",
            Outcome::Denied => "denied",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// Why a caller was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// A browser route without `Authorization: Bearer`.
    MissingJwt,
    /// A JWT with a bad signature, algorithm or shape.
    InvalidJwt,
    /// A well-formed JWT past its `exp`.
    ExpiredJwt,
    /// A valid JWT whose session is no longer live.
    SessionGone,
    /// An integrator route reached without a client certificate.
    ClientCertificateMissing,
    /// A verified client certificate whose identity is not a usable tenant id.
    ClientCertificateUnusable,
    /// A forwarded client certificate (`X-Augchatd-Client-Cert`) from a peer that is not a trusted proxy.
    ForwardedCertificateUntrusted,
    /// A client certificate that does not chain to `AUGCHATD_CLIENT_CA`: the TLS handshake was refused.
    ClientCertificateUntrusted,
    /// `GET /metrics` without the configured bearer token, or with another one.
    MetricsToken,
}

impl AuthFailure {
    /// The `reason` field of the line.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::MissingJwt => "missing_jwt",
            AuthFailure::InvalidJwt => "invalid_jwt",
            AuthFailure::ExpiredJwt => "expired_jwt",
            AuthFailure::SessionGone => "session_gone",
            AuthFailure::ClientCertificateMissing => "client_certificate_missing",
            AuthFailure::ClientCertificateUnusable => "client_certificate_unusable",
            AuthFailure::ForwardedCertificateUntrusted => "forwarded_certificate_untrusted",
            AuthFailure::ClientCertificateUntrusted => "client_certificate_untrusted",
            AuthFailure::MetricsToken => "metrics_token",
        }
    }
}

/// Whose session a tool call or retrieval ran in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionScope {
    /// The integrator.
    pub tenant: TenantId,
    /// The end user.
    pub user: UserId,
    /// The session.
    pub session: SessionId,
}

/// One security-relevant event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditEvent {
    /// A session was minted (`POST /sessions`, or a demo session).
    SessionMinted {
        /// The session's tenant, user and id.
        scope: SessionScope,
        /// The descriptive ids of the connectors in its scope.
        connectors: Vec<String>,
    },
    /// A session ended.
    SessionEnded {
        /// The session's tenant, user and id.
        scope: SessionScope,
        /// The descriptive ids of the connectors in its scope.
        connectors: Vec<String>,
        /// Deleted, expired or erased.
        reason: EndReason,
    },
    /// The model called an MCP tool (or a name outside the turn's tools, which is refused).
    ToolCall {
        /// Where it ran.
        scope: SessionScope,
        /// The connector; `None` for a refused name.
        connector: Option<String>,
        /// The tool name as offered to the model.
        tool: String,
        /// How it ended.
        outcome: Outcome,
        /// How long it ran.
        duration: Duration,
    },
    /// The model called a retrieve tool.
    Retrieval {
        /// Where it ran.
        scope: SessionScope,
        /// The RAG connector.
        connector: String,
        /// The indexes searched (the connector's).
        indexes: Vec<String>,
        /// Hits returned.
        hits: usize,
        /// How it ended.
        outcome: Outcome,
        /// How long it ran.
        duration: Duration,
    },
    /// The user's cold flushes stalled: their writes are refused.
    ReadOnlyEntered {
        /// The integrator.
        tenant: TenantId,
        /// The end user.
        user: UserId,
        /// How long flushes had been failing.
        failing_for: Duration,
    },
    /// A flush succeeded again: the user may write.
    ReadOnlyLeft {
        /// The integrator.
        tenant: TenantId,
        /// The end user.
        user: UserId,
    },
    /// A caller was refused at authentication.
    AuthFailed {
        /// Why.
        reason: AuthFailure,
        /// The route pattern (`/conversations/{cid}`), never the raw path.
        route: String,
        /// The client's address.
        peer: Option<IpAddr>,
    },
    /// An integrator asked for a user's conversations.
    UserExported {
        /// The integrator.
        tenant: TenantId,
        /// The end user.
        user: UserId,
        /// Conversations returned.
        conversations: usize,
        /// How it ended.
        outcome: Outcome,
    },
    /// An integrator asked for a user to be erased.
    UserErased {
        /// The integrator.
        tenant: TenantId,
        /// The end user.
        user: UserId,
        /// Live sessions ended.
        sessions_ended: usize,
        /// Conversations removed from hot storage.
        hot_conversations: usize,
        /// Objects removed from the bucket.
        cold_objects: usize,
        /// How it ended.
        outcome: Outcome,
    },
}

/// Where events go. Implementations must return at once: `record` is called on HTTP workers and actor
/// threads.
pub trait AuditSink: Send + Sync + 'static {
    /// Takes one event that happened at `at`.
    fn record(&self, at: SystemTime, event: AuditEvent);
}

/// A handle on the audit sink; the default is off, at the cost of one branch per event.
#[derive(Clone, Default)]
pub struct Audit(Option<Arc<dyn AuditSink>>);

impl Audit {
    /// Events go to `sink`.
    pub fn to(sink: Arc<dyn AuditSink>) -> Self {
        Self(Some(sink))
    }

    /// Whether events are recorded; lets callers skip building them.
    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Records `event`, stamped now.
    pub fn record(&self, event: AuditEvent) {
        if let Some(sink) = &self.0 {
            sink.record(SystemTime::now(), event);
        }
    }
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.enabled() { "Audit(on)" } else { "Audit(off)" })
    }
}
