//! The audit log (`AUGCHATD_AUDIT_LOG`): one JSON object per line for every `AuditEvent` (sessions
//! minted and ended, tool calls, retrievals, read-only transitions, authentication failures, exports
//! and erasures), appended to a file or written to stderr.
//! Invariant: a line is built only from the event's identifiers, names, counts and outcomes; nothing
//! here can see message text, prompts, tool arguments or results, credentials or JWTs.
//!
//! Callers never wait for the disk. `record` hands the event to a bounded channel with `try_send` and
//! returns; one dedicated thread formats and writes the lines, and flushes once per batch (whatever
//! arrived while it was writing). A thread, not a tokio task: file writes are blocking calls that would
//! stall an actix worker and every stream on it, and `spawn_blocking` would take a pool thread per
//! batch for the life of the process anyway. A channel that is full (the disk stalled for a long
//! backlog) drops the event instead of blocking a worker; the writer then records how many it lost.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime};

use augchatd_actors::audit::{AuditEvent, AuditSink};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Events that may wait for the writer thread before new ones are dropped: minutes of a busy
/// daemon's events, a few MB of memory at most.
const BACKLOG: usize = 65_536;

/// Longest tool name written as is; tool names come from the model when it calls a name not offered.
const MAX_TOOL_NAME: usize = 128;

/// Where the lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    /// `-` or `stderr`: the daemon's stderr, between the log lines.
    Stderr,
    /// Appended to this file.
    File(PathBuf),
}

impl AuditTarget {
    /// `AUGCHATD_AUDIT_LOG`: `-` or `stderr` (any case), else a file path.
    pub fn parse(raw: &str) -> Self {
        if raw == "-" || raw.eq_ignore_ascii_case("stderr") { Self::Stderr } else { Self::File(PathBuf::from(raw)) }
    }
}

enum Item {
    Event(SystemTime, AuditEvent),
    /// Answered once everything sent before it is written and flushed.
    Sync(tokio::sync::oneshot::Sender<()>),
}

/// The audit log of this process.
pub struct AuditLog {
    tx: SyncSender<Item>,
    dropped: Arc<AtomicU64>,
}

impl AuditLog {
    /// Opens the target (a file is created if missing, and appended to) and starts the writer thread.
    /// Run at boot, so an unwritable path stops the daemon.
    pub fn open(target: &AuditTarget) -> io::Result<Arc<Self>> {
        let out = match target {
            AuditTarget::Stderr => Out::Stderr,
            AuditTarget::File(path) => Out::File(BufWriter::new(append(path)?)),
        };
        let (tx, rx) = sync_channel(BACKLOG);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&dropped);
        // The thread ends when the last sender is dropped, with the process.
        std::thread::Builder::new().name("augchatd-audit".into()).spawn(move || write_lines(rx, out, &counted))?;
        Ok(Arc::new(Self { tx, dropped }))
    }

    /// Waits (up to `within`) until every event recorded so far is written and flushed; used at
    /// shutdown, before the process exits.
    pub async fn sync(&self, within: Duration) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.try_send(Item::Sync(done)).is_ok() {
            let _flushed_or_timed_out = tokio::time::timeout(within, wait).await;
        }
    }
}

impl AuditSink for AuditLog {
    fn record(&self, at: SystemTime, event: AuditEvent) {
        match self.tx.try_send(Item::Event(at, event)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("audit writer is gone; audit event lost");
            }
        }
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// A file gets a buffer flushed per batch; stderr gets one unbuffered write per line, so a line is
/// never split by a log line written between two parts of it.
enum Out {
    File(BufWriter<File>),
    Stderr,
}

impl Out {
    fn line(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Out::File(file) => file.write_all(bytes),
            Out::Stderr => io::stderr().lock().write_all(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::File(file) => file.flush(),
            Out::Stderr => Ok(()),
        }
    }
}

/// The writer thread: a batch is what has arrived by the time the previous one was written.
fn write_lines(rx: Receiver<Item>, mut out: Out, dropped: &AtomicU64) {
    let mut failing = false;
    while let Ok(first) = rx.recv() {
        let mut syncs = Vec::new();
        let mut result = Ok(());
        for item in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            match item {
                Item::Event(at, event) => result = result.and_then(|()| out.line(&encode(at, &event))),
                Item::Sync(done) => syncs.push(done),
            }
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            tracing::error!(lost, "audit events dropped: the audit log could not keep up");
            let line =
                with_newline(json!({"ts": timestamp(SystemTime::now()), "event": "audit.dropped", "count": lost}));
            result = result.and_then(|()| out.line(&line));
        }
        result = result.and_then(|()| out.flush());
        // One error line per failing streak, not one per batch.
        match result {
            Err(e) if !failing => {
                failing = true;
                tracing::error!(error = %e, "audit log could not be written");
            }
            Err(_) => {}
            Ok(()) => failing = false,
        }
        for done in syncs {
            let _waiter_gone = done.send(());
        }
    }
}

fn with_newline(value: Value) -> Vec<u8> {
    let mut bytes = value.to_string().into_bytes();
    bytes.push(b'\n');
    bytes
}

