//! The browser end of a turn: every chunk sent, and the assistant message assembled from the same
//! calls exactly as the AI SDK client assembles it, so what is stored is what the user saw.
//! Invariant: a `*-delta` is only ever sent inside its `*-start`/`*-end`; at most one text or
//! reasoning part is open, and it is closed before any other chunk kind.

use std::cell::Cell;
use std::pin::Pin;
use std::time::Duration;

use actix_web::web::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::{Instant, Sleep};

use crate::stream::{Chunk, KEEPALIVE};

/// Silence after which a keep-alive comment is sent. SPEC §4.6 asks for one at least every ~15 s; it
/// is every second because actix notices a client that has gone only when a write to it fails, and
/// a turn waiting on a tool or a thinking model must still stop promptly when the browser leaves.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);

/// The client went away; the turn stops.
#[derive(Debug)]
pub struct Gone;

/// The two streamed part kinds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PartKind {
    Text,
    Reasoning,
}

/// The open text or reasoning part.
struct Open {
    kind: PartKind,
    id: String,
    /// Position of its stored part.
    index: usize,
    /// Anthropic's signature for a thinking block.
    signature: Option<String>,
}

/// Sends chunks and keeps the message they add up to.
pub struct Out {
    tx: mpsc::Sender<Bytes>,
    parts: Vec<Value>,
    open: Option<Open>,
    /// How long the client may leave a full buffer untaken before the turn treats it as gone.
    slow_client: Duration,
    /// When the last chunk was queued: the keep-alive clock.
    last_write: Cell<Instant>,
    /// Fires at the earliest moment a keep-alive may be due. It is re-armed only when it fires, not on
    /// every chunk: a timer per token was a timer-wheel insert and removal per token (benches/chat.rs).
    quiet: Pin<Box<Sleep>>,
}

impl Out {
    /// Writes into the response body's channel.
    pub fn new(tx: mpsc::Sender<Bytes>, slow_client: Duration) -> Self {
        let now = Instant::now();
        Out {
            tx,
            slow_client,
            parts: Vec::new(),
            open: None,
            last_write: Cell::new(now),
            quiet: Box::pin(tokio::time::sleep_until(now + KEEPALIVE_INTERVAL)),
        }
    }

    /// Continues an assistant message that already has `parts` (a turn resumed after a tool approval), so
    /// what is stored is the whole message.
    pub fn continuing(mut self, parts: Vec<Value>) -> Self {
        self.parts = parts;
        self
    }

    /// The assistant message's parts so far.
    pub fn parts(&self) -> Value {
        Value::Array(self.parts.clone())
    }

    /// True once anything of the reply itself (text, reasoning, a tool call, a notice) was sent: from then
    /// on the turn cannot start over with another model without the user seeing it twice.
    pub fn replied(&self) -> bool {
        self.parts.iter().any(|part| part["type"] != "step-start")
    }

    /// Sends bytes as they are.
    pub async fn raw(&self, bytes: Bytes) -> Result<(), Gone> {
        match self.tx.try_send(bytes) {
            Ok(()) => {}
            Err(TrySendError::Closed(_)) => return Err(Gone),
            // The client is not reading. It gets `slow_client` to take the next chunk; past that the turn
            // ends as if it had left, so a stuck reader cannot pin the turn and its upstream call. The
            // timer exists only here, never on the usual path.
            Err(TrySendError::Full(bytes)) => {
                let sent = tokio::time::timeout(self.slow_client, self.tx.send(bytes)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return Err(Gone);
                }
            }
        }
        self.last_write.set(Instant::now());
        Ok(())
    }

    /// Sends one chunk.
    pub async fn send(&self, chunk: Chunk<'_>) -> Result<(), Gone> {
        self.raw(chunk.to_event()).await
    }

    /// Sends a keep-alive comment (SPEC §4.6) after each `KEEPALIVE_INTERVAL` without a write, while the
    /// turn waits on something else; resolves only when the client has gone. Race it against the wait.
    pub async fn idle(&mut self) -> Gone {
        loop {
            tokio::select! {
                () = &mut self.quiet => {
                    let due = self.last_write.get() + KEEPALIVE_INTERVAL;
                    if Instant::now() < due {
                        self.quiet.as_mut().reset(due);
                    } else if self.raw(Bytes::from_static(KEEPALIVE)).await.is_err() {
                        return Gone;
                    }
                }
                () = self.tx.closed() => return Gone,
            }
        }
    }

    /// Opens one model call.
    pub async fn step_start(&mut self) -> Result<(), Gone> {
        self.parts.push(json!({"type": "step-start"}));
        self.send(Chunk::StartStep).await
    }

