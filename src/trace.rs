//! The optional per-conversation JSONL trace (`AUGCHATD_TRACE_DIR`, SPEC §9.3): a replay-grade debug
//! dump of each turn (`request`, `step.finish`…, `response.finish` or `aborted`/`error`, plus
//! `connector.toggle.deferred` and `upstream.unauthorized`), and each flush attempt's outcome
//! (`flush.success`, `flush.error`, `flush.stalled`).
//! Invariant: nothing here ever sees a credential. Callers build events from the session's prompt,
//! messages and tool traffic only; the API key and connector auth never enter an event.
//! Lines are appended synchronously, one `write` each, so concurrent turns never interleave a line.

use std::io::Write;
use std::path::{Path, PathBuf};

use augchatd_actors::ids::{ConversationId, SessionId};
use augchatd_actors::ports::{FlushOutcome, FlushTrace};
use serde_json::{Map, Value, json};

/// Longest file stem (SPEC §9.3).
const MAX_STEM: usize = 200;

/// Where traces go; `None` is off, at the cost of one branch per event.
#[derive(Debug, Clone, Default)]
pub struct TraceDir(Option<PathBuf>);

impl TraceDir {
    /// Checks at boot that the directory can be created and written (an unwritable one is a boot error).
    pub fn open(dir: Option<&Path>) -> std::io::Result<Self> {
        let Some(dir) = dir else { return Ok(Self(None)) };
        std::fs::create_dir_all(dir)?;
        let probe = dir.join(".augchatd-write-probe");
        std::fs::write(&probe, b"")?;
        std::fs::remove_file(&probe)?;
        Ok(Self(Some(dir.to_owned())))
    }

    /// Whether traces are written.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// The trace of one conversation, as seen by one session.
    pub fn conversation(&self, cid: &ConversationId, sid: &SessionId) -> Trace {
        self.trace(cid, Some(sid))
    }

    fn trace(&self, cid: &ConversationId, sid: Option<&SessionId>) -> Trace {
        Trace {
            file: self.0.as_ref().map(|dir| dir.join(file_name(cid.as_str()))),
            cid: cid.clone(),
            sid: sid.cloned(),
        }
    }
}

impl FlushTrace for TraceDir {
    /// A flush with no session behind it (recovery at boot) has `session_id: null`.
    fn flushed(&self, cid: &ConversationId, session: Option<&SessionId>, outcome: FlushOutcome) {
        let trace = self.trace(cid, session);
        match outcome {
            FlushOutcome::Success => trace.event("flush.success", json!({})),
            FlushOutcome::Error { attempt, message } => {
                trace.event("flush.error", json!({"attempt": attempt, "message": message}))
            }
            FlushOutcome::Stalled { failing_for } => {
                trace.event("flush.stalled", json!({"failing_for_ms": failing_for.as_millis() as u64}))
            }
        }
    }
}

/// `<sanitised cid>.jsonl`: characters outside `[a-zA-Z0-9._-]` become `_`, cut at 200, never empty.
fn file_name(cid: &str) -> String {
    let stem: String = cid
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .take(MAX_STEM)
        .collect();
    // The suffix keeps "." and ".." from naming directories.
    format!("{}.jsonl", if stem.is_empty() { "unknown" } else { &stem })
}

/// Appends events to one conversation's trace file.
#[derive(Debug, Clone)]
pub struct Trace {
    file: Option<PathBuf>,
    cid: ConversationId,
    sid: Option<SessionId>,
}

impl Trace {
    /// Whether events are written; lets callers skip building large events.
    pub fn enabled(&self) -> bool {
        self.file.is_some()
    }

    /// Appends `{ts, type, conversation_id, session_id, …fields}`. A write failure is logged, never
    /// fatal: the trace is a debugging aid, the chat goes on.
    pub fn event(&self, kind: &str, fields: Value) {
        let Some(file) = &self.file else { return };
        let mut line = Map::new();
        line.insert("ts".into(), json!(now_rfc3339()));
        line.insert("type".into(), json!(kind));
        line.insert("conversation_id".into(), json!(self.cid.as_str()));
        line.insert("session_id".into(), json!(self.sid.as_ref().map(SessionId::as_str)));
        if let Value::Object(fields) = fields {
            line.extend(fields);
        }
        let mut bytes = Value::Object(line).to_string().into_bytes();
        bytes.push(b'\n');
        let written =
            std::fs::OpenOptions::new().create(true).append(true).open(file).and_then(|mut f| f.write_all(&bytes));
        if let Err(e) = written {
            tracing::warn!(cid = %self.cid, error = %e, "trace event could not be written");
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(file_name("abc-1.2_x"), "abc-1.2_x.jsonl");
        assert_eq!(file_name("a/b c"), "a_b_c.jsonl");
        assert_eq!(file_name(".."), "...jsonl");
        assert_eq!(file_name(""), "unknown.jsonl");
        assert_eq!(file_name(&"x".repeat(300)).len(), 200 + ".jsonl".len());
    }

    #[test]
    fn events_carry_the_common_fields_and_off_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cid = ConversationId::try_from("c-1").unwrap();
        let sid = SessionId::try_from("s1").unwrap();
        let trace = TraceDir::open(Some(dir.path())).unwrap().conversation(&cid, &sid);
        trace.event("request", json!({"user_id": "u"}));
        trace.event("response.finish", json!({"step_count": 1}));
        let text = std::fs::read_to_string(dir.path().join("c-1.jsonl")).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["type"], "request");
        assert_eq!(lines[0]["conversation_id"], "c-1");
        assert_eq!(lines[0]["session_id"], "s1");
        assert_eq!(lines[0]["user_id"], "u");
        assert!(lines[1]["ts"].as_str().unwrap().ends_with('Z'));

        let off = TraceDir::default().conversation(&cid, &sid);
        assert!(!off.enabled());
        off.event("request", json!({}));
    }
    #[test]
    fn flush_outcomes_become_flush_events_and_a_flush_without_a_session_names_none() {
        let dir = tempfile::tempdir().unwrap();
        let traces = TraceDir::open(Some(dir.path())).unwrap();
        let cid = ConversationId::try_from("c-1").unwrap();
        let sid = SessionId::try_from("s1").unwrap();
        traces.flushed(&cid, Some(&sid), FlushOutcome::Error { attempt: 2, message: "cold storage failed: x".into() });
        traces.flushed(&cid, Some(&sid), FlushOutcome::Stalled { failing_for: std::time::Duration::from_secs(901) });
        traces.flushed(&cid, None, FlushOutcome::Success);
        let text = std::fs::read_to_string(dir.path().join("c-1.jsonl")).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["type"], "flush.error");
        assert_eq!((&lines[0]["attempt"], &lines[0]["message"]), (&json!(2), &json!("cold storage failed: x")));
        assert_eq!(lines[0]["session_id"], "s1");
        assert_eq!((&lines[1]["type"], &lines[1]["failing_for_ms"]), (&json!("flush.stalled"), &json!(901_000)));
        assert_eq!(lines[2]["type"], "flush.success");
        assert_eq!(lines[2]["session_id"], Value::Null);
        assert_eq!(lines[2]["conversation_id"], "c-1");
    }
}
