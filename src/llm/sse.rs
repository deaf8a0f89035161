//! The shared transport of the streaming adapters: one POST through the shared reqwest client, the
//! status classified once, the body parsed as SSE (eventsource-stream) and each event handed to the
//! provider's adapter. A stall (no event for the configured stall timeout) or an end without the provider's final
//! event is an error, never a silently short reply. A POST that has streamed is never retried.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};

use super::LlmEvent;
use super::error::LlmError;

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
    let events = response.bytes_stream().eventsource();
    let state = (Box::pin(events), adapter, VecDeque::new(), false);
    Ok(Box::pin(futures_util::stream::unfold(
        state,
        move |(mut events, mut adapter, mut ready, mut ended)| async move {
            loop {
                if let Some(event) = ready.pop_front() {
                    return Some((Ok(event), (events, adapter, ready, ended)));
                }
                if ended || adapter.finished() {
                    return None;
                }
                let next = match tokio::time::timeout(stall, events.next()).await {
                    Err(_) => Err(LlmError::Stalled),
                    Ok(None) => Err(LlmError::Truncated),
                    Ok(Some(Err(EventStreamError::Transport(e)))) => Err(LlmError::Unreachable(e.without_url())),
                    Ok(Some(Err(_))) => Err(LlmError::Malformed),
                    Ok(Some(Ok(event))) => adapter.on_event(&event.event, &event.data).map(VecDeque::from),
                };
                match next {
                    Ok(events_out) => ready = events_out,
                    Err(err) => {
                        ended = true;
                        return Some((Err(err), (events, adapter, ready, ended)));
                    }
                }
            }
        },
    )))
}
