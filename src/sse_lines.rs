//! Upstream SSE bodies (model streams, legacy MCP) handed to `eventsource-stream` one whole line at a
//! time. Its parser re-reads its whole buffer on every chunk and copies the rest of the buffer for every
//! line it takes, so a long line sent in small pieces, or many lines in one large chunk, costs time
//! quadratic in their size: a hostile model stream with one 70 KB line in 1–64 byte pieces held a turn
//! for 85 s of CPU (tests/api/hostile_upstreams.rs). Given single lines, it does linear work. A line
//! past [`MAX_LINE`] ends the stream with an error instead of growing a buffer without bound.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use eventsource_stream::{EventStream, Eventsource};
use futures_util::Stream;

/// The longest SSE line accepted: far above any real event (OpenAI's `response.completed` repeats the
/// whole reply, a few hundred KB at most).
pub const MAX_LINE: usize = 16 << 20;

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Why the body stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum LineError<E> {
    /// The connection failed.
    #[error("transport: {0}")]
    Transport(E),
    /// A line longer than [`MAX_LINE`].
    #[error("an SSE line longer than {MAX_LINE} bytes")]
    TooLong,
}

/// The SSE events of `body`.
pub fn events<S, E>(body: S) -> EventStream<Lines<S>>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    Lines::new(body).eventsource()
}

/// `body` re-cut so each item is one line with its end (`\n`, `\r\n` or `\r`); the last may lack one.
pub struct Lines<S> {
    body: Pin<Box<S>>,
    /// Bytes received and not yet handed on.
    pending: BytesMut,
    /// How far `pending` is known to hold no line end, so no byte is scanned twice.
    scanned: usize,
    /// A leading byte order mark has been looked for (and dropped): eventsource-stream's own check
    /// slices a three-byte BOM at one byte and panics.
    bom_checked: bool,
    /// The body ended or failed.
    ended: bool,
}

impl<S> Lines<S> {
    fn new(body: S) -> Self {
        Lines { body: Box::pin(body), pending: BytesMut::new(), scanned: 0, bom_checked: false, ended: false }
    }

    /// The next whole line in `pending`, if there is one.
    fn take_line(&mut self) -> Option<Bytes> {
        if !self.bom_checked {
            if self.pending.len() < BOM.len() && !self.ended {
                return None;
            }
            if self.pending.starts_with(BOM) {
                let _bom = self.pending.split_to(BOM.len());
            }
            self.bom_checked = true;
        }
        let found = self.pending[self.scanned..].iter().position(|b| matches!(b, b'\n' | b'\r'));
        let Some(at) = found.map(|i| self.scanned + i) else {
            self.scanned = self.pending.len();
            return None;
        };
        let end = match (self.pending[at], self.pending.get(at + 1)) {
            (b'\r', Some(b'\n')) => at + 2,
            // A `\r` last in what has come so far may be the first half of a `\r\n`.
            (b'\r', None) if !self.ended => {
                self.scanned = at;
                return None;
            }
            _ => at + 1,
        };
        self.scanned = 0;
        Some(self.pending.split_to(end).freeze())
    }
}

impl<S, E> Stream for Lines<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, LineError<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(line) = self.take_line() {
                return Poll::Ready(Some(Ok(line)));
            }
            if self.ended {
                self.scanned = 0;
                let rest = self.pending.split();
                return Poll::Ready((!rest.is_empty()).then(|| Ok(rest.freeze())));
            }
            if self.pending.len() > MAX_LINE {
                self.ended = true;
                (self.pending, self.scanned) = (BytesMut::new(), 0);
                return Poll::Ready(Some(Err(LineError::TooLong)));
            }
            match self.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => self.pending.extend_from_slice(&chunk),
                Poll::Ready(Some(Err(err))) => {
                    self.ended = true;
                    (self.pending, self.scanned) = (BytesMut::new(), 0);
                    return Poll::Ready(Some(Err(LineError::Transport(err))));
                }
                Poll::Ready(None) => self.ended = true,
                Poll::Pending => return Poll::Pending,
            }
        }
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
                        {\"x\": 1}\n\ndata: cut off at the end";

    fn parsed(pieces: Vec<Vec<u8>>) -> Vec<(String, String)> {
        let body = futures_util::stream::iter(pieces.into_iter().map(|p| Ok::<_, Infallible>(Bytes::from(p))));
        // Every piece is ready at once, so one poll runs the stream to its end.
        events(body).map(|e| e.map(|e| (e.event, e.data)).unwrap()).collect().now_or_never().unwrap()
    }

    #[test]
    fn every_line_end_and_the_bom_are_understood() {
        assert_eq!(
            parsed(vec![BODY.as_bytes().to_vec()]),
            [
                ("a".to_owned(), "one".to_owned()),
                ("message".to_owned(), "two\nlines".to_owned()),
                ("b".to_owned(), "{\"x\": 1}".to_owned()),
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

    #[test]
    fn a_line_past_the_bound_ends_the_stream_with_an_error() {
        let piece = Bytes::from(vec![b'x'; 1 << 20]);
        let body = futures_util::stream::iter(std::iter::repeat_n(Ok::<_, Infallible>(piece), 17));
        let items: Vec<_> = Lines::new(body).collect().now_or_never().unwrap();
        assert!(matches!(items.as_slice(), [Err(LineError::TooLong)]));
    }
}
