//! The browser stream: the AI SDK "UI message stream" protocol v1 over SSE (SPEC §4).
//! Each chunk is one `data: <json>\n\n` event; the stream ends with `data: [DONE]\n\n`. Keep-alive
//! comments fill long silences. Only the documented keys are emitted: older `ai` clients parse chunks
//! with strict schemas and reject any extra key (UI-TOOLCHAIN P8).

use actix_web::HttpResponseBuilder;
use actix_web::web::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::llm::Usage;

/// The last event of every stream.
pub const DONE: &[u8] = b"data: [DONE]\n\n";
/// An SSE comment; the client ignores it, proxies see traffic (SPEC §4.6).
pub const KEEPALIVE: &[u8] = b": keepalive\n\n";

/// `messageMetadata` of `start` and `finish`, and the stored message's `metadata`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MessageMetadata {
    /// `{"augchatd": {"model_id", "provider", "usage"?, "fallback_from"?}}`.
    pub augchatd: AugchatdMetadata,
}

/// augchatd's part of a message's metadata. `start` carries the model only; `finish` and the stored
/// message add what the turn used and, when a fallback model answered, the model it stood in for. The
/// AI SDK merges `finish` metadata into `start` metadata, so the client ends with the answering model.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AugchatdMetadata {
    /// The model that answered (on `start`: the one asked first).
    #[serde(flatten)]
    pub model: ModelTag,
    /// Token counts summed over every model call of the turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The session's model, when it failed and a fallback model answered instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_from: Option<ModelTag>,
}

impl MessageMetadata {
    /// The metadata of `start`: the model only.
    pub fn model(model: ModelTag) -> Self {
        MessageMetadata { augchatd: AugchatdMetadata { model, usage: None, fallback_from: None } }
    }
}

/// The model that produced a message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModelTag {
    /// The resolved model id of the turn.
    pub model_id: String,
    /// The model's provider.
    pub provider: String,
}

/// Why the model stopped, as the AI SDK names it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FinishReason {
    /// A final answer.
    Stop,
    /// A token limit: the model's output limit, or the session's `max_tokens` budget.
    Length,
    /// The model still wanted tools when the loop ended.
    ToolCalls,
    /// The provider failed mid-way.
    Error,
    /// The turn was cut short on purpose: stopped, or no client came back in time.
    Other,
}

