//! One chat turn: validate the thread, drive the model, stream UI-message chunks to the browser, and
//! persist the turn through the user's writer when it ends, finished or not (SPEC §2.4, §4, §5.1).
//! Invariant: the model's stream is never routed through an actor token by token; the writer gets one
//! message per turn. A client that goes away stops the turn at the next chunk, and what the assistant
//! had produced is stored.

pub mod thread;

use std::time::Duration;

use actix_web::web::Bytes;
use augchatd_actors::flusher::{Flushers, TurnInFlight};
use std::sync::Arc;

use augchatd_actors::ids::ConversationId;
use augchatd_actors::record::SessionRecord;
use augchatd_actors::user_db::{ReplaceThread, Role, StoredMessage, UserDbWriter};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::llm::{self, LlmEvent, ModelCall, ProviderBases};
use crate::stream::{Chunk, DONE, FinishReason, KEEPALIVE, MessageMetadata, ModelTag};

/// Silence after which a keep-alive comment is sent (SPEC §4.6).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// Chunks buffered between the turn and a slow client before the turn waits.
const CHUNK_BUFFER: usize = 64;
/// What the browser sees when the model fails; the real cause goes to the log (SPEC §4.5).
const MASKED_ERROR: &str = "An error occurred.";

/// Everything a turn needs, resolved before the 200 goes out.
pub struct Turn {
    /// The session running the turn (model, key, system prompt, tenant, user).
    pub record: Arc<SessionRecord>,
    /// The resolved model id: the conversation's override, else the session default.
    pub model_id: String,
    /// The shared outbound client.
    pub http: reqwest::Client,
    /// Default provider API roots.
    pub bases: ProviderBases,
    /// The writer of the session's user.
    pub writer: actix::Addr<UserDbWriter>,
    /// Told when the stored turn makes the conversation dirty.
    pub flushers: Flushers,
    /// The conversation.
    pub cid: ConversationId,
    /// Connector defaults, in case the conversation must be re-created when the turn is stored.
    pub defaults: Vec<(String, bool)>,
    /// The client's thread, as it will be stored.
    pub history: Vec<StoredMessage>,
    /// Keeps the user's hot file from eviction until the reply is stored.
    pub in_flight: TurnInFlight,
}

impl Turn {
    fn metadata(&self) -> MessageMetadata {
        let provider = self.record.spec.model.provider.as_str().to_owned();
        MessageMetadata { augchatd: ModelTag { model_id: self.model_id.clone(), provider } }
    }
}

/// Starts the turn and returns the SSE body. The turn runs as its own task; the body is the receiving
/// end of its channel, so dropping the response (client gone) closes the channel and ends the turn.
pub fn start(turn: Turn) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
    let (tx, rx) = mpsc::channel::<Bytes>(CHUNK_BUFFER);
    actix_web::rt::spawn(run(turn, tx));
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|bytes| (Ok(bytes), rx)) })
}

/// The assistant message as it is built: its parts in order, and the part being streamed.
#[derive(Default)]
struct Reply {
    parts: Vec<(PartKind, String)>,
    open: Option<(PartKind, String)>,
}

/// The two streamed part kinds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PartKind {
    Text,
    Reasoning,
}

impl Reply {
    /// The stored `parts` array, as the AI SDK assembles it.
    fn stored_parts(&self) -> Value {
        let mut parts = vec![json!({"type": "step-start"})];
        for (kind, text) in self.parts.iter().filter(|(_, text)| !text.is_empty()) {
            let kind = if *kind == PartKind::Text { "text" } else { "reasoning" };
            parts.push(json!({"type": kind, "text": text, "state": "done"}));
        }
        Value::Array(parts)
    }
}

async fn run(turn: Turn, tx: mpsc::Sender<Bytes>) {
    let message_id = format!("msg-{}", uuid::Uuid::new_v4().simple());
    let mut reply = Reply::default();
    if let Err(reason) = stream_reply(&turn, &tx, &message_id, &mut reply).await {
        tracing::info!(cid = %turn.cid, sid = %turn.record.id, reason, "chat turn ended early");
    }
    persist(turn, message_id, reply);
}

/// Sends one event; `Err` when the client has gone.
async fn send(tx: &mpsc::Sender<Bytes>, bytes: Bytes) -> Result<(), &'static str> {
    tx.send(bytes).await.map_err(|_| "client disconnected")
}

/// Closes the open part, if any, with its `*-end` chunk.
async fn close_part(tx: &mpsc::Sender<Bytes>, reply: &mut Reply) -> Result<(), &'static str> {
    let Some((kind, id)) = reply.open.take() else { return Ok(()) };
    let end = match kind {
        PartKind::Text => Chunk::TextEnd { id: &id },
        PartKind::Reasoning => Chunk::ReasoningEnd { id: &id },
    };
    send(tx, end.to_event()).await
}

