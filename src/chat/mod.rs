//! One chat turn: the server-side tool-use loop (SPEC §5.1). Each step is one model call streamed to
//! the browser as UI-message chunks; the tools it calls run in parallel, their results go back to the
//! model, and the loop ends with a final answer or at the step cap. The turn is persisted through the
//! user's writer when it ends, finished or not (SPEC §2.4, §4).
//! Invariant: the model's stream is never routed through an actor token by token; the writer gets one
//! message per turn. The turn writes onto its tape and never waits for a client: one that goes away
//! can come back and replay it (`GET /chat/{cid}/stream`). The turn ends early only when it is stopped
//! (`POST /chat/{cid}/stop`), when no client has been reading for the resume window, or at shutdown;
//! then the model request and the tool calls in flight are dropped, and what the assistant had
//! produced is stored. A turn is stored before its `finish` goes onto the tape, stopped or not, so any
//! reader that saw `finish` knows the reply is kept; one that could not be stored (a full disk) ends
//! with an error part instead.
//!
//! # Layout
//! - `out`: chunks onto the tape and the assistant message they assemble.
//! - `tape`: one turn's events, read by any number of clients at their own pace.
//! - `live`: each conversation's latest turn, for resume and stop.
//! - `step`: one model call.
//! - `models`: the session's model and its fallbacks, and which one answers the turn.
//! - `tally`: the turn's token usage and model, for the finish metadata, the stored message and the budget.
//! - `active`: which conversations have a turn streaming.
//! - `thread`: the request body.
//! - `approval`: calls that wait for the user's approval, and the turn that continues once they answered.

pub mod active;
pub mod approval;
pub mod live;
pub mod models;
pub mod out;
pub mod step;
pub mod tally;
pub mod tape;
pub mod thread;

use std::sync::Arc;

use actix_web::web::Bytes;
use augchatd_actors::flusher::{Flushers, TurnInFlight};
use augchatd_actors::ids::{ConversationId, SessionId, TenantId, UserId};
use augchatd_actors::record::SessionRecord;
use augchatd_actors::user_db::{DbError, ReplaceThread, Role, StoredMessage, WriterHandle};
use futures_util::stream::FuturesUnordered;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

pub use active::{ActiveTurns, Counted, SessionStreams};
use live::{LiveTurn, LiveTurns, TurnKey};
use out::Out;
use step::{Call, Halt, Step};
use tally::Tally;
use tape::{Cut, Reader};

use crate::llm::ProviderBases;
use crate::llm::transcript::{self, Item};
use crate::stream::{Chunk, DONE, FinishReason, MessageMetadata, ModelTag};
use crate::tools::set::{ToolOutcome, ToolSet};
use crate::trace::Trace;

/// What the browser sees when the model fails; the real cause goes to the log (SPEC §4.5).
const MASKED_ERROR: &str = "An error occurred.";
/// What the browser sees when the finished reply could not be stored.
const NOT_STORED: &str = "The reply could not be saved: the conversation store is unavailable. Please try again.";
/// Model calls per turn (SPEC §5.1, `stepCountIs(100)`).
pub const MAX_STEPS: usize = 100;
/// Ends a turn whose session has used its `max_tokens` between two model calls; a `data-augchatd-error` part
/// with the code `token_budget_exhausted` follows it.
const BUDGET_NOTICE: &str = "\n\n⚠ augchatd: this session has used its token budget, so the reply stops here.";
/// Appended when the cap ends a turn that still wanted tools (SPEC §5.1 step 5).
const STEP_CAP_NOTICE: &str = "\n\n⚠ augchatd: hit the tool-use depth limit (100 steps) without a final answer. The retrieved data above is partial. Try a more specific question, or ask the assistant to summarize what it has so far.";

