//! Upstream SSE bodies (model streams, legacy MCP) parsed into events, as the WHATWG event-stream
//! format defines them, in one pass over each byte. An event costs no allocation once the buffers have
//! grown: the model relay parses one per token. It replaced eventsource-stream, which re-read its whole
//! buffer on every chunk (a hostile stream with one 70 KB line in 1–64 byte pieces held a turn for 85 s of
//! CPU, tests/api/hostile_upstreams.rs), panicked on a leading byte order mark, and allocated several
//! strings per event. A line or an event's data past [`MAX_EVENT`] ends the stream with an error instead of
//! growing a buffer without bound.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;

/// The longest SSE line, and the most data one event may carry: far above any real event (OpenAI's
/// `response.completed` repeats the whole reply, a few hundred KB at most).
pub const MAX_EVENT: usize = 16 << 20;

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Why the body stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum SseError<E> {
    /// The connection failed.
    #[error("transport: {0}")]
    Transport(E),
    /// A line, or one event's data, longer than [`MAX_EVENT`].
    #[error("an SSE line or event longer than {MAX_EVENT} bytes")]
    TooLong,
    /// A line that is not UTF-8.
    #[error("an SSE line that is not UTF-8")]
    NotUtf8,
}

/// One event, borrowed from the parser until the next is asked for.
#[derive(Debug, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The `event:` name; `message` when the event named none.
    pub event: &'a str,
    /// The `data:` lines, joined by `\n`.
    pub data: &'a str,
}

/// One event, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` name; `message` when the event named none.
    pub event: String,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// The events of `body`, read as they are asked for.
pub struct Events<S> {
    body: Pin<Box<S>>,
    /// Bytes received and not yet parsed.
    pending: BytesMut,
    /// How far `pending` is known to hold no line end, so no byte is scanned twice.
    scanned: usize,
    /// A leading byte order mark has been looked for (and dropped).
    bom_checked: bool,
    /// The `event:` name of the event being assembled.
    name: String,
    /// Its data lines, each followed by `\n`.
    data: String,
    /// The last event handed out; its buffers are cleared before the next line is parsed.
    dispatched: bool,
    /// The body ended or failed.
    ended: bool,
}

/// What the next line of `pending` is, if a whole one is there.
enum Line {
    /// No line end yet: more bytes are needed (or, at the body's end, none will come).
    Incomplete,
    /// The line's bytes without their end, and the bytes it takes with its end.
    Whole { len: usize, taken: usize },
}

impl<S> Events<S> {
    /// Parses `body` as it arrives.
    pub fn new(body: S) -> Self {
        Events {
            body: Box::pin(body),
            pending: BytesMut::new(),
            scanned: 0,
            bom_checked: false,
            name: String::new(),
            data: String::new(),
            dispatched: false,
            ended: false,
        }
    }

    /// The next line end in `pending` (`\n`, `\r\n` or `\r`). Bytes after the last line end at the body's
    /// end stay incomplete: the format discards them.
    fn next_line(&mut self) -> Line {
        let found = self.pending[self.scanned..].iter().position(|b| matches!(b, b'\n' | b'\r'));
        let Some(at) = found.map(|i| self.scanned + i) else {
            self.scanned = self.pending.len();
            return Line::Incomplete;
        };
        let taken = match (self.pending[at], self.pending.get(at + 1)) {
            (b'\r', Some(b'\n')) => at + 2,
            // A `\r` last in what has come so far may be the first half of a `\r\n`.
            (b'\r', None) if !self.ended => {
                self.scanned = at;
                return Line::Incomplete;
            }
            _ => at + 1,
        };
        self.scanned = 0;
        Line::Whole { len: at, taken }
    }

    /// The event `parse` has just assembled.
    fn current(&self) -> EventRef<'_> {
        let event = if self.name.is_empty() { "message" } else { &self.name };
        // `parse` returns an event only with data, which ends with the `\n` of its last line.
        EventRef { event, data: &self.data[..self.data.len() - 1] }
    }
}

