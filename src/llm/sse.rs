//! The shared transport of the streaming adapters: one POST through the shared reqwest client, the
//! status classified once, the body parsed as SSE (`sse_events`) and each event handed to the
//! provider's adapter. A stall (no event for the configured stall timeout) or an end without the provider's final
//! event is an error, never a silently short reply. A POST that has streamed is never retried.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use super::LlmEvent;
use super::error::LlmError;
use crate::sse_events::{Events, SseError};

/// Deadline for the response headers.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(60);

/// A model call in progress.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<LlmEvent, LlmError>> + Send>>;

/// Translates one provider's SSE events (STYLE 15: translate, nothing more).
pub trait Adapter: Send + Unpin + 'static {
    /// One SSE event (`event:` name and `data:` text) into zero or more events.
    fn on_event(&mut self, event: &str, data: &str) -> Result<Vec<LlmEvent>, LlmError>;
    /// True once the provider's terminal event has been seen.
    fn finished(&self) -> bool;
}

/// Sends `request` and returns its translated event stream, or the classified refusal.
pub async fn open(
    request: reqwest::RequestBuilder,
    adapter: impl Adapter,
    stall: Duration,
) -> Result<EventStream, LlmError> {
    let response = tokio::time::timeout(HEADERS_TIMEOUT, request.send())
        .await
        .map_err(|_| LlmError::Stalled)?
        .map_err(|e| LlmError::Unreachable(e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(LlmError::from_status(status.as_u16()));
    }
    Ok(Box::pin(Reader {
        events: Events::new(response.bytes_stream()),
        adapter,
        ready: VecDeque::new(),
        ended: false,
        stalled: Box::pin(tokio::time::sleep(stall)),
        last_event: Instant::now(),
        stall,
    }))
}

/// One response body being translated. A hand-written stream, polled straight by the turn: the relay
/// runs it once per token.
struct Reader<S, A> {
    events: Events<S>,
    adapter: A,
    /// Translated events not yet handed out.
    ready: VecDeque<LlmEvent>,
    /// Set after an error: nothing follows it.
    ended: bool,
    /// Fires at the earliest moment the stream may have stalled. Re-armed only when it fires, not per
    /// event: a timer per token was a timer-wheel insert and removal per token (benches/chat.rs).
    stalled: Pin<Box<Sleep>>,
    last_event: Instant,
    stall: Duration,
}

impl<S, A> Stream for Reader<S, A>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>>,
    A: Adapter,
{
    type Item = Result<LlmEvent, LlmError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is `Unpin` (the body and the timer are boxed).
        let this = self.get_mut();
        loop {
            if let Some(event) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            if this.ended || this.adapter.finished() {
                return Poll::Ready(None);
            }
            let Poll::Ready(next) = this.events.poll_event(cx) else {
                if this.stalled.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let due = this.last_event + this.stall;
                if Instant::now() < due {
                    this.stalled.as_mut().reset(due);
                    continue;
                }
                this.ended = true;
                return Poll::Ready(Some(Err(LlmError::Stalled)));
            };
            this.last_event = Instant::now();
            let translated = match next {
                None => Err(LlmError::Truncated),
                Some(Err(SseError::Transport(e))) => Err(LlmError::Unreachable(e.without_url())),
                Some(Err(_)) => Err(LlmError::Malformed),
                Some(Ok(event)) => this.adapter.on_event(event.event, event.data),
            };
            match translated {
                Ok(events) => this.ready.extend(events),
                Err(err) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }
}