/// One chunk of the UI message stream.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Chunk<'a> {
    /// Opens the assistant message.
    #[serde(rename_all = "camelCase")]
    Start {
        /// Server-generated assistant message id.
        message_id: &'a str,
        /// The model chip.
        message_metadata: &'a MessageMetadata,
    },
    /// Opens one model call.
    StartStep,
    /// Opens a text part.
    TextStart {
        /// Part id, repeated on its deltas and end.
        id: &'a str,
    },
    /// Appends to a text part.
    TextDelta {
        /// The part's id.
        id: &'a str,
        /// The new text.
        delta: &'a str,
    },
    /// Closes a text part.
    TextEnd {
        /// The part's id.
        id: &'a str,
    },
    /// Opens a reasoning part.
    ReasoningStart {
        /// Part id, repeated on its deltas and end.
        id: &'a str,
    },
    /// Appends to a reasoning part.
    ReasoningDelta {
        /// The part's id.
        id: &'a str,
        /// The new reasoning text.
        delta: &'a str,
    },
    /// Closes a reasoning part.
    #[serde(rename_all = "camelCase")]
    ReasoningEnd {
        /// The part's id.
        id: &'a str,
        /// `{"anthropic": {"signature"}}` when the provider signed the block; the client keeps it.
        #[serde(skip_serializing_if = "Option::is_none")]
        provider_metadata: Option<&'a Value>,
    },
    /// The model started a tool call.
    #[serde(rename_all = "camelCase")]
    ToolInputStart {
        /// The call id.
        tool_call_id: &'a str,
        /// `<descriptive_id>__<tool>`.
        tool_name: &'a str,
    },
    /// More of the call's arguments as JSON text.
    #[serde(rename_all = "camelCase")]
    ToolInputDelta {
        /// The call id.
        tool_call_id: &'a str,
        /// The new piece.
        input_text_delta: &'a str,
    },
    /// The call's complete arguments.
    #[serde(rename_all = "camelCase")]
    ToolInputAvailable {
        /// The call id.
        tool_call_id: &'a str,
        /// The tool.
        tool_name: &'a str,
        /// The arguments.
        input: &'a Value,
    },
    /// The model's arguments were not JSON; the call does not run.
    #[serde(rename_all = "camelCase")]
    ToolInputError {
        /// The call id.
        tool_call_id: &'a str,
        /// The tool.
        tool_name: &'a str,
        /// The raw arguments.
        input: &'a Value,
        /// Why the call did not run.
        error_text: &'a str,
    },
    /// The call waits for the user's approval; the browser answers on its next `POST /chat`.
    #[serde(rename_all = "camelCase")]
    ToolApprovalRequest {
        /// The approval's id, answered with the part's `approval.id`.
        approval_id: &'a str,
        /// The call id.
        tool_call_id: &'a str,
    },
    /// The user denied the call; it did not run.
    #[serde(rename_all = "camelCase")]
    ToolOutputDenied {
        /// The call id.
        tool_call_id: &'a str,
    },
    /// What the tool returned.
    #[serde(rename_all = "camelCase")]
    ToolOutputAvailable {
        /// The call id.
        tool_call_id: &'a str,
        /// The result, as the model saw it.
        output: &'a Value,
    },
    /// The tool failed; the model saw this text as the result.
    #[serde(rename_all = "camelCase")]
    ToolOutputError {
        /// The call id.
        tool_call_id: &'a str,
        /// What went wrong, without URLs or credentials.
        error_text: &'a str,
    },
    /// One retrieval hit, for a source chip (SPEC §4.2 item 6).
    #[serde(rename_all = "camelCase")]
    SourceDocument {
        /// `<toolCallId>:<doc_id>`.
        source_id: &'a str,
        /// Always `text/plain`.
        media_type: &'a str,
        /// The chip's label.
        title: &'a str,
        /// `{"augchatd": {source_descriptive_id, index, doc_id, score, snippet}}`.
        provider_metadata: &'a Value,
    },
    /// `data-augchatd-error`: tells the UI to fetch a fresh JWT (SPEC §5.5).
    #[serde(rename = "data-augchatd-error")]
    AugchatdError {
        /// The id of the warning text part it goes with.
        id: &'a str,
        /// `{"code": "upstream_unauthorized", "connectors": […]}`.
        data: &'a Value,
    },
    /// Closes one model call.
    FinishStep,
    /// Closes the assistant message.
    #[serde(rename_all = "camelCase")]
    Finish {
        /// Why the last step ended.
        finish_reason: FinishReason,
        /// The model chip again.
        message_metadata: &'a MessageMetadata,
    },
    /// The turn was cut short on purpose (as the AI SDK's own server marks an aborted generation); a
    /// `finish` follows.
    Abort {
        /// `stopped` (the stop endpoint) or `unattended` (no client within the resume window).
        reason: &'a str,
    },
    /// A failure after the 200 went out; the text is ours, never upstream's.
    #[serde(rename_all = "camelCase")]
    Error {
        /// What the user sees.
        error_text: &'a str,
    },
}

impl Chunk<'_> {
    /// The chunk as one SSE event.
    pub fn to_event(&self) -> Bytes {
        let mut event = Vec::with_capacity(96);
        event.extend_from_slice(b"data: ");
        // Serializing these plain structs cannot fail; an empty object would still keep the stream parseable.
        if serde_json::to_writer(&mut event, self).is_err() {
            event.extend_from_slice(b"{}");
        }
        event.extend_from_slice(b"\n\n");
        Bytes::from(event)
    }
}