/// Streams one delta, opening a new part when the kind changes.
async fn delta(tx: &mpsc::Sender<Bytes>, reply: &mut Reply, kind: PartKind, text: &str) -> Result<(), &'static str> {
    if reply.open.as_ref().is_none_or(|(open, _)| *open != kind) {
        close_part(tx, reply).await?;
        let id =
            format!("{}-{}", if kind == PartKind::Text { "text" } else { "reasoning" }, uuid::Uuid::new_v4().simple());
        let start = match kind {
            PartKind::Text => Chunk::TextStart { id: &id },
            PartKind::Reasoning => Chunk::ReasoningStart { id: &id },
        };
        send(tx, start.to_event()).await?;
        reply.parts.push((kind, String::new()));
        reply.open = Some((kind, id));
    }
    let Some((_, id)) = &reply.open else { return Ok(()) };
    let chunk = match kind {
        PartKind::Text => Chunk::TextDelta { id, delta: text },
        PartKind::Reasoning => Chunk::ReasoningDelta { id, delta: text },
    };
    send(tx, chunk.to_event()).await?;
    if let Some((_, stored)) = reply.parts.last_mut() {
        stored.push_str(text);
    }
    Ok(())
}

/// A failure after the 200: the masked error chunk, then the end of the stream (SPEC §4.5).
async fn fail(
    turn: &Turn,
    tx: &mpsc::Sender<Bytes>,
    reply: &mut Reply,
    err: &llm::error::LlmError,
) -> Result<(), &'static str> {
    tracing::warn!(cid = %turn.cid, sid = %turn.record.id, provider = turn.record.spec.model.provider.as_str(),
        model_id = %turn.model_id, error = %err, "model call failed");
    close_part(tx, reply).await?;
    send(tx, Chunk::Error { error_text: MASKED_ERROR }.to_event()).await?;
    send(tx, Bytes::from_static(DONE)).await?;
    Err("model call failed")
}

async fn stream_reply(
    turn: &Turn,
    tx: &mpsc::Sender<Bytes>,
    message_id: &str,
    reply: &mut Reply,
) -> Result<(), &'static str> {
    let metadata = turn.metadata();
    send(tx, Chunk::Start { message_id, message_metadata: &metadata }.to_event()).await?;
    send(tx, Chunk::StartStep.to_event()).await?;
    let spec = &turn.record.spec;
    let call =
        ModelCall { model: &spec.model, model_id: &turn.model_id, system: &spec.system_prompt, history: &turn.history };
    let opening = llm::stream(&turn.http, &turn.bases, call);
    tokio::pin!(opening);
    // Keep-alives flow while the provider thinks before its first byte, too.
    let mut events = loop {
        tokio::select! {
            opened = &mut opening => match opened {
                Ok(events) => break events,
                Err(err) => return fail(turn, tx, reply, &err).await,
            },
            () = tokio::time::sleep(KEEPALIVE_INTERVAL) => send(tx, Bytes::from_static(KEEPALIVE)).await?,
            () = tx.closed() => return Err("client disconnected"),
        }
    };
    let mut finish_reason = FinishReason::Stop;
    loop {
        let next = tokio::select! {
            next = events.next() => next,
            () = tokio::time::sleep(KEEPALIVE_INTERVAL) => {
                send(tx, Bytes::from_static(KEEPALIVE)).await?;
                continue;
            }
            () = tx.closed() => return Err("client disconnected"),
        };
        match next {
            None => break,
            Some(Ok(LlmEvent::TextDelta(text))) => delta(tx, reply, PartKind::Text, &text).await?,
            Some(Ok(LlmEvent::ReasoningDelta(text))) => delta(tx, reply, PartKind::Reasoning, &text).await?,
            Some(Ok(LlmEvent::Finished(reason))) => finish_reason = reason,
            Some(Err(err)) => return fail(turn, tx, reply, &err).await,
        }
    }
    close_part(tx, reply).await?;
    send(tx, Chunk::FinishStep.to_event()).await?;
    send(tx, Chunk::Finish { finish_reason, message_metadata: &metadata }.to_event()).await?;
    send(tx, Bytes::from_static(DONE)).await
}

/// Stores the client's thread plus the assistant message as far as it got (SPEC §2.4: an aborted turn's
/// partial message is stored too). Fire and forget: a failure is logged by the writer's caller side.
fn persist(turn: Turn, message_id: String, reply: Reply) {
    let metadata_json = serde_json::to_string(&turn.metadata()).ok();
    let mut messages = turn.history;
    messages.push(StoredMessage {
        message_id,
        ordinal: 0,
        role: Role::Assistant,
        parts_json: reply.stored_parts().to_string(),
        metadata_json,
    });
    let cid = turn.cid.clone();
    let (flushers, tenant, user) = (turn.flushers, turn.record.tenant.clone(), turn.record.spec.user.clone());
    let session = turn.record.id.clone();
    let in_flight = turn.in_flight;
    let request = turn.writer.send(ReplaceThread { cid: turn.cid, session, defaults: turn.defaults, messages });
    actix_web::rt::spawn(async move {
        let stored = request.await;
        drop(in_flight);
        match stored {
            Ok(Ok(())) => flushers.touched(&tenant, &user, &cid),
            Ok(Err(e)) => tracing::error!(%cid, error = %e, "chat turn could not be stored"),
            Err(e) => {
                tracing::error!(%cid, error = %e, "chat turn could not be stored: writer gone")
            }
        }
    });
}
