//! OpenAI Responses API, streaming (SPEC §5.2, decision 28), also for OpenAI-compatible servers via
//! `base_url`. Reasoning summaries are requested for `o1`…`o9` and `gpt-5` models (SPEC §5.7).

use serde::Deserialize;
use serde_json::{Value, json};

use super::LlmEvent;
use super::error::LlmError;
use super::history::{TextTurn, role_content};
use super::sse::Adapter;
use crate::stream::FinishReason;

/// `^(o[1-9]|gpt-5)` (SPEC §5.7, §11 #57, #59).
fn reasons(model_id: &str) -> bool {
    let bytes = model_id.as_bytes();
    model_id.starts_with("gpt-5") || (bytes.len() > 1 && bytes[0] == b'o' && (b'1'..=b'9').contains(&bytes[1]))
}

/// The JSON body of a streaming Responses call.
pub fn body(model_id: &str, system: &str, turns: &[TextTurn]) -> Value {
    let input = role_content(turns);
    let mut body = json!({"model": model_id, "instructions": system, "input": input, "stream": true});
    if reasons(model_id) {
        body["reasoning"] = json!({"summary": "auto"});
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
    #[serde(rename = "response.completed")]
    Completed,
    #[serde(rename = "response.incomplete")]
    Incomplete,
    #[serde(rename = "response.failed")]
    Failed,
    #[serde(rename = "error")]
    Error,
    #[serde(other)]
    Other,
}

/// Translation state of one call.
#[derive(Default)]
pub struct OpenAi {
    done: bool,
}

impl Adapter for OpenAi {
    fn on_event(&mut self, _event: &str, data: &str) -> Result<Vec<LlmEvent>, LlmError> {
        let wire: Wire = serde_json::from_str(data).map_err(|_| LlmError::Malformed)?;
        Ok(match wire {
            Wire::TextDelta { delta } => vec![LlmEvent::TextDelta(delta)],
            Wire::ReasoningDelta { delta } => vec![LlmEvent::ReasoningDelta(delta)],
            Wire::Completed => {
                self.done = true;
                vec![LlmEvent::Finished(FinishReason::Stop)]
            }
            Wire::Incomplete => {
                self.done = true;
                vec![LlmEvent::Finished(FinishReason::Length)]
            }
            Wire::Failed | Wire::Error => return Err(LlmError::Upstream(500)),
            Wire::Other => {
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
            assert_eq!(body(id, "s", &[])["reasoning"], json!({"summary": "auto"}), "{id}");
        }
        for id in ["gpt-4o", "omni-moderation", "o", "gpt-4.1"] {
            assert!(body(id, "s", &[]).get("reasoning").is_none(), "{id}");
        }
    }

    #[test]
    fn events_translate_to_text_reasoning_and_a_finish() {
        let mut a = OpenAi::default();
        let events = [
            r#"{"type":"response.created","response":{}}"#,
            r#"{"type":"response.reasoning_summary_text.delta","delta":"plan"}"#,
            r#"{"type":"response.output_text.delta","item_id":"msg_1","delta":"Hi"}"#,
            r#"{"type":"response.completed","response":{}}"#,
        ];
        let out: Vec<LlmEvent> = events.iter().flat_map(|d| a.on_event("", d).unwrap()).collect();
        assert_eq!(
            out,
            [
                LlmEvent::ReasoningDelta("plan".into()),
                LlmEvent::TextDelta("Hi".into()),
                LlmEvent::Finished(FinishReason::Stop)
            ]
        );
        assert!(matches!(OpenAi::default().on_event("", r#"{"type":"response.failed"}"#), Err(LlmError::Upstream(_))));
    }
}
