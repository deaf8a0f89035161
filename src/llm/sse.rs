//! The shared transport of the streaming adapters: one POST through the shared reqwest client, the
//! status classified once, the body parsed as SSE (eventsource-stream) and each event handed to the
//! provider's adapter. A stall (no event for the configured stall timeout) or an end without the provider's final
//! event is an error, never a silently short reply. A POST that has streamed is never retried.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::EventStreamError;
use futures_util::{Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use super::LlmEvent;
use super::error::LlmError;
use crate::sse_lines::LineError;

/// Deadline for the response headers.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(60);

/// A model call in progress.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<LlmEvent, LlmError>> + Send>>;

/// Translates one provider's SSE events (STYLE 15: translate, nothing more).
pub trait Adapter: Send + 'static {
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
    let reader = Reader {
        events: Box::pin(crate::sse_lines::events(response.bytes_stream())),
        adapter,
        ready: VecDeque::new(),
        ended: false,
        stalled: Box::pin(tokio::time::sleep(stall)),
        last_event: Instant::now(),
        stall,
    };
    Ok(Box::pin(futures_util::stream::unfold(reader, |mut reader| async move {
        reader.next().await.map(|item| (item, reader))
    })))
}

/// One response body being translated.
struct Reader<S, A> {
    events: Pin<Box<S>>,
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

impl<S, A> Reader<S, A>
where
    S: Stream<Item = Result<eventsource_stream::Event, EventStreamError<LineError<reqwest::Error>>>>,
    A: Adapter,
{
    async fn next(&mut self) -> Option<Result<LlmEvent, LlmError>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.ended || self.adapter.finished() {
                return None;
            }
            let next = tokio::select! {
                event = self.events.next() => event,
                () = &mut self.stalled => {
                    let due = self.last_event + self.stall;
                    if Instant::now() < due {
                        self.stalled.as_mut().reset(due);
                        continue;
                    }
                    self.ended = true;
                    return Some(Err(LlmError::Stalled));
                }
            };
            self.last_event = Instant::now();
            let translated = match next {
                None => Err(LlmError::Truncated),
                Some(Err(EventStreamError::Transport(LineError::Transport(e)))) => {
                    Err(LlmError::Unreachable(e.without_url()))
                }
                Some(Err(_)) => Err(LlmError::Malformed),
                Some(Ok(event)) => self.adapter.on_event(&event.event, &event.data),
            };
            match translated {
                Ok(events) => self.ready.extend(events),
                Err(err) => {
                    self.ended = true;
                    return Some(Err(err));
                }
            }
        }
    }
}