/// RFC 3339 in UTC with milliseconds.
fn timestamp(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    let at = at.replace_millisecond(at.millisecond()).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A tool name as the model sent it, if it looks like one; anything else could be text the model made
/// up, which has no place in the audit log.
fn tool_name(name: &str) -> &str {
    let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if plain && (1..=MAX_TOOL_NAME).contains(&name.len()) { name } else { "(not a tool name)" }
}

/// One line: `ts`, `event`, then the event's own fields.
fn encode(at: SystemTime, event: &AuditEvent) -> Vec<u8> {
    let (name, fields) = match event {
        AuditEvent::SessionMinted { scope, connectors } => (
            "session.minted",
            json!({
                "tenant": scope.tenant.as_str(), "user": scope.user.as_str(), "session_id": scope.session.as_str(),
                "connectors": connectors,
            }),
        ),
        AuditEvent::SessionEnded { scope, connectors, reason } => (
            "session.ended",
            json!({
                "tenant": scope.tenant.as_str(), "user": scope.user.as_str(), "session_id": scope.session.as_str(),
                "connectors": connectors, "reason": reason.as_str(),
            }),
        ),
        AuditEvent::ToolCall { scope, connector, tool, outcome, duration } => (
            "tool.call",
            json!({
                "tenant": scope.tenant.as_str(), "user": scope.user.as_str(), "session_id": scope.session.as_str(),
                "connector": connector, "tool": tool_name(tool), "outcome": outcome.as_str(),
                "duration_ms": millis(*duration),
            }),
        ),
        AuditEvent::Retrieval { scope, connector, indexes, hits, outcome, duration } => (
            "retrieval",
            json!({
                "tenant": scope.tenant.as_str(), "user": scope.user.as_str(), "session_id": scope.session.as_str(),
                "connector": connector, "indexes": indexes, "hits": hits, "outcome": outcome.as_str(),
                "duration_ms": millis(*duration),
            }),
        ),
        AuditEvent::ReadOnlyEntered { tenant, user, failing_for } => (
            "read_only.entered",
            json!({
                "tenant": tenant.as_str(), "user": user.as_str(), "failing_for_ms": millis(*failing_for),
            }),
        ),
        AuditEvent::ReadOnlyLeft { tenant, user } => {
            ("read_only.left", json!({"tenant": tenant.as_str(), "user": user.as_str()}))
        }
        AuditEvent::AuthFailed { reason, route, peer } => (
            "auth.failed",
            json!({
                "reason": reason.as_str(), "route": route, "peer": peer.map(|ip| ip.to_string()),
            }),
        ),
        AuditEvent::UserExported { tenant, user, conversations, outcome } => (
            "user.exported",
            json!({
                "tenant": tenant.as_str(), "user": user.as_str(), "conversations": conversations,
                "outcome": outcome.as_str(),
            }),
        ),
        AuditEvent::UserErased { tenant, user, sessions_ended, hot_conversations, cold_objects, outcome } => (
            "user.erased",
            json!({
                "tenant": tenant.as_str(), "user": user.as_str(), "sessions_ended": sessions_ended,
                "hot_conversations": hot_conversations, "cold_objects": cold_objects, "outcome": outcome.as_str(),
            }),
        ),
    };
    let mut line = json!({"ts": timestamp(at), "event": name});
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    with_newline(line)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use augchatd_actors::audit::{Outcome, SessionScope};
    use augchatd_actors::ids::{SessionId, TenantId, UserId};

    use super::*;

    fn scope() -> SessionScope {
        SessionScope {
            tenant: TenantId::try_from("acme").unwrap(),
            user: UserId::try_from("u1").unwrap(),
            session: SessionId::try_from("s1").unwrap(),
        }
    }

    fn decode(bytes: &[u8]) -> Value {
        assert_eq!(bytes.last(), Some(&b'\n'));
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn a_line_has_the_timestamp_the_event_name_and_its_fields() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let event = AuditEvent::ToolCall {
            scope: scope(),
            connector: Some("gh".into()),
            tool: "gh__search".into(),
            outcome: Outcome::Error,
            duration: Duration::from_millis(42),
        };
        assert_eq!(
            decode(&encode(at, &event)),
            json!({"ts": "2023-11-14T22:13:20.123Z", "event": "tool.call", "tenant": "acme", "user": "u1",
                   "session_id": "s1", "connector": "gh", "tool": "gh__search", "outcome": "error", "duration_ms": 42})
        );
    }

    #[test]
    fn a_made_up_tool_name_is_not_written() {
        assert_eq!(tool_name("gh__search"), "gh__search");
        for odd in ["", "say \"hello\" to the user", &"x".repeat(129), "a/b"] {
            assert_eq!(tool_name(odd), "(not a tool name)");
        }
    }

    #[test]
    fn the_target_is_stderr_for_a_dash_or_the_word() {
        assert_eq!(AuditTarget::parse("-"), AuditTarget::Stderr);
        assert_eq!(AuditTarget::parse("STDERR"), AuditTarget::Stderr);
        assert_eq!(AuditTarget::parse("/var/log/a.jsonl"), AuditTarget::File("/var/log/a.jsonl".into()));
    }

    #[tokio::test]
    async fn events_reach_the_file_in_order_once_synced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&AuditTarget::File(path.clone())).unwrap();
        for user in ["a", "b", "c"] {
            let user = UserId::try_from(user).unwrap();
            log.record(SystemTime::now(), AuditEvent::ReadOnlyLeft { tenant: scope().tenant, user });
        }
        log.sync(Duration::from_secs(5)).await;
        let text = std::fs::read_to_string(&path).unwrap();
        let users: Vec<Value> =
            text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["user"].clone()).collect();
        assert_eq!(users, [json!("a"), json!("b"), json!("c")]);
    }
}
