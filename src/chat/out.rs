//! The browser end of a turn: every chunk, written onto the turn's tape (which its readers stream),
//! and the assistant message assembled from the same calls exactly as the AI SDK client assembles it,
//! so what is stored is what the user saw. Writing never waits for a client.
//! Invariant: a `*-delta` is only ever sent inside its `*-start`/`*-end`; at most one text or
//! reasoning part is open, and it is closed before any other chunk kind.

use std::sync::Arc;

use actix_web::web::Bytes;
use serde_json::{Value, json};

use super::tape::Tape;
use crate::stream::{Chunk, DONE, FinishReason, MessageMetadata};

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
    /// Its text so far, kept here and written into the stored part when it closes: a lookup in the
    /// part's JSON per token was a visible share of the relay's CPU (benches/limits).
    text: String,
}

/// Sends chunks and keeps the message they add up to.
pub struct Out {
    tape: Arc<Tape>,
    parts: Vec<Value>,
    open: Option<Open>,
    /// A `start-step` has no `finish-step` yet.
    in_step: bool,
}

impl Out {
    /// Writes onto the turn's tape.
    pub fn new(tape: Arc<Tape>) -> Self {
        Out { tape, parts: Vec::new(), open: None, in_step: false }
    }

    /// Continues an assistant message that already has `parts` (a turn resumed after a tool approval), so
    /// what is stored is the whole message.
    pub fn continuing(mut self, parts: Vec<Value>) -> Self {
        self.parts = parts;
        self
    }

    /// The assistant message's parts so far, the open one's text included.
    pub fn parts(&self) -> Value {
        let mut parts = self.parts.clone();
        if let Some((open, part)) = self.open.as_ref().and_then(|o| Some((o, parts.get_mut(o.index)?))) {
            part["text"] = Value::String(open.text.clone());
        }
        Value::Array(parts)
    }

    /// True once anything of the reply itself (text, reasoning, a tool call, a notice) was sent: from then
    /// on the turn cannot start over with another model without the user seeing it twice.
    pub fn replied(&self) -> bool {
        self.parts.iter().any(|part| part["type"] != "step-start")
    }

    /// Sends bytes as they are; never waits for a reader.
    pub fn raw(&self, bytes: Bytes) {
        self.tape.push(bytes);
    }

    /// Sends one chunk.
    pub fn send(&self, chunk: Chunk<'_>) {
        self.raw(chunk.to_event());
    }

    /// Opens one model call.
    pub fn step_start(&mut self) {
        self.in_step = true;
        self.parts.push(json!({"type": "step-start"}));
        self.send(Chunk::StartStep)
    }

    /// Closes one model call.
    pub fn step_end(&mut self) {
        self.close_part();
        self.in_step = false;
        self.send(Chunk::FinishStep)
    }

    /// More answer text.
    pub fn text(&mut self, delta: &str) {
        self.delta(PartKind::Text, delta)
    }

    /// More reasoning.
    pub fn reasoning(&mut self, delta: &str) {
        self.delta(PartKind::Reasoning, delta)
    }

    /// Ends the open reasoning part, with the thinking block's signature on its `reasoning-end`.
    pub fn reasoning_end(&mut self, signature: Option<String>) {
        match self.open.as_mut().filter(|o| o.kind == PartKind::Reasoning) {
            Some(open) => open.signature = signature,
            None => return,
        }
        self.close_part()
    }

    /// Closes the open text or reasoning part, if any.
    pub fn close_part(&mut self) {
        let Some(open) = self.open.take() else { return };
        if let Some(part) = self.parts.get_mut(open.index) {
            part["text"] = Value::String(open.text);
        }
        match open.kind {
            PartKind::Text => self.send(Chunk::TextEnd { id: &open.id }),
            PartKind::Reasoning => {
                let metadata = open.signature.map(|s| json!({"anthropic": {"signature": s}}));
                if let (Some(metadata), Some(part)) = (&metadata, self.parts.get_mut(open.index)) {
                    part["providerMetadata"] = metadata.clone();
                }
                self.send(Chunk::ReasoningEnd { id: &open.id, provider_metadata: metadata.as_ref() })
            }
        }
    }

    fn delta(&mut self, kind: PartKind, text: &str) {
        if self.open.as_ref().is_none_or(|open| open.kind != kind) {
            self.close_part();
            let (name, id) = match kind {
                PartKind::Text => ("text", format!("text-{}", uuid::Uuid::new_v4().simple())),
                PartKind::Reasoning => ("reasoning", format!("reasoning-{}", uuid::Uuid::new_v4().simple())),
            };
            self.send(match kind {
                PartKind::Text => Chunk::TextStart { id: &id },
                PartKind::Reasoning => Chunk::ReasoningStart { id: &id },
            });
            self.parts.push(json!({"type": name, "text": "", "state": "done"}));
            self.open = Some(Open { kind, id, index: self.parts.len() - 1, signature: None, text: String::new() });
        }
        let Some(open) = &mut self.open else { return };
        open.text.push_str(text);
        let chunk = match kind {
            PartKind::Text => Chunk::TextDelta { id: &open.id, delta: text },
            PartKind::Reasoning => Chunk::ReasoningDelta { id: &open.id, delta: text },
        };
        self.tape.push(chunk.to_event())
    }

    /// The model started a tool call.
    pub fn tool_start(&mut self, id: &str, name: &str) {
        self.close_part();
        self.parts.push(json!({"type": format!("tool-{name}"), "toolCallId": id, "state": "input-streaming"}));
        self.send(Chunk::ToolInputStart { tool_call_id: id, tool_name: name })
    }