    /// Closes one model call.
    pub async fn step_end(&mut self) -> Result<(), Gone> {
        self.close_part().await?;
        self.send(Chunk::FinishStep).await
    }

    /// More answer text.
    pub async fn text(&mut self, delta: &str) -> Result<(), Gone> {
        self.delta(PartKind::Text, delta).await
    }

    /// More reasoning.
    pub async fn reasoning(&mut self, delta: &str) -> Result<(), Gone> {
        self.delta(PartKind::Reasoning, delta).await
    }

    /// Ends the open reasoning part, with the thinking block's signature on its `reasoning-end`.
    pub async fn reasoning_end(&mut self, signature: Option<String>) -> Result<(), Gone> {
        match self.open.as_mut().filter(|o| o.kind == PartKind::Reasoning) {
            Some(open) => open.signature = signature,
            None => return Ok(()),
        }
        self.close_part().await
    }

    /// Closes the open text or reasoning part, if any.
    pub async fn close_part(&mut self) -> Result<(), Gone> {
        let Some(open) = self.open.take() else { return Ok(()) };
        match open.kind {
            PartKind::Text => self.send(Chunk::TextEnd { id: &open.id }).await,
            PartKind::Reasoning => {
                let metadata = open.signature.map(|s| json!({"anthropic": {"signature": s}}));
                if let (Some(metadata), Some(part)) = (&metadata, self.parts.get_mut(open.index)) {
                    part["providerMetadata"] = metadata.clone();
                }
                self.send(Chunk::ReasoningEnd { id: &open.id, provider_metadata: metadata.as_ref() }).await
            }
        }
    }

    async fn delta(&mut self, kind: PartKind, text: &str) -> Result<(), Gone> {
        if self.open.as_ref().is_none_or(|open| open.kind != kind) {
            self.close_part().await?;
            let (name, id) = match kind {
                PartKind::Text => ("text", format!("text-{}", uuid::Uuid::new_v4().simple())),
                PartKind::Reasoning => ("reasoning", format!("reasoning-{}", uuid::Uuid::new_v4().simple())),
            };
            self.send(match kind {
                PartKind::Text => Chunk::TextStart { id: &id },
                PartKind::Reasoning => Chunk::ReasoningStart { id: &id },
            })
            .await?;
            self.parts.push(json!({"type": name, "text": "", "state": "done"}));
            self.open = Some(Open { kind, id, index: self.parts.len() - 1, signature: None });
        }
        let Some(open) = &self.open else { return Ok(()) };
        if let Some(Value::String(stored)) = self.parts.get_mut(open.index).and_then(|p| p.get_mut("text")) {
            stored.push_str(text);
        }
        self.send(match kind {
            PartKind::Text => Chunk::TextDelta { id: &open.id, delta: text },
            PartKind::Reasoning => Chunk::ReasoningDelta { id: &open.id, delta: text },
        })
        .await
    }

    /// The model started a tool call.
    pub async fn tool_start(&mut self, id: &str, name: &str) -> Result<(), Gone> {
        self.close_part().await?;
        self.parts.push(json!({"type": format!("tool-{name}"), "toolCallId": id, "state": "input-streaming"}));
        self.send(Chunk::ToolInputStart { tool_call_id: id, tool_name: name }).await
    }

    /// More of a call's arguments.
    pub async fn tool_delta(&mut self, id: &str, delta: &str) -> Result<(), Gone> {
        self.send(Chunk::ToolInputDelta { tool_call_id: id, input_text_delta: delta }).await
    }

    /// A call's complete arguments.
    pub async fn tool_input(&mut self, id: &str, name: &str, input: &Value) -> Result<(), Gone> {
        self.tool_part(id, name, json!({"state": "input-available", "input": input}));
        self.send(Chunk::ToolInputAvailable { tool_call_id: id, tool_name: name, input }).await
    }

    /// A call whose arguments were not JSON: it does not run. Stored as the AI SDK stores it: no
    /// `input`, the text as `rawInput`.
    pub async fn tool_input_error(&mut self, id: &str, name: &str, raw: &str, error: &str) -> Result<(), Gone> {
        let input = Value::String(raw.to_owned());
        self.tool_part(id, name, json!({"state": "output-error", "rawInput": raw, "errorText": error}));
        self.send(Chunk::ToolInputError { tool_call_id: id, tool_name: name, input: &input, error_text: error }).await
    }

    /// A call that waits for the user's approval: it does not run in this turn.
    pub async fn tool_approval_request(&mut self, id: &str, name: &str, approval_id: &str) -> Result<(), Gone> {
        self.tool_part(id, name, json!({"state": "approval-requested", "approval": {"id": approval_id}}));
        self.send(Chunk::ToolApprovalRequest { approval_id, tool_call_id: id }).await
    }

