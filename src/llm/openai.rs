//! OpenAI Responses API, streaming (SPEC §5.2, decision 28), also for OpenAI-compatible servers via
//! `base_url`. Reasoning summaries are requested for `o1`…`o9` and `gpt-5` models (SPEC §5.7).
//! Function calls stream as `output_item.added`, argument deltas keyed by item id, and
//! `output_item.done` with the whole call.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::LlmError;
use super::sse::Adapter;
use super::transcript::{Item, openai_input};
use super::{LlmEvent, ToolSpec, Usage};
use crate::stream::FinishReason;

/// `^(o[1-9]|gpt-5)` (SPEC §5.7, §11 #57, #59).
fn reasons(model_id: &str) -> bool {
    let bytes = model_id.as_bytes();
    model_id.starts_with("gpt-5") || (bytes.len() > 1 && bytes[0] == b'o' && (b'1'..=b'9').contains(&bytes[1]))
}

/// The JSON body of a streaming Responses call.
pub fn body(model_id: &str, system: &str, items: &[Item], tools: &[ToolSpec]) -> Value {
    let input = openai_input(items);
    let mut body = json!({"model": model_id, "instructions": system, "input": input, "stream": true});
    if reasons(model_id) {
        body["reasoning"] = json!({"summary": "auto"});
    }
    if !tools.is_empty() {
        body["tools"] = tools
            .iter()
            .map(|t| {
                json!({"type": "function", "name": t.name, "description": t.description,
                       "parameters": t.input_schema, "strict": false})
            })
            .collect();
    }
    body
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Wire {
    #[serde(rename = "response.output_text.delta")]
    TextDelta { delta: String },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningDelta { delta: String },
    #[serde(rename = "response.output_item.added")]
    ItemAdded { item: OutputItem },
    #[serde(rename = "response.function_call_arguments.delta")]
    ArgumentsDelta { item_id: String, delta: String },
    #[serde(rename = "response.output_item.done")]
    ItemDone { item: OutputItem },
    #[serde(rename = "response.completed")]
    Completed {
        #[serde(default)]
        response: Option<Completed>,
    },
    #[serde(rename = "response.incomplete")]
    Incomplete,
    #[serde(rename = "response.failed")]
    Failed,
    #[serde(rename = "error")]
    Error,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Completed {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: u64,
}

#[derive(Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: u64,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum OutputItem {
    #[serde(rename = "function_call")]
    FunctionCall {
        #[serde(default)]
        id: Option<String>,
        call_id: String,
        name: String,
        #[serde(default)]
        arguments: String,
    },
    #[serde(other)]
    Other,
}

/// Translation state of one call.
#[derive(Default)]
pub struct OpenAi {
    /// Output item id → call id: argument deltas name the item, the browser sees the call.
    call_ids: HashMap<String, String>,
    called: bool,
    done: bool,
}

impl Adapter for OpenAi {
    fn on_event(&mut self, _event: &str, data: &str) -> Result<Vec<LlmEvent>, LlmError> {
        let wire: Wire = serde_json::from_str(data).map_err(|_| LlmError::Malformed)?;
        Ok(match wire {
            Wire::TextDelta { delta } => vec![LlmEvent::TextDelta(delta)],
            Wire::ReasoningDelta { delta } => vec![LlmEvent::ReasoningDelta(delta)],
            Wire::ItemAdded { item: OutputItem::FunctionCall { id, call_id, name, .. } } => {
                self.call_ids.insert(id.unwrap_or_else(|| call_id.clone()), call_id.clone());
                vec![LlmEvent::ToolInputStart { id: call_id, name }]
            }
            Wire::ArgumentsDelta { item_id, delta } => {
                let id = self.call_ids.get(&item_id).ok_or(LlmError::Malformed)?.clone();
                vec![LlmEvent::ToolInputDelta { id, delta }]
            }
            Wire::ItemDone { item: OutputItem::FunctionCall { call_id, name, arguments, .. } } => {
                self.called = true;
                let input = if arguments.trim().is_empty() { Ok(json!({})) } else { serde_json::from_str(&arguments) };
                vec![LlmEvent::ToolCall { id: call_id, name, input: input.map_err(|_| arguments) }]
            }
            Wire::Completed { response } => {
                self.done = true;
                let finished =
                    LlmEvent::Finished(if self.called { FinishReason::ToolCalls } else { FinishReason::Stop });
                match response.and_then(|r| r.usage) {
                    Some(u) => vec![
                        // OpenAI caches prompts by itself and reports reads only; nothing is written apart.
                        LlmEvent::Usage(Usage {
                            input_tokens: u.input_tokens,
                            output_tokens: u.output_tokens,
                            cache_read_tokens: u.input_tokens_details.map_or(0, |d| d.cached_tokens),
                            cache_write_tokens: 0,
                            reasoning_tokens: u.output_tokens_details.map_or(0, |d| d.reasoning_tokens),
                        }),
                        finished,
                    ],
                    None => vec![finished],
                }
            }
            Wire::Incomplete => {
                self.done = true;
                vec![LlmEvent::Finished(FinishReason::Length)]
            }
            Wire::Failed | Wire::Error => return Err(LlmError::Upstream(500)),
            Wire::ItemAdded { .. } | Wire::ItemDone { .. } | Wire::Other => {
                tracing::debug!("openai event skipped");
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
    fn reasoning_summaries_are_requested_for_o_series_and_gpt5_only() {
        // SPEC §11 #57, #59
        for id in ["o3", "o4-mini", "gpt-5", "gpt-5-mini"] {
            assert_eq!(body(id, "s", &[], &[])["reasoning"], json!({"summary": "auto"}), "{id}");
        }
        for id in ["gpt-4o", "omni-moderation", "o", "gpt-4.1"] {
            assert!(body(id, "s", &[], &[]).get("reasoning").is_none(), "{id}");
        }
    }

    #[test]
    fn tools_are_function_definitions() {
        assert!(body("gpt-4o", "s", &[], &[]).get("tools").is_none());
        let tool = ToolSpec {
            name: "d__search".into(),
            description: "Search".into(),
            input_schema: json!({"type": "object"}),
        };
        assert_eq!(
            body("gpt-4o", "s", &[], &[tool])["tools"][0],
            json!({"type": "function", "name": "d__search", "description": "Search", "parameters": {"type": "object"}, "strict": false})
        );
    }

    fn translate(events: &[&str]) -> Vec<LlmEvent> {
        let mut a = OpenAi::default();
        events.iter().flat_map(|d| a.on_event("", d).unwrap()).collect()
    }

    #[test]
    fn events_translate_to_text_reasoning_and_a_finish() {
        let out = translate(&[
            r#"{"type":"response.created","response":{}}"#,
            r#"{"type":"response.reasoning_summary_text.delta","delta":"plan"}"#,
            r#"{"type":"response.output_item.added","item":{"type":"message","id":"msg_1"}}"#,
            r#"{"type":"response.output_text.delta","item_id":"msg_1","delta":"Hi"}"#,
            r#"{"type":"response.completed","response":{"usage":{"input_tokens":50,"output_tokens":7,"input_tokens_details":{"cached_tokens":32},"output_tokens_details":{"reasoning_tokens":4}}}}"#,
        ]);
        assert_eq!(
            out,
            [
                LlmEvent::ReasoningDelta("plan".into()),
                LlmEvent::TextDelta("Hi".into()),
                LlmEvent::Usage(Usage {
                    input_tokens: 50,
                    output_tokens: 7,
                    cache_read_tokens: 32,
                    cache_write_tokens: 0,
                    reasoning_tokens: 4
                }),
                LlmEvent::Finished(FinishReason::Stop)
            ]
        );
        assert!(matches!(OpenAi::default().on_event("", r#"{"type":"response.failed"}"#), Err(LlmError::Upstream(_))));
    }

    #[test]
    fn function_calls_stream_by_item_and_finish_with_tool_calls() {
        let out = translate(&[
            r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"d__search","arguments":""}}"#,
            r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"{\"q\":"}"#,
            r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"\"rust\"}"}"#,
            r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"d__search","arguments":"{\"q\":\"rust\"}"}}"#,
            r#"{"type":"response.completed","response":{}}"#,
        ]);
        assert_eq!(
            out,
            [
                LlmEvent::ToolInputStart { id: "call_1".into(), name: "d__search".into() },
                LlmEvent::ToolInputDelta { id: "call_1".into(), delta: "{\"q\":".into() },
                LlmEvent::ToolInputDelta { id: "call_1".into(), delta: "\"rust\"}".into() },
                LlmEvent::ToolCall { id: "call_1".into(), name: "d__search".into(), input: Ok(json!({"q": "rust"})) },
                LlmEvent::Finished(FinishReason::ToolCalls),
            ]
        );
    }
}