/// Everything a turn needs, resolved before the 200 goes out.
pub struct Turn {
    /// The session running the turn (model, key, system prompt, tenant, user).
    pub record: Arc<SessionRecord>,
    /// The resolved model id: the conversation's override, else the session default.
    pub model_id: String,
    /// The outbound client for model calls (the worker thread's own, `llm::worker_client`).
    pub http: reqwest::Client,
    /// Default provider API roots.
    pub bases: ProviderBases,
    /// The writer of the session's user.
    pub writer: WriterHandle,
    /// Told when the stored turn makes the conversation dirty.
    pub flushers: Flushers,
    /// The conversation.
    pub cid: ConversationId,
    /// Connector defaults, in case the conversation must be re-created when the turn is stored.
    pub defaults: Vec<(String, bool)>,
    /// The turn-start snapshot of active flags, in scope order.
    pub active: Vec<(String, bool)>,
    /// The tools of the active connectors.
    pub tools: ToolSet,
    /// The conversation's trace (off unless configured).
    pub trace: Trace,
    /// The client's thread, as it will be stored.
    pub history: Vec<StoredMessage>,
    /// The stored reply this turn continues, when the thread answered its tool approvals.
    pub resumed: Option<approval::Resumed>,
    /// Keeps the user's hot file from eviction until the reply is stored.
    pub in_flight: TurnInFlight,
    /// Marks the conversation as streaming until the turn ends.
    pub streaming: Counted<(TenantId, UserId, ConversationId)>,
    /// Holds one of the session's stream slots until the turn ends.
    pub session_stream: Counted<SessionId>,
    /// This turn as resume and stop reach it.
    pub live: Arc<LiveTurn>,
    /// Where it is registered; retired from there once stored.
    pub live_turns: LiveTurns,
    /// Where the model calls' upstream latency is recorded.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This stream's unit of the open-streams gauge, released when the turn is dropped.
    pub open_stream: augchatd_actors::metrics::Held,
    /// Set when the daemon stops and the streams' grace is over: the turn ends and stores.
    pub draining: crate::shutdown::Draining,
}

impl Turn {
    /// The metadata of `start`: the model asked first.
    fn metadata(&self) -> MessageMetadata {
        let provider = self.record.spec.model.provider.as_str().to_owned();
        MessageMetadata::model(ModelTag { model_id: self.model_id.clone(), provider })
    }

    /// Resolves when the turn must end before its answer: stopped, unattended for the resume window,
    /// or the daemon draining. Made once per model call and per tool wait, not per event.
    async fn interrupted(&self) -> Halt {
        tokio::select! {
            () = self.live.stop_requested() => Halt::Stopped,
            () = self.live.tape.unattended(self.live_turns.window()) => Halt::Unattended,
            () = self.draining.wait() => Halt::ShuttingDown,
        }
    }

    fn key(&self) -> TurnKey {
        (self.record.tenant.clone(), self.record.spec.user.clone(), self.cid.clone())
    }
}

/// Starts the turn as its own task and returns the SSE body of `reader`, the tape's first reader.
/// Dropping the response detaches that reader; the turn goes on.
pub fn start(turn: Turn, reader: Reader) -> impl Stream<Item = Result<Bytes, Cut>> {
    actix_web::rt::spawn(run(turn));
    reader.into_stream()
}