    /// A call the user denied.
    pub async fn tool_denied(&mut self, id: &str, name: &str) -> Result<(), Gone> {
        self.tool_part(id, name, json!({"state": "output-denied"}));
        self.send(Chunk::ToolOutputDenied { tool_call_id: id }).await
    }

    /// What a call returned.
    pub async fn tool_output(&mut self, id: &str, name: &str, output: &Value) -> Result<(), Gone> {
        self.tool_part(id, name, json!({"state": "output-available", "output": output}));
        self.send(Chunk::ToolOutputAvailable { tool_call_id: id, output }).await
    }

    /// A call that failed.
    pub async fn tool_error(&mut self, id: &str, name: &str, error: &str) -> Result<(), Gone> {
        self.tool_part(id, name, json!({"state": "output-error", "errorText": error}));
        self.send(Chunk::ToolOutputError { tool_call_id: id, error_text: error }).await
    }

    /// Updates (or adds) the stored part of a call with `fields`. Searched from the end: some
    /// OpenAI-compatible servers reuse call ids from one step to the next.
    fn tool_part(&mut self, id: &str, name: &str, fields: Value) {
        let found = self.parts.iter().rposition(|p| p["toolCallId"] == id);
        let index = found.unwrap_or_else(|| {
            self.parts.push(json!({"type": format!("tool-{name}"), "toolCallId": id}));
            self.parts.len() - 1
        });
        if let (Some(part), Value::Object(fields)) = (self.parts.get_mut(index).and_then(Value::as_object_mut), fields)
        {
            part.extend(fields);
        }
    }

    /// One retrieval hit as a source chip.
    pub async fn source(&mut self, source_id: &str, title: &str, metadata: &Value) -> Result<(), Gone> {
        self.parts.push(json!({"type": "source-document", "sourceId": source_id, "mediaType": "text/plain",
            "title": title, "providerMetadata": metadata}));
        self.send(Chunk::SourceDocument { source_id, media_type: "text/plain", title, provider_metadata: metadata })
            .await
    }

    /// A text part written by augchatd itself (step cap, connector 401); returns its id,
    /// `<prefix>-<epoch ms>` (SPEC §4.2 item 7).
    pub async fn notice(&mut self, prefix: &str, text: &str) -> Result<String, Gone> {
        self.close_part().await?;
        let id = format!("{prefix}-{}", epoch_millis());
        self.send(Chunk::TextStart { id: &id }).await?;
        self.send(Chunk::TextDelta { id: &id, delta: text }).await?;
        self.send(Chunk::TextEnd { id: &id }).await?;
        self.parts.push(json!({"type": "text", "text": text, "state": "done"}));
        Ok(id)
    }

    /// The `data-augchatd-error` part that makes the UI fetch a fresh JWT.
    pub async fn augchatd_error(&mut self, id: &str, data: &Value) -> Result<(), Gone> {
        self.parts.push(json!({"type": "data-augchatd-error", "id": id, "data": data}));
        self.send(Chunk::AugchatdError { id, data }).await
    }
}

fn epoch_millis() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_gone_after_the_slow_client_bound() {
        let (tx, mut rx) = mpsc::channel(1);
        let out = Out::new(tx, Duration::from_secs(30));
        out.raw(Bytes::from_static(b"one")).await.unwrap();
        let started = Instant::now();
        assert!(out.raw(Bytes::from_static(b"two")).await.is_err(), "the buffer stayed full");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert_eq!(rx.recv().await.unwrap(), Bytes::from_static(b"one"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_within_the_bound_gets_every_chunk() {
        let (tx, mut rx) = mpsc::channel(1);
        let out = Out::new(tx, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(chunk) = rx.recv().await {
                tokio::time::sleep(Duration::from_secs(10)).await;
                got.push(chunk);
            }
            got
        });
        for chunk in [b"a", b"b", b"c"] {
            out.raw(Bytes::from_static(chunk)).await.unwrap();
        }
        drop(out);
        assert_eq!(reader.await.unwrap().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_sends_a_keepalive_after_a_quiet_second_and_reports_a_departed_client() {
        let (tx, mut rx) = mpsc::channel(8);
        let mut out = Out::new(tx, Duration::from_secs(30));
        tokio::select! {
            _ = out.idle() => panic!("the client is still there"),
            () = tokio::time::sleep(Duration::from_millis(2500)) => {}
        }
        assert_eq!(rx.recv().await.unwrap(), Bytes::from_static(KEEPALIVE));
        assert_eq!(rx.recv().await.unwrap(), Bytes::from_static(KEEPALIVE));
        assert!(rx.try_recv().is_err(), "two quiet seconds, two keep-alives");
        drop(rx);
        let _gone: Gone = out.idle().await;
    }
}
