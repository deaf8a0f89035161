//! One model call of a turn: opened, its events relayed onto the turn's tape as they arrive, and its
//! output collected as transcript items for the next call of the loop. Tool calls are gathered here and
//! run by the loop after the call ends. A call that fails before anything of the reply reached the tape
//! goes to the next fallback model (`models`).

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::Turn;
use super::models::{Choice, Models};
use super::out::Out;
use crate::llm::error::LlmError;
use crate::llm::transcript::Item;
use crate::llm::{self, LlmEvent, ModelCall, ToolSpec, Usage};
use crate::stream::FinishReason;

/// Why a turn stopped before its end.
#[derive(Debug)]
pub enum Halt {
    /// `POST /chat/{cid}/stop`.
    Stopped,
    /// No client has been reading for the resume window.
    Unattended,
    /// The model call failed after the 200.
    Failed(LlmError),
    /// The daemon is stopping and the streams' grace is over.
    ShuttingDown,
}

/// A tool call the model made in this step.
#[derive(Debug, Clone)]
pub struct Call {
    /// The provider's call id.
    pub id: String,
    /// The exposed tool name.
    pub name: String,
    /// The arguments, or the text that was not JSON.
    pub input: Result<Value, String>,
}

/// What one model call produced.
pub struct Step {
    /// Reasoning, text and tool calls, in order, for the transcript.
    pub items: Vec<Item>,
    /// The tool calls to run.
    pub calls: Vec<Call>,
    /// Why the model stopped.
    pub finish: FinishReason,
    /// Tokens the call used, as the provider reported them.
    pub usage: Usage,
    /// Whether the last item is a reasoning block still streaming.
    reasoning_open: bool,
}

impl Step {
    /// All answer text of the step.
    pub fn text(&self) -> String {
        self.items.iter().filter_map(|i| if let Item::Assistant(t) = i { Some(t.as_str()) } else { None }).collect()
    }

    /// All reasoning text of the step.
    pub fn reasoning(&self) -> String {
        self.items
            .iter()
            .filter_map(|i| if let Item::Reasoning { text, .. } = i { Some(text.as_str()) } else { None })
            .collect()
    }
}

/// Runs one model call to its end, relaying it to `out`. A call that fails before anything of the turn's
/// reply reached the tape is made again with the next fallback model, if the failure is worth it.
pub async fn run(
    turn: &Turn,
    out: &mut Out,
    transcript: &[Item],
    tools: &[ToolSpec],
    models: &mut Models,
) -> Result<Step, Halt> {
    loop {
        let choice = models.current(turn);
        match call(turn, out, transcript, tools, &choice).await {
            Err(Halt::Failed(err)) if !out.replied() && models.fall_back(turn, &err) => {
                let next = models.current(turn);
                tracing::warn!(cid = %turn.cid, sid = %turn.record.id, provider = choice.model.provider.as_str(),
                    model_id = choice.model_id, fallback_provider = next.model.provider.as_str(),
                    fallback_model_id = next.model_id, error = %err, "model call failed; trying a fallback model");
                turn.trace.event(
                    "model.fallback",
                    json!({"from": choice.tag(), "to": next.tag(), "message": err.to_string()}),
                );
            }
            result => return result,
        }
    }
}

/// One call to one model.
async fn call(
    turn: &Turn,
    out: &mut Out,
    transcript: &[Item],
    tools: &[ToolSpec],
    choice: &Choice<'_>,
) -> Result<Step, Halt> {
    let spec = &turn.record.spec;
    let call =
        ModelCall { model: choice.model, model_id: choice.model_id, system: &spec.system_prompt, transcript, tools };
    let asked = tokio::time::Instant::now();
    // Registered once for the whole call: a registration per event would take locks per token.
    let interrupted = turn.interrupted();
    tokio::pin!(interrupted);
    let mut events = tokio::select! {
        opened = llm::stream(&turn.http, &turn.bases, call) => opened.map_err(Halt::Failed)?,
        halt = &mut interrupted => return Err(halt),
    };
    // Once per model call: the provider has answered with response headers.
    turn.metrics.upstream_answered(choice.model.provider, asked.elapsed());
    let mut step = Step {
        items: Vec::new(),
        calls: Vec::new(),
        finish: FinishReason::Stop,
        usage: Usage::default(),
        reasoning_open: false,
    };
    loop {
        let next = tokio::select! {
            next = events.next() => next,
            halt = &mut interrupted => return Err(halt),
        };
        match next {
            None => break,
            Some(Err(err)) => return Err(Halt::Failed(err)),
            Some(Ok(event)) => relay(event, out, &mut step),
        }
    }
    out.close_part();
    Ok(step)
}

fn relay(event: LlmEvent, out: &mut Out, step: &mut Step) {
    match event {
        LlmEvent::TextDelta(text) => {
            step.reasoning_open = false;
            out.text(&text);
            match step.items.last_mut() {
                Some(Item::Assistant(stored)) => stored.push_str(&text),
                _ => step.items.push(Item::Assistant(text)),
            }
        }
        LlmEvent::ReasoningDelta(text) => {
            out.reasoning(&text);
            match step.items.last_mut() {
                Some(Item::Reasoning { text: stored, .. }) if step.reasoning_open => stored.push_str(&text),
                _ => step.items.push(Item::Reasoning { text, signature: None }),
            }
            step.reasoning_open = true;
        }
        LlmEvent::ReasoningEnd { signature } => {
            // One item per thinking block, even one that streamed no text: its signature must go back.
            match step.items.last_mut() {
                Some(Item::Reasoning { signature: stored, .. }) if step.reasoning_open => *stored = signature.clone(),
                _ => step.items.push(Item::Reasoning { text: String::new(), signature: signature.clone() }),
            }
            step.reasoning_open = false;
            out.reasoning_end(signature);
        }
        LlmEvent::RedactedReasoning(data) => {
            step.reasoning_open = false;
            step.items.push(Item::RedactedReasoning(data));
        }
        LlmEvent::Usage(usage) => step.usage += usage,
        LlmEvent::ToolInputStart { id, name } => {
            step.reasoning_open = false;
            out.tool_start(&id, &name);
        }
        LlmEvent::ToolInputDelta { id, delta } => out.tool_delta(&id, &delta),
        LlmEvent::ToolCall { id, name, input } => {
            match &input {
                Ok(args) => out.tool_input(&id, &name, args),
                Err(raw) => out.tool_input_error(&id, &name, raw, "the model's arguments were not valid JSON"),
            }
            let replayed = input.clone().unwrap_or_else(Value::String);
            step.items.push(Item::ToolCall { id: id.clone(), name: name.clone(), input: replayed });
            step.calls.push(Call { id, name, input });
        }
        LlmEvent::Finished(reason) => step.finish = reason,
    }
}