/// How the turn ended, as far as what goes onto the tape after the store is concerned.
enum End {
    /// It ran to its answer; `finish` follows the store.
    Answered(Ending),
    /// Stopped or unattended, with that reason; `abort` and `finish` follow the store.
    CutShort(&'static str),
    /// The model failed or the daemon is stopping; the error part already ended the stream.
    Failed,
}

async fn run(turn: Turn) {
    let mut out = Out::new(Arc::clone(&turn.live.tape));
    let mut tally = Tally::default();
    let message_id = match &turn.resumed {
        Some(resumed) => {
            out = out.continuing(resumed.parts.clone());
            // The message's usage covers its model calls before the approval too; they were charged then.
            tally.usage = resumed.usage;
            resumed.message_id.clone()
        }
        None => format!("msg-{}", uuid::Uuid::new_v4().simple()),
    };
    trace_request(&turn);
    let end = match converse(&turn, &mut out, &message_id, &mut tally).await {
        Ok(ending) => End::Answered(ending),
        Err(halt) => ended_early(&turn, &mut out, halt),
    };
    let (trace, metadata) = (turn.trace.clone(), tally.metadata(&turn));
    let (live, live_turns, key) = (Arc::clone(&turn.live), turn.live_turns.clone(), turn.key());
    let stored = persist(turn, message_id, out.parts(), &metadata).await;
    // Only now does the end go onto the tape: whichever reader sees `finish` knows the reply is kept.
    match (&stored, end) {
        (Err(err), End::Answered(_) | End::CutShort(_)) => {
            trace.event("error", json!({"message": format!("the turn could not be stored: {err}")}));
            fail(&mut out, NOT_STORED);
        }
        (Ok(()), End::Answered(ending)) => {
            out.send(Chunk::Finish { finish_reason: ending.finish, message_metadata: &metadata });
            // Traced before the last byte, so a client that has read the whole stream finds the trace complete.
            trace.event(
                "response.finish",
                json!({"finish_reason": ending.finish, "total_usage": tally.usage, "step_count": ending.steps}),
            );
            out.raw(Bytes::from_static(DONE));
        }
        (Ok(()), End::CutShort(reason)) => out.abort(reason, &metadata),
        (_, End::Failed) => {}
    }
    live.tape.close();
    live_turns.retire(key, live, stored.is_ok());
}

/// Logs and traces why the turn stopped before its end, and puts onto the tape what must precede the store.
fn ended_early(turn: &Turn, out: &mut Out, halt: Halt) -> End {
    match halt {
        Halt::Stopped => {
            tracing::info!(cid = %turn.cid, sid = %turn.record.id, "chat turn stopped");
            turn.trace.event("aborted", json!({"message": "stopped"}));
            out.cut_short();
            End::CutShort("stopped")
        }
        Halt::Unattended => {
            tracing::info!(cid = %turn.cid, sid = %turn.record.id,
                "chat turn ended early: no client within the resume window");
            turn.trace.event("aborted", json!({"message": "no client within the resume window"}));
            out.cut_short();
            End::CutShort("unattended")
        }
        Halt::ShuttingDown => {
            tracing::info!(cid = %turn.cid, sid = %turn.record.id, "chat turn ended early: daemon shutting down");
            turn.trace.event("aborted", json!({"message": "daemon shutting down"}));
            // The client sees the stream end with the masked error; what it has is stored.
            fail(out, MASKED_ERROR);
            End::Failed
        }
        Halt::Failed(err) => {
            tracing::warn!(cid = %turn.cid, sid = %turn.record.id, provider = turn.record.spec.model.provider.as_str(),
                model_id = %turn.model_id, error = %err, "model call failed");
            turn.trace.event("error", json!({"message": err.to_string(), "stack": format!("{err:?}")}));
            // The masked error part, then the end of the stream (SPEC §4.5).
            fail(out, MASKED_ERROR);
            End::Failed
        }
    }
}

/// An error part, then the end of the stream (SPEC §4.5).
fn fail(out: &mut Out, error_text: &str) {
    out.close_part();
    out.send(Chunk::Error { error_text });
    out.raw(Bytes::from_static(DONE));
}

/// How a turn that ran to its end ended.
struct Ending {
    finish: FinishReason,
    steps: usize,
}

/// The loop: steps until a final answer or the cap, then augchatd's own parts; the finish is the caller's.
async fn converse(turn: &Turn, out: &mut Out, message_id: &str, tally: &mut Tally) -> Result<Ending, Halt> {
    out.send(Chunk::Start { message_id, message_metadata: &turn.metadata() });
    let mut transcript = transcript::from_thread(&turn.history, |name| turn.tools.offers(name));
    let mut unauthorized: Vec<String> = Vec::new();
    if let Some(resumed) = &turn.resumed {
        transcript.extend(approval::settle(turn, out, resumed, &mut unauthorized).await?);
    }
    let mut finish = FinishReason::ToolCalls;
    let mut steps = 0;
    let mut over_budget = false;
    let mut awaiting_approval = false;
    while steps < MAX_STEPS && finish == FinishReason::ToolCalls {
        // Before every model call: a session that ran out of tokens (in this turn or a concurrent one)
        // makes no further call.
        if turn.record.budget.tokens_exhausted() {
            (over_budget, finish) = (true, FinishReason::Length);
            break;
        }
        steps += 1;
        out.step_start();
        let step = step::run(turn, out, &transcript, turn.tools.specs(), &mut tally.models).await?;
        tally.add(turn, step.usage);
        transcript.extend(step.items.iter().cloned());
        let waiting = approval::request(&turn.tools, out, &step.calls);
        let runnable: Vec<Call> = step.calls.iter().filter(|c| !waiting.contains(&c.id)).cloned().collect();
        let outcomes = run_calls(turn, out, &runnable).await?;
        let mut results = Vec::new();
        let mut sources = Vec::new();
        for (call, outcome) in runnable.iter().zip(&outcomes) {
            transcript.push(Item::ToolResult {
                id: call.id.clone(),
                output: outcome.output.clone(),
                is_error: outcome.failed,
            });
            results.push(json!({"toolCallId": call.id, "toolName": call.name, "output": outcome.output}));
            sources.extend(report(turn, out, call, outcome, &mut unauthorized));
        }
        out.step_end();
        // A step with calls is never final, whatever the provider said; one without calls always is.
        finish = match (step.calls.is_empty(), step.finish) {
            (false, _) => FinishReason::ToolCalls,
            (true, FinishReason::ToolCalls) => FinishReason::Stop,
            (true, reason) => reason,
        };
        trace_step(turn, steps, &step, results, sources, finish);
        // The turn ends here, stored with its calls waiting; the browser's answer continues it.
        if !waiting.is_empty() {
            awaiting_approval = true;
            break;
        }
    }
    if finish == FinishReason::ToolCalls && !awaiting_approval {
        out.notice("augchatd-fallback", STEP_CAP_NOTICE);
    }
    if over_budget {
        let (max_tokens, used_tokens) = (turn.record.budget.limits().max_tokens, turn.record.budget.tokens_used());
        tracing::info!(cid = %turn.cid, sid = %turn.record.id, max_tokens, used_tokens,
            "chat turn stopped: the session's token budget is used up");
        let id = out.notice("augchatd-budget", BUDGET_NOTICE);
        let data = json!({"code": "token_budget_exhausted", "max_tokens": max_tokens, "used_tokens": used_tokens});
        out.augchatd_error(&id, &data);
    }
    if !unauthorized.is_empty() {
        let names: Vec<String> = unauthorized.iter().map(|c| format!("`{c}`")).collect();
        let warning = format!(
            "\n\n⚠ **Connector authentication expired** — {}. Refreshing your session… (your integrator may need to provide updated credentials).",
            names.join(", ")
        );
        let id = out.notice("augchatd-upstream-401", &warning);
        out.augchatd_error(&id, &json!({"code": "upstream_unauthorized", "connectors": unauthorized}));
    }
    Ok(Ending { finish, steps })
}

/// Runs a step's calls in parallel, reporting each result as it lands; an interruption (stop, nobody
/// listening for the resume window, shutdown) drops every call in flight.
async fn run_calls(turn: &Turn, out: &mut Out, calls: &[Call]) -> Result<Vec<ToolOutcome>, Halt> {
    let mut outcomes: Vec<Option<ToolOutcome>> = calls.iter().map(|_| None).collect();
    let mut running: FuturesUnordered<_> = calls
        .iter()
        .enumerate()
        .filter_map(|(i, call)| {
            call.input.as_ref().ok().map(|input| async move { (i, turn.tools.call(&call.name, input).await) })
        })
        .collect();
    for (i, call) in calls.iter().enumerate().filter(|(_, c)| c.input.is_err()) {
        outcomes[i] = Some(ToolOutcome {
            output: format!("the arguments for {} were not valid JSON; the call did not run", call.name),
            failed: true,
            ..ToolOutcome::default()
        });
    }
    let interrupted = turn.interrupted();
    tokio::pin!(interrupted);
    while !running.is_empty() {
        let (i, outcome) = tokio::select! {
            Some(done) = running.next() => done,
            halt = &mut interrupted => return Err(halt),
        };
        let call = &calls[i];
        if outcome.failed {
            out.tool_error(&call.id, &call.name, &outcome.output);
        } else {
            out.tool_output(&call.id, &call.name, &Value::String(outcome.output.clone()));
        }
        outcomes[i] = Some(outcome);
    }
    Ok(outcomes.into_iter().map(Option::unwrap_or_default).collect())
}

/// What a call's result leaves for the rest of the turn, whether it ran in a step or on the user's approval:
/// its source chips, sent (and returned for the step's trace), and the connector that refused the session's
/// credentials, if it did, noted in `unauthorized` for the warning at the turn's end (SPEC §5.5).
fn report(
    turn: &Turn,
    out: &mut Out,
    call: &Call,
    outcome: &ToolOutcome,
    unauthorized: &mut Vec<String>,
) -> Vec<Value> {
    if let Some(connector) = &outcome.unauthorized {
        turn.trace.event(
            "upstream.unauthorized",
            json!({"connector": connector, "tool_call_id": call.id, "tool_name": call.name}),
        );
        if !unauthorized.contains(connector) {
            unauthorized.push(connector.clone());
        }
    }
    emit_sources(out, call, outcome)
}

/// One `source-document` per retrieval hit (SPEC §4.2 item 6); returns `{sourceId, title}` for the trace.
fn emit_sources(out: &mut Out, call: &Call, outcome: &ToolOutcome) -> Vec<Value> {
    let mut emitted = Vec::new();
    for hit in &outcome.hits {
        let source_id = format!("{}:{}", call.id, hit.doc_id);
        let metadata = json!({"augchatd": {"source_descriptive_id": outcome.connector, "index": hit.index,
            "doc_id": hit.doc_id, "score": hit.score, "snippet": hit.snippet}});
        out.source(&source_id, &hit.title, &metadata);
        emitted.push(json!({"sourceId": source_id, "title": hit.title}));
    }
    emitted
}

/// The `request` trace event: who asked what, with which model and connectors; never a credential.
fn trace_request(turn: &Turn) {
    if !turn.trace.enabled() {
        return;
    }
    let spec = &turn.record.spec;
    let connectors: Vec<Value> = spec
        .connectors
        .iter()
        .map(|c| {
            let active = turn.active.iter().any(|(id, on)| *on && *id == c.descriptive_id);
            json!({"descriptive_id": c.descriptive_id, "type": c.type_name(), "name": c.name,
                "default_active": c.default_active, "active": active})
        })
        .collect();
    let messages: Vec<Value> = turn
        .history
        .iter()
        .map(|m| {
            json!({"id": m.message_id, "role": m.role.as_str(),
                "parts": serde_json::from_str::<Value>(&m.parts_json).unwrap_or_default(),
                "metadata": m.metadata_json.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok())})
        })
        .collect();
    turn.trace.event(
        "request",
        json!({"user_id": spec.user.as_str(),
            "model": {"provider": spec.model.provider.as_str(), "model_id": turn.model_id,
                      "session_default_model_id": spec.model.model_id},
            "system_prompt": spec.system_prompt, "connectors": connectors, "messages": messages}),
    );
}

