//! One chat turn: validate the thread, drive the model, stream UI-message chunks to the browser, and
//! persist the turn through the user's writer when it ends, finished or not (SPEC §2.4, §4, §5.1).
//! Invariant: the model's stream is never routed through an actor token by token; the writer gets one
//! message per turn. A client that goes away stops the turn at the next chunk, and what the assistant
//! had produced is stored.

pub mod thread;

use std::time::Duration;

use actix_web::web::Bytes;
use augchatd_actors::flusher::Flushers;
use augchatd_actors::ids::{ConversationId, SessionId, TenantId, UserId};
use augchatd_actors::record::Provider;
use augchatd_actors::user_db::{ReplaceThread, Role, StoredMessage, UserDbWriter};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;

use crate::llm::{LlmEvent, offline};
use crate::stream::{Chunk, DONE, FinishReason, KEEPALIVE, MessageMetadata};

/// Silence after which a keep-alive comment is sent (SPEC §4.6).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// Chunks buffered between the turn and a slow client before the turn waits.
const CHUNK_BUFFER: usize = 64;
/// What the browser sees when the model fails; the real cause goes to the log (SPEC §4.5).
const MASKED_ERROR: &str = "An error occurred.";

/// Everything a turn needs, resolved before the 200 goes out.
pub struct Turn {
    /// The writer of the session's user.
    pub writer: actix::Addr<UserDbWriter>,
    /// Told when the stored turn makes the conversation dirty.
    pub flushers: Flushers,
    /// The session's tenant.
    pub tenant: TenantId,
    /// The session's user.
    pub user: UserId,
    /// The conversation.
    pub cid: ConversationId,
    /// The session running the turn.
    pub session: SessionId,
    /// Connector defaults, in case the conversation must be re-created when the turn is stored.
    pub defaults: Vec<(String, bool)>,
    /// The client's thread, as it will be stored.
    pub history: Vec<StoredMessage>,
    /// Which provider answers.
    pub provider: Provider,
    /// The model chip of the new message.
    pub metadata: MessageMetadata,
}

/// The model's event stream for this turn.
fn model_events(provider: Provider) -> Result<std::pin::Pin<Box<dyn Stream<Item = LlmEvent> + Send>>, &'static str> {
    match provider {
        Provider::Offline => Ok(Box::pin(offline::reply())),
        // The streaming adapters for hosted providers are not part of this build yet.
        Provider::Anthropic | Provider::OpenAi => Err("provider streaming is not available in this build"),
    }
}

/// Starts the turn and returns the SSE body. The turn runs as its own task; the body is the receiving
/// end of its channel, so dropping the response (client gone) closes the channel and ends the turn.
pub fn start(turn: Turn) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
    let (tx, rx) = mpsc::channel::<Bytes>(CHUNK_BUFFER);
    actix_web::rt::spawn(run(turn, tx));
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|bytes| (Ok(bytes), rx)) })
}

async fn run(turn: Turn, tx: mpsc::Sender<Bytes>) {
    let message_id = format!("msg-{}", uuid::Uuid::new_v4().simple());
    let text_id = format!("text-{}", uuid::Uuid::new_v4().simple());
    let mut text = String::new();
    let outcome = stream_reply(&turn, &tx, &message_id, &text_id, &mut text).await;
    if let Err(reason) = &outcome {
        tracing::info!(cid = %turn.cid, sid = %turn.session, reason, "chat turn ended early");
    }
    persist(turn, message_id, text);
}

/// Sends one event; `Err` when the client has gone.
async fn send(tx: &mpsc::Sender<Bytes>, bytes: Bytes) -> Result<(), &'static str> {
    tx.send(bytes).await.map_err(|_| "client disconnected")
}

async fn stream_reply(
    turn: &Turn,
    tx: &mpsc::Sender<Bytes>,
    message_id: &str,
    text_id: &str,
    text: &mut String,
) -> Result<(), &'static str> {
    let metadata = &turn.metadata;
    send(tx, Chunk::Start { message_id, message_metadata: metadata }.to_event()).await?;
    send(tx, Chunk::StartStep.to_event()).await?;
    let mut events = match model_events(turn.provider) {
        Ok(events) => events,
        Err(why) => {
            tracing::error!(cid = %turn.cid, provider = turn.provider.as_str(), error = why, "chat turn failed");
            send(tx, Chunk::Error { error_text: MASKED_ERROR }.to_event()).await?;
            send(tx, Bytes::from_static(DONE)).await?;
            return Err("model unavailable");
        }
    };
    send(tx, Chunk::TextStart { id: text_id }.to_event()).await?;
    loop {
        match tokio::time::timeout(KEEPALIVE_INTERVAL, events.next()).await {
            Err(_silence) => send(tx, Bytes::from_static(KEEPALIVE)).await?,
            Ok(None) => break,
            Ok(Some(LlmEvent::TextDelta(delta))) => {
                send(tx, Chunk::TextDelta { id: text_id, delta: &delta }.to_event()).await?;
                text.push_str(&delta);
            }
        }
    }
    send(tx, Chunk::TextEnd { id: text_id }.to_event()).await?;
    send(tx, Chunk::FinishStep.to_event()).await?;
    send(tx, Chunk::Finish { finish_reason: FinishReason::Stop, message_metadata: metadata }.to_event()).await?;
    send(tx, Bytes::from_static(DONE)).await
}

/// Stores the client's thread plus the assistant message as far as it got (SPEC §2.4: an aborted turn's
/// partial message is stored too). Fire and forget: a failure is logged by the writer's caller side.
fn persist(turn: Turn, message_id: String, text: String) {
    let mut messages = turn.history;
    let mut parts = vec![json!({"type": "step-start"})];
    if !text.is_empty() {
        parts.push(json!({"type": "text", "text": text, "state": "done"}));
    }
    messages.push(StoredMessage {
        message_id,
        ordinal: 0,
        role: Role::Assistant,
        parts_json: serde_json::Value::Array(parts).to_string(),
        metadata_json: serde_json::to_string(&turn.metadata).ok(),
    });
    let cid = turn.cid.clone();
    let (flushers, tenant, user) = (turn.flushers, turn.tenant, turn.user);
    let request =
        turn.writer.send(ReplaceThread { cid: turn.cid, session: turn.session, defaults: turn.defaults, messages });
    actix_web::rt::spawn(async move {
        match request.await {
            Ok(Ok(())) => flushers.touched(&tenant, &user, &cid),
            Ok(Err(e)) => tracing::error!(%cid, error = %e, "chat turn could not be stored"),
            Err(e) => {
                tracing::error!(%cid, error = %e, "chat turn could not be stored: writer gone")
            }
        }
    });
}