impl<S, E> Events<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    /// Parses what has arrived up to the next whole event, which is then in `name` and `data` (see
    /// [`Events::current`]); `Ok(false)` when more bytes are needed or, once the body has ended, when none
    /// is left (an event without its closing blank line is dropped, as the format says).
    fn parse(&mut self) -> Result<bool, SseError<E>> {
        if std::mem::take(&mut self.dispatched) {
            self.name.clear();
            self.data.clear();
        }
        if !self.bom_checked {
            if self.pending.len() < BOM.len() && !self.ended {
                return Ok(false);
            }
            if self.pending.starts_with(BOM) {
                self.pending.advance(BOM.len());
            }
            self.bom_checked = true;
        }
        loop {
            let Line::Whole { len, taken } = self.next_line() else {
                return if self.pending.len() > MAX_EVENT { Err(SseError::TooLong) } else { Ok(false) };
            };
            // Also when the chunk that took the line past the bound held its end.
            if len > MAX_EVENT {
                return Err(SseError::TooLong);
            }
            let line = std::str::from_utf8(&self.pending[..len]).map_err(|_| SseError::NotUtf8)?;
            if line.is_empty() {
                self.pending.advance(taken);
                if self.data.is_empty() {
                    self.name.clear();
                    continue;
                }
                self.dispatched = true;
                return Ok(true);
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            };
            match field {
                "event" => value.clone_into(&mut self.name),
                "data" => {
                    if self.data.len() + value.len() >= MAX_EVENT {
                        return Err(SseError::TooLong);
                    }
                    self.data.push_str(value);
                    self.data.push('\n');
                }
                // Comments (an empty field name), `id` and `retry` (nothing here reconnects), unknown fields.
                _ => {}
            }
            self.pending.advance(taken);
        }
    }

    /// The next event, borrowed until the next call; `None` at the body's end. After an error, nothing
    /// follows.
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<EventRef<'_>, SseError<E>>>> {
        loop {
            match self.parse() {
                Ok(true) => return Poll::Ready(Some(Ok(self.current()))),
                Ok(false) if self.ended => return Poll::Ready(None),
                Ok(false) => {}
                Err(err) => return Poll::Ready(Some(Err(self.fail(err)))),
            }
            match ready!(self.body.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => self.pending.extend_from_slice(&chunk),
                Some(Err(err)) => return Poll::Ready(Some(Err(self.fail(SseError::Transport(err))))),
                None => self.ended = true,
            }
        }
    }

    /// Ends the stream with `err`: nothing is parsed after it (the body counts as ended, and nothing of
    /// it is kept).
    fn fail(&mut self, err: SseError<E>) -> SseError<E> {
        self.ended = true;
        (self.pending, self.scanned) = (BytesMut::new(), 0);
        err
    }
}

/// Owned events, for callers that keep them (the legacy MCP transport).
impl<S, E> Stream for Events<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Event, SseError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // `Events` is `Unpin`: the body is boxed.
        let this = self.get_mut();
        this.poll_event(cx)
            .map(|item| item.map(|event| event.map(|e| Event { event: e.event.to_owned(), data: e.data.to_owned() })))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::convert::Infallible;

    use futures_util::{FutureExt, StreamExt};
    use proptest::prelude::*;

    use super::*;

    const BODY: &str = "\u{feff}event: a\r\ndata: one\r\n\r\n: comment\rdata: two\rdata: lines\r\revent: b\ndata: \
                        {\"x\": 1}\nid: 7\nretry: 10\n\nevent: no data\n\ndata:\ndata\n\ndata: cut off at the end";

    fn parsed(pieces: Vec<Vec<u8>>) -> Vec<(String, String)> {
        let body = futures_util::stream::iter(pieces.into_iter().map(|p| Ok::<_, Infallible>(Bytes::from(p))));
        // Every piece is ready at once, so one poll runs the stream to its end.
        Events::new(body).map(|e| e.map(|e| (e.event, e.data)).unwrap()).collect().now_or_never().unwrap()
    }

    #[test]
    fn every_line_end_and_the_bom_are_understood() {
        assert_eq!(
            parsed(vec![BODY.as_bytes().to_vec()]),
            [
                ("a".to_owned(), "one".to_owned()),
                ("message".to_owned(), "two\nlines".to_owned()),
                ("b".to_owned(), "{\"x\": 1}".to_owned()),
                // Two empty data lines: data is one line end; the name of the data-less event is forgotten.
                ("message".to_owned(), "\n".to_owned()),
            ]
        );
    }

    proptest! {
        #[test]
        fn pieces_cut_anywhere_give_the_same_events(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12)) {
            let bytes = BODY.as_bytes();
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            at.extend([0, bytes.len()]);
            at.sort_unstable();
            let pieces = at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect();
            prop_assert_eq!(parsed(pieces), parsed(vec![bytes.to_vec()]));
        }
    }

    fn errors_of(pieces: impl Iterator<Item = Bytes>) -> Vec<String> {
        let body = futures_util::stream::iter(pieces.map(Ok::<_, Infallible>));
        let items: Vec<_> = Events::new(body).collect().now_or_never().unwrap();
        items.into_iter().map(|i| i.map_or_else(|e| e.to_string(), |e| e.data)).collect()
    }

    #[test]
    fn a_line_past_the_bound_ends_the_stream_with_an_error() {
        let piece = Bytes::from(vec![b'x'; 1 << 20]);
        assert_eq!(errors_of(std::iter::repeat_n(piece, 17)), [SseError::<Infallible>::TooLong.to_string()]);
    }

    #[test]
    fn a_line_past_the_bound_in_one_piece_with_its_end_is_refused_too() {
        let mut line = vec![b'x'; MAX_EVENT + 1];
        line.push(b'\n');
        assert_eq!(errors_of(std::iter::once(Bytes::from(line))), [SseError::<Infallible>::TooLong.to_string()]);
    }

    #[test]
    fn data_past_the_bound_in_short_lines_ends_the_stream_with_an_error() {
        let line = Bytes::from(format!("data: {}\n", "x".repeat(1 << 16)));
        let events = errors_of(std::iter::once(Bytes::from("data: first\n\n")).chain(std::iter::repeat_n(line, 300)));
        assert_eq!(events, ["first".to_owned(), SseError::<Infallible>::TooLong.to_string()]);
    }

    #[test]
    fn a_line_that_is_not_utf8_ends_the_stream_with_an_error() {
        let events =
            errors_of([Bytes::from("data: ok\n\n"), Bytes::from(&b"data: \xff\n\ndata: later\n\n"[..])].into_iter());
        assert_eq!(events, ["ok".to_owned(), SseError::<Infallible>::NotUtf8.to_string()]);
    }
}