fn trace_step(turn: &Turn, number: usize, step: &Step, results: Vec<Value>, sources: Vec<Value>, finish: FinishReason) {
    if !turn.trace.enabled() {
        return;
    }
    let calls: Vec<Value> = step
        .calls
        .iter()
        .map(
            |c| json!({"toolCallId": c.id, "toolName": c.name, "input": c.input.clone().unwrap_or_else(Value::String)}),
        )
        .collect();
    turn.trace.event(
        "step.finish",
        json!({"step_number": number, "text": step.text(), "reasoning_text": step.reasoning(), "tool_calls": calls,
            "tool_results": results, "source_documents_emitted": sources, "finish_reason": finish,
            "usage": step.usage, "warnings": []}),
    );
}

/// Stores the client's thread plus the assistant message as far as it got (SPEC §2.4: an aborted turn's
/// partial message is stored too), then tells the conversation's flusher; a failure is logged here.
fn persist(
    turn: Turn,
    message_id: String,
    parts: Value,
    metadata: &MessageMetadata,
) -> impl Future<Output = Result<(), DbError>> + 'static {
    let metadata_json = serde_json::to_string(metadata).ok();
    let mut messages = turn.history;
    messages.push(StoredMessage {
        message_id,
        ordinal: 0,
        role: Role::Assistant,
        parts_json: parts.to_string(),
        metadata_json,
    });
    let cid = turn.cid.clone();
    let (flushers, tenant, user) = (turn.flushers, turn.record.tenant.clone(), turn.record.spec.user.clone());
    let session = turn.record.id.clone();
    let sid = session.clone();
    let in_flight = turn.in_flight;
    let streaming = turn.streaming;
    let writer = turn.writer;
    let request = writer.send(ReplaceThread { cid: turn.cid, session, defaults: turn.defaults, messages });
    async move {
        let stored = request.await.unwrap_or(Err(DbError::WriterGone));
        // Held until the writer answered, so it is not retired with this reply still to store.
        drop((in_flight, streaming, writer));
        match &stored {
            Ok(()) => flushers.touched(&tenant, &user, &cid, &sid),
            Err(e) => tracing::error!(%cid, error = %e, "chat turn could not be stored"),
        }
        stored
    }
}