    /// More of a call's arguments.
    pub fn tool_delta(&mut self, id: &str, delta: &str) {
        self.send(Chunk::ToolInputDelta { tool_call_id: id, input_text_delta: delta })
    }

    /// A call's complete arguments.
    pub fn tool_input(&mut self, id: &str, name: &str, input: &Value) {
        self.tool_part(id, name, json!({"state": "input-available", "input": input}));
        self.send(Chunk::ToolInputAvailable { tool_call_id: id, tool_name: name, input })
    }

    /// A call whose arguments were not JSON: it does not run. Stored as the AI SDK stores it: no
    /// `input`, the text as `rawInput`.
    pub fn tool_input_error(&mut self, id: &str, name: &str, raw: &str, error: &str) {
        let input = Value::String(raw.to_owned());
        self.tool_part(id, name, json!({"state": "output-error", "rawInput": raw, "errorText": error}));
        self.send(Chunk::ToolInputError { tool_call_id: id, tool_name: name, input: &input, error_text: error })
    }

    /// A call that waits for the user's approval: it does not run in this turn.
    pub fn tool_approval_request(&mut self, id: &str, name: &str, approval_id: &str) {
        self.tool_part(id, name, json!({"state": "approval-requested", "approval": {"id": approval_id}}));
        self.send(Chunk::ToolApprovalRequest { approval_id, tool_call_id: id })
    }

    /// A call the user denied.
    pub fn tool_denied(&mut self, id: &str, name: &str) {
        self.tool_part(id, name, json!({"state": "output-denied"}));
        self.send(Chunk::ToolOutputDenied { tool_call_id: id })
    }

    /// What a call returned.
    pub fn tool_output(&mut self, id: &str, name: &str, output: &Value) {
        self.tool_part(id, name, json!({"state": "output-available", "output": output}));
        self.send(Chunk::ToolOutputAvailable { tool_call_id: id, output })
    }

    /// A call that failed.
    pub fn tool_error(&mut self, id: &str, name: &str, error: &str) {
        self.tool_part(id, name, json!({"state": "output-error", "errorText": error}));
        self.send(Chunk::ToolOutputError { tool_call_id: id, error_text: error })
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
    pub fn source(&mut self, source_id: &str, title: &str, metadata: &Value) {
        self.parts.push(json!({"type": "source-document", "sourceId": source_id, "mediaType": "text/plain",
            "title": title, "providerMetadata": metadata}));
        self.send(Chunk::SourceDocument { source_id, media_type: "text/plain", title, provider_metadata: metadata })
    }

    /// A text part written by augchatd itself (step cap, connector 401); returns its id,
    /// `<prefix>-<epoch ms>` (SPEC §4.2 item 7).
    pub fn notice(&mut self, prefix: &str, text: &str) -> String {
        self.close_part();
        let id = format!("{prefix}-{}", epoch_millis());
        self.send(Chunk::TextStart { id: &id });
        self.send(Chunk::TextDelta { id: &id, delta: text });
        self.send(Chunk::TextEnd { id: &id });
        self.parts.push(json!({"type": "text", "text": text, "state": "done"}));
        id
    }

    /// The `data-augchatd-error` part that makes the UI fetch a fresh JWT.
    pub fn augchatd_error(&mut self, id: &str, data: &Value) {
        self.parts.push(json!({"type": "data-augchatd-error", "id": id, "data": data}));
        self.send(Chunk::AugchatdError { id, data })
    }

    /// Closes the open part and step of a turn cut short on purpose (stopped, or unattended past the
    /// resume window), so the stored message and every reader have whole parts.
    pub fn cut_short(&mut self) {
        self.close_part();
        if std::mem::take(&mut self.in_step) {
            self.send(Chunk::FinishStep);
        }
    }

    /// The end of a turn cut short, once what it produced is stored: `abort` with its reason and a
    /// `finish`, so every reader sees a clear end, not a lost connection.
    pub fn abort(&self, reason: &str, metadata: &MessageMetadata) {
        self.send(Chunk::Abort { reason });
        self.send(Chunk::Finish { finish_reason: FinishReason::Other, message_metadata: metadata });
        self.raw(Bytes::from_static(DONE));
    }
}

fn epoch_millis() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use futures_util::StreamExt;

    use super::*;
    use crate::stream::ModelTag;

    #[tokio::test]
    async fn an_aborted_turn_closes_its_part_and_step_and_ends_with_abort_and_finish() {
        let (tape, reader) = Tape::new();
        let mut out = Out::new(Arc::clone(&tape));
        out.step_start();
        out.text("Hel");
        let metadata = MessageMetadata::model(ModelTag { model_id: "m".into(), provider: "p".into() });
        out.cut_short();
        out.abort("stopped", &metadata);
        tape.close();
        let pieces: Vec<_> = reader.into_stream().collect().await;
        let body: String = pieces.into_iter().map(|p| String::from_utf8(p.unwrap().to_vec()).unwrap()).collect();
        let types: Vec<String> = body
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .map(|data| {
                serde_json::from_str::<Value>(data).map_or(data.to_owned(), |v| v["type"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(
            types,
            ["start-step", "text-start", "text-delta", "text-end", "finish-step", "abort", "finish", "[DONE]"]
        );
        assert!(body.contains(r#"{"type":"abort","reason":"stopped"}"#), "{body}");
        assert!(body.contains(r#""finishReason":"other""#), "{body}");
        assert_eq!(out.parts(), json!([{"type": "step-start"}, {"type": "text", "text": "Hel", "state": "done"}]));
    }
}