/// Sets the response headers of a UI message stream (`UI_MESSAGE_STREAM_HEADERS` of the AI SDK).
pub fn stream_headers(response: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    response
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-vercel-ai-ui-message-stream", "v1"))
        .insert_header(("x-accel-buffering", "no"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn chunks_serialize_to_the_documented_shapes() {
        let meta = MessageMetadata::model(ModelTag { model_id: "m".into(), provider: "p".into() });
        let finished = MessageMetadata {
            augchatd: AugchatdMetadata {
                model: ModelTag { model_id: "f".into(), provider: "p2".into() },
                usage: Some(Usage { input_tokens: 9, output_tokens: 2, cache_read_tokens: 8, ..Usage::default() }),
                fallback_from: Some(ModelTag { model_id: "m".into(), provider: "p".into() }),
            },
        };
        let signed = serde_json::json!({"anthropic": {"signature": "s"}});
        let input = serde_json::json!({"q": 1});
        let output = serde_json::json!("ok");
        let cases: Vec<(Chunk<'_>, &str)> = vec![
            (
                Chunk::Start { message_id: "a1", message_metadata: &meta },
                r#"{"type":"start","messageId":"a1","messageMetadata":{"augchatd":{"model_id":"m","provider":"p"}}}"#,
            ),
            (Chunk::StartStep, r#"{"type":"start-step"}"#),
            (Chunk::TextStart { id: "t" }, r#"{"type":"text-start","id":"t"}"#),
            (Chunk::TextDelta { id: "t", delta: "hi \"x\"" }, r#"{"type":"text-delta","id":"t","delta":"hi \"x\""}"#),
            (Chunk::TextEnd { id: "t" }, r#"{"type":"text-end","id":"t"}"#),
            (Chunk::ReasoningEnd { id: "r", provider_metadata: None }, r#"{"type":"reasoning-end","id":"r"}"#),
            (
                Chunk::ReasoningEnd { id: "r", provider_metadata: Some(&signed) },
                r#"{"type":"reasoning-end","id":"r","providerMetadata":{"anthropic":{"signature":"s"}}}"#,
            ),
            (
                Chunk::ToolInputStart { tool_call_id: "c", tool_name: "d__t" },
                r#"{"type":"tool-input-start","toolCallId":"c","toolName":"d__t"}"#,
            ),
            (
                Chunk::ToolInputDelta { tool_call_id: "c", input_text_delta: "{" },
                r#"{"type":"tool-input-delta","toolCallId":"c","inputTextDelta":"{"}"#,
            ),
            (
                Chunk::ToolInputAvailable { tool_call_id: "c", tool_name: "d__t", input: &input },
                r#"{"type":"tool-input-available","toolCallId":"c","toolName":"d__t","input":{"q":1}}"#,
            ),
            (
                Chunk::ToolOutputAvailable { tool_call_id: "c", output: &output },
                r#"{"type":"tool-output-available","toolCallId":"c","output":"ok"}"#,
            ),
            (
                Chunk::ToolApprovalRequest { approval_id: "a", tool_call_id: "c" },
                r#"{"type":"tool-approval-request","approvalId":"a","toolCallId":"c"}"#,
            ),
            (Chunk::ToolOutputDenied { tool_call_id: "c" }, r#"{"type":"tool-output-denied","toolCallId":"c"}"#),
            (
                Chunk::ToolOutputError { tool_call_id: "c", error_text: "no" },
                r#"{"type":"tool-output-error","toolCallId":"c","errorText":"no"}"#,
            ),
            (
                Chunk::AugchatdError { id: "x", data: &input },
                r#"{"type":"data-augchatd-error","id":"x","data":{"q":1}}"#,
            ),
            (Chunk::FinishStep, r#"{"type":"finish-step"}"#),
            (
                Chunk::Finish { finish_reason: FinishReason::ToolCalls, message_metadata: &meta },
                r#"{"type":"finish","finishReason":"tool-calls","messageMetadata":{"augchatd":{"model_id":"m","provider":"p"}}}"#,
            ),
            (
                Chunk::Finish { finish_reason: FinishReason::Stop, message_metadata: &finished },
                concat!(
                    r#"{"type":"finish","finishReason":"stop","messageMetadata":{"augchatd":{"model_id":"f","provider":"p2","#,
                    r#""usage":{"input_tokens":9,"output_tokens":2,"cache_read_tokens":8,"cache_write_tokens":0,"reasoning_tokens":0},"#,
                    r#""fallback_from":{"model_id":"m","provider":"p"}}}}"#
                ),
            ),
            (Chunk::Abort { reason: "stopped" }, r#"{"type":"abort","reason":"stopped"}"#),
            (Chunk::Error { error_text: "An error occurred." }, r#"{"type":"error","errorText":"An error occurred."}"#),
        ];
        for (chunk, json) in cases {
            assert_eq!(chunk.to_event(), Bytes::from(format!("data: {json}\n\n")));
        }
    }
}
