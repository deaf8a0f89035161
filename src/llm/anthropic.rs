//! Anthropic Messages API, streaming: request building and the translation of its SSE events.
//! Thinking is requested for `*sonnet*` and `*opus*` models (SPEC §5.7).

use serde::Deserialize;
use serde_json::{Value, json};

use super::LlmEvent;
use super::error::LlmError;
use super::history::{TextTurn, role_content};
use super::sse::Adapter;
use crate::stream::FinishReason;

/// The API version this adapter speaks.
pub const API_VERSION: &str = "2023-06-01";
/// Thinking budget for reasoning models (SPEC §5.7); `max_tokens` must exceed it.
const THINKING_BUDGET: u32 = 2048;

/// Whether a model gets `thinking` (SPEC §5.7, §11 #58).
fn thinks(model_id: &str) -> bool {
    model_id.contains("sonnet") || model_id.contains("opus")
}

/// The JSON body of a streaming Messages call.
pub fn body(model_id: &str, system: &str, turns: &[TextTurn]) -> Value {
    let messages = role_content(turns);
    let mut body =
        json!({"model": model_id, "system": system, "messages": messages, "stream": true, "max_tokens": 4096});
    if thinks(model_id) {
        body["max_tokens"] = json!(8192);
        body["thinking"] = json!({"type": "enabled", "budget_tokens": THINKING_BUDGET});
    }
    body
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    ContentBlockDelta {
        delta: Delta,
    },
    MessageDelta {
        delta: MessageDelta,
    },
    MessageStop,
    Error {
        error: WireError,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: String },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDelta {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: String,
}

/// Translation state of one call.
#[derive(Default)]
pub struct Anthropic {
    stop_reason: Option<String>,
    done: bool,
}

impl Adapter for Anthropic {
    fn on_event(&mut self, _event: &str, data: &str) -> Result<Vec<LlmEvent>, LlmError> {
        let wire: Wire = serde_json::from_str(data).map_err(|_| LlmError::Malformed)?;
        Ok(match wire {
            Wire::ContentBlockDelta { delta: Delta::Text { text } } => vec![LlmEvent::TextDelta(text)],
            Wire::ContentBlockDelta { delta: Delta::Thinking { thinking } } => {
                vec![LlmEvent::ReasoningDelta(thinking)]
            }
            Wire::MessageDelta { delta } => {
                self.stop_reason = delta.stop_reason.or(self.stop_reason.take());
                vec![]
            }
            Wire::MessageStop => {
                self.done = true;
                let reason = match self.stop_reason.as_deref() {
                    Some("max_tokens") => FinishReason::Length,
                    Some("tool_use") => FinishReason::ToolCalls,
                    _ => FinishReason::Stop,
                };
                vec![LlmEvent::Finished(reason)]
            }
            Wire::Error { error } if error.kind == "overloaded_error" => return Err(LlmError::Overloaded),
            Wire::Error { .. } => return Err(LlmError::Upstream(500)),
            Wire::ContentBlockDelta { delta: Delta::Other } | Wire::Other => {
                tracing::debug!("anthropic event skipped");
                vec![]
            }
        })
    }

    fn finished(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn thinking_is_requested_for_sonnet_and_opus_only() {
        // SPEC §11 #58
        assert_eq!(body("claude-sonnet-4-5", "s", &[])["thinking"], json!({"type": "enabled", "budget_tokens": 2048}));
        assert!(body("claude-opus-4-7", "s", &[])["max_tokens"].as_u64().unwrap() > 2048);
        assert!(body("claude-haiku-4-5", "s", &[]).get("thinking").is_none());
    }

    #[test]
    fn events_translate_to_text_reasoning_and_a_finish() {
        let mut a = Anthropic::default();
        let events = [
            r#"{"type":"message_start","message":{"id":"m"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"x"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let out: Vec<LlmEvent> = events.iter().flat_map(|d| a.on_event("", d).unwrap()).collect();
        assert_eq!(
            out,
            [
                LlmEvent::ReasoningDelta("hm".into()),
                LlmEvent::TextDelta("Hi".into()),
                LlmEvent::Finished(FinishReason::Length)
            ]
        );
        assert!(a.finished());
        assert!(matches!(
            Anthropic::default()
                .on_event("error", r#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#),
            Err(LlmError::Overloaded)
        ));
        assert!(matches!(Anthropic::default().on_event("", "{oops"), Err(LlmError::Malformed)));
    }
}
