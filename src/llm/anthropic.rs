//! Anthropic Messages API, streaming: request building and the translation of its SSE events.
//! Thinking is requested for `*sonnet*` and `*opus*` models (SPEC §5.7). A tool call's input arrives
//! as `input_json_delta` pieces split anywhere; it is parsed once, when its block stops.
//! Prompt caching: the system prompt and the tool list (through its last definition) carry
//! `cache_control: ephemeral`, so the steps of a tool loop and the next turns read them from the cache.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::LlmError;
use super::sse::Adapter;
use super::transcript::{Item, anthropic_messages};
use super::{LlmEvent, ToolSpec, Usage};
use crate::stream::FinishReason;

/// The API version this adapter speaks.
pub const API_VERSION: &str = "2023-06-01";
/// Thinking budget for reasoning models (SPEC §5.7); `max_tokens` must exceed it.
const THINKING_BUDGET: u32 = 2048;
/// Anthropic's prompt-cache marker (five-minute lifetime). A prefix shorter than the model's minimum
/// (1024 tokens for most) is simply not cached, at no cost.
fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

/// Whether a model gets `thinking` (SPEC §5.7, §11 #58).
fn thinks(model_id: &str) -> bool {
    model_id.contains("sonnet") || model_id.contains("opus")
}

/// The JSON body of a streaming Messages call. Reasoning goes back only to a model that thinks.
pub fn body(model_id: &str, system: &str, items: &[Item], tools: &[ToolSpec]) -> Value {
    let thinking = thinks(model_id);
    let kept: Vec<Item> = items
        .iter()
        .filter(|i| thinking || !matches!(i, Item::Reasoning { .. } | Item::RedactedReasoning(_)))
        .cloned()
        .collect();
    let messages = anthropic_messages(&kept);
    // A cache breakpoint caches everything before it: tools, then the system prompt (Anthropic's order).
    let system = json!([{"type": "text", "text": system, "cache_control": ephemeral()}]);
    let mut body =
        json!({"model": model_id, "system": system, "messages": messages, "stream": true, "max_tokens": 4096});
    if thinks(model_id) {
        body["max_tokens"] = json!(8192);
        body["thinking"] = json!({"type": "enabled", "budget_tokens": THINKING_BUDGET});
    }
    if !tools.is_empty() {
        let mut definitions: Vec<Value> = tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
            .collect();
        if let Some(last) = definitions.last_mut() {
            last["cache_control"] = ephemeral();
        }
        body["tools"] = Value::Array(definitions);
    }
    body
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    MessageStart {
        message: StartedMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: Block,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDelta,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop,
    Error {
        error: WireError,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    ToolUse {
        id: String,
        name: String,
    },
    Thinking,
    RedactedThinking {
        data: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct StartedMessage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// `usage` of `message_start` (the prompt's counts) and of `message_delta` (cumulative; the output count,
/// and the prompt's counts again when the API gives them there).
#[derive(Deserialize, Default, Clone, Copy)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // the wire's own names
enum Delta {
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
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

/// A tool-use block being streamed.
struct OpenCall {
    id: String,
    name: String,
    json: String,
}

/// Translation state of one call.
#[derive(Default)]
pub struct Anthropic {
    calls: HashMap<u32, OpenCall>,
    /// Open thinking blocks by index, with their signature so far.
    thinking: HashMap<u32, Option<String>>,
    usage: Usage,
    /// Prompt tokens neither read from nor written to the cache (Anthropic's `input_tokens`).
    uncached_input: u64,
    stop_reason: Option<String>,
    done: bool,
}

impl Anthropic {
    /// Takes the counts a usage object has; each is cumulative, so a later one replaces an earlier one.
    fn count(&mut self, usage: WireUsage) {
        let uncached = usage.input_tokens.unwrap_or(self.uncached_input);
        self.uncached_input = uncached;
        self.usage.cache_read_tokens = usage.cache_read_input_tokens.unwrap_or(self.usage.cache_read_tokens);
        self.usage.cache_write_tokens = usage.cache_creation_input_tokens.unwrap_or(self.usage.cache_write_tokens);
        // Anthropic's `input_tokens` leaves out the cached prompt; ours is the whole prompt.
        self.usage.input_tokens =
            uncached.saturating_add(self.usage.cache_read_tokens).saturating_add(self.usage.cache_write_tokens);
        self.usage.output_tokens = usage.output_tokens.unwrap_or(self.usage.output_tokens);
    }
}

impl Adapter for Anthropic {
    fn on_event(&mut self, _event: &str, data: &str) -> Result<Vec<LlmEvent>, LlmError> {
        let wire: Wire = serde_json::from_str(data).map_err(|_| LlmError::Malformed)?;
        Ok(match wire {
            Wire::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    self.count(usage);
                }
                vec![]
            }
            Wire::ContentBlockStart { index, content_block: Block::Thinking } => {
                self.thinking.insert(index, None);
                vec![]
            }
            Wire::ContentBlockStart { content_block: Block::RedactedThinking { data }, .. } => {
                vec![LlmEvent::RedactedReasoning(data)]
            }
            Wire::ContentBlockStart { index, content_block: Block::ToolUse { id, name } } => {
                let start = LlmEvent::ToolInputStart { id: id.clone(), name: name.clone() };
                self.calls.insert(index, OpenCall { id, name, json: String::new() });
                vec![start]
            }
            Wire::ContentBlockDelta { delta: Delta::TextDelta { text }, .. } => vec![LlmEvent::TextDelta(text)],
            Wire::ContentBlockDelta { delta: Delta::ThinkingDelta { thinking }, .. } => {
                vec![LlmEvent::ReasoningDelta(thinking)]
            }
            Wire::ContentBlockDelta { index, delta: Delta::SignatureDelta { signature } } => {
                self.thinking.insert(index, Some(signature));
                vec![]
            }
            Wire::ContentBlockDelta { index, delta: Delta::InputJsonDelta { partial_json } } => {
                let call = self.calls.get_mut(&index).ok_or(LlmError::Malformed)?;
                call.json.push_str(&partial_json);
                vec![LlmEvent::ToolInputDelta { id: call.id.clone(), delta: partial_json }]
            }
            Wire::ContentBlockStop { index } => {
                if let Some(signature) = self.thinking.remove(&index) {
                    return Ok(vec![LlmEvent::ReasoningEnd { signature }]);
                }
                match self.calls.remove(&index) {
                    Some(OpenCall { id, name, json }) => {
                        // A call without arguments streams no delta at all.
                        let input = if json.trim().is_empty() { Ok(json!({})) } else { serde_json::from_str(&json) };
                        vec![LlmEvent::ToolCall { id, name, input: input.map_err(|_| json) }]
                    }
                    None => vec![],
                }
            }
            Wire::MessageDelta { delta, usage } => {
                self.stop_reason = delta.stop_reason.or(self.stop_reason.take());
                if let Some(usage) = usage {
                    self.count(usage);
                }
                vec![]
            }
            Wire::MessageStop => {
                self.done = true;
                let reason = match self.stop_reason.as_deref() {
                    Some("max_tokens") => FinishReason::Length,
                    Some("tool_use") => FinishReason::ToolCalls,
                    _ => FinishReason::Stop,
                };
                vec![LlmEvent::Usage(self.usage), LlmEvent::Finished(reason)]
            }
            Wire::Error { error } if error.kind == "overloaded_error" => return Err(LlmError::Overloaded),
            Wire::Error { .. } => return Err(LlmError::Upstream(500)),
            Wire::ContentBlockStart { .. } | Wire::ContentBlockDelta { delta: Delta::Other, .. } | Wire::Other => {
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
        assert_eq!(
            body("claude-sonnet-4-5", "s", &[], &[])["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert!(body("claude-opus-4-7", "s", &[], &[])["max_tokens"].as_u64().unwrap() > 2048);
        assert!(body("claude-haiku-4-5", "s", &[], &[]).get("thinking").is_none());
    }

    #[test]
    fn reasoning_goes_back_only_to_a_thinking_model() {
        let items = [
            Item::User("q".into()),
            Item::Reasoning { text: "r".into(), signature: Some("s".into()) },
            Item::RedactedReasoning("opaque".into()),
            Item::Assistant("a".into()),
        ];
        let blocks = |model: &str| body(model, "s", &items, &[])["messages"][1]["content"].clone();
        assert_eq!(blocks("claude-sonnet-4-5").as_array().unwrap().len(), 3);
        assert_eq!(blocks("claude-haiku-4-5"), json!([{"type": "text", "text": "a"}]));
    }

    #[test]
    fn tools_are_offered_only_when_there_are_some() {
        // SPEC §11 #48
        assert!(body("claude-haiku-4-5", "s", &[], &[]).get("tools").is_none());
        let tool = ToolSpec {
            name: "d__search".into(),
            description: "Search".into(),
            input_schema: json!({"type": "object"}),
        };
        assert_eq!(
            body("claude-haiku-4-5", "s", &[], &[tool])["tools"],
            json!([{"name": "d__search", "description": "Search", "input_schema": {"type": "object"},
                    "cache_control": {"type": "ephemeral"}}])
        );
    }

    #[test]
    fn the_system_prompt_and_the_tool_list_are_marked_for_the_prompt_cache() {
        let tool = |name: &str| ToolSpec {
            name: name.into(),
            description: "d".into(),
            input_schema: json!({"type": "object"}),
        };
        let sent = body("claude-haiku-4-5", "Be brief.", &[], &[tool("a__x"), tool("a__y")]);
        assert_eq!(
            sent["system"],
            json!([{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}])
        );
        // One breakpoint on the last definition caches the whole list; Anthropic allows four per request.
        assert!(sent["tools"][0].get("cache_control").is_none());
        assert_eq!(sent["tools"][1]["cache_control"], json!({"type": "ephemeral"}));
    }

    #[test]
    fn a_later_usage_object_replaces_only_the_counts_it_has() {
        let out = translate(&[
            r#"{"type":"message_start","message":{"usage":{"input_tokens":7,"cache_creation_input_tokens":1200,"output_tokens":1}}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        assert_eq!(
            out[0],
            LlmEvent::Usage(Usage {
                input_tokens: 1207,
                output_tokens: 30,
                cache_read_tokens: 0,
                cache_write_tokens: 1200,
                reasoning_tokens: 0
            })
        );
    }

    fn translate(events: &[&str]) -> Vec<LlmEvent> {
        let mut a = Anthropic::default();
        events.iter().flat_map(|d| a.on_event("", d).unwrap()).collect()
    }

    #[test]
    fn events_translate_to_text_reasoning_and_a_finish() {
        let out = translate(&[
            r#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":10,"cache_read_input_tokens":90,"cache_creation_input_tokens":5,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"x"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"opaque"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Hi"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":42}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        assert_eq!(
            out,
            [
                LlmEvent::ReasoningDelta("hm".into()),
                LlmEvent::ReasoningEnd { signature: Some("x".into()) },
                LlmEvent::RedactedReasoning("opaque".into()),
                LlmEvent::TextDelta("Hi".into()),
                LlmEvent::Usage(Usage {
                    input_tokens: 105,
                    output_tokens: 42,
                    cache_read_tokens: 90,
                    cache_write_tokens: 5,
                    reasoning_tokens: 0
                }),
                LlmEvent::Finished(FinishReason::Length)
            ]
        );
        assert!(matches!(
            Anthropic::default()
                .on_event("error", r#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#),
            Err(LlmError::Overloaded)
        ));
        assert!(matches!(Anthropic::default().on_event("", "{oops"), Err(LlmError::Malformed)));
    }

    #[test]
    fn tool_use_input_is_assembled_from_pieces_split_anywhere() {
        let out = translate(&[
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"d__search","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\": \"ru"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"st\"}"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"d__whoami","input":{}}}"#,
            r#"{"type":"content_block_stop","index":2}"#,
            r#"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_3","name":"d__x","input":{}}}"#,
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"q\":"}}"#,
            r#"{"type":"content_block_stop","index":3}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        assert_eq!(out[0], LlmEvent::ToolInputStart { id: "toolu_1".into(), name: "d__search".into() });
        assert_eq!(out[3], LlmEvent::ToolInputDelta { id: "toolu_1".into(), delta: "st\"}".into() });
        assert_eq!(
            out[4],
            LlmEvent::ToolCall { id: "toolu_1".into(), name: "d__search".into(), input: Ok(json!({"q": "rust"})) }
        );
        assert_eq!(out[6], LlmEvent::ToolCall { id: "toolu_2".into(), name: "d__whoami".into(), input: Ok(json!({})) });
        assert_eq!(
            out[9],
            LlmEvent::ToolCall { id: "toolu_3".into(), name: "d__x".into(), input: Err("{\"q\":".into()) }
        );
        assert_eq!(out[11], LlmEvent::Finished(FinishReason::ToolCalls));
    }
}
