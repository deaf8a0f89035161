//! The tape of one turn: every SSE event the turn produced, in order, shared by the turn (its only
//! writer) and the streams that read it (the `POST /chat` that started it, and each
//! `GET /chat/{cid}/stream` that resumes it). A reader that attaches later replays it from the start.
//! Invariant: the writer never waits for a reader. Each reader keeps its own position in the one log,
//! so a slow or absent reader cannot stall the model or another reader, and memory is bounded by
//! `MAX_TAPE_BYTES` whatever the readers do. Keep-alive comments are per reader, never on the tape.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::stream::KEEPALIVE;

/// The most a tape holds. Past it the oldest events go, and the turn can no longer be replayed from
/// its start (a reader still behind them is cut). It equals the largest `POST /chat` body: a reply
/// bigger than that could not be sent back as history anyway.
pub const MAX_TAPE_BYTES: usize = 8 * 1024 * 1024;
/// Readers one turn may have at once (tabs of one user, a reconnect racing the old connection).
pub const MAX_READERS: usize = 4;
/// Silence after which a reader gets a keep-alive comment. SPEC §4.6 asks for one at least every ~15 s;
/// it is every second because actix notices a client that has gone only when a write to it fails, and
/// the turn's unattended clock should start soon after the browser leaves.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// Most bytes handed to the response in one piece when a reader catches up.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Why a reader could not attach.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The start of the turn is no longer on the tape (`MAX_TAPE_BYTES`).
    Partial,
    /// The turn already has `MAX_READERS` readers.
    Crowded,
}

/// A reader fell behind the events the tape dropped; its response ends abruptly, so its client sees
/// a lost connection, not a finished reply.
#[derive(Debug, thiserror::Error)]
#[error("the reader fell behind the turn's buffer")]
pub struct Cut;

/// The events, numbered from the turn's start.
#[derive(Default)]
struct Log {
    events: VecDeque<Bytes>,
    /// Number of the first event still held.
    first: usize,
    bytes: usize,
    /// The turn has written its last event.
    closed: bool,
}

/// Who reads the tape.
struct Attendance {
    readers: usize,
    /// When the last reader left (or the tape was made).
    since: Instant,
    /// A reader has taken the last event of the closed tape.
    delivered: bool,
}

/// One turn's events and readers.
pub struct Tape {
    log: watch::Sender<Log>,
    attendance: watch::Sender<Attendance>,
}

impl Tape {
    /// A new tape and its first reader: the request that starts the turn.
    pub fn new() -> (Arc<Tape>, Reader) {
        let attendance = Attendance { readers: 0, since: Instant::now(), delivered: false };
        let tape =
            Arc::new(Tape { log: watch::Sender::new(Log::default()), attendance: watch::Sender::new(attendance) });
        let reader = Reader::attach(&tape, 0);
        (tape, reader)
    }

    /// Appends one event; never waits.
    pub fn push(&self, event: Bytes) {
        self.log.send_modify(|log| {
            log.bytes += event.len();
            log.events.push_back(event);
            while log.bytes > MAX_TAPE_BYTES && log.events.len() > 1 {
                if let Some(dropped) = log.events.pop_front() {
                    log.bytes -= dropped.len();
                    log.first += 1;
                }
            }
        });
    }

    /// The turn has written its last event: readers end once they have taken it.
    pub fn close(&self) {
        self.log.send_modify(|log| log.closed = true);
    }

    /// A new reader from the turn's first event.
    pub fn replay(self: &Arc<Self>) -> Result<Reader, Refused> {
        if self.log.borrow().first > 0 {
            return Err(Refused::Partial);
        }
        let mut crowded = false;
        self.attendance.send_if_modified(|a| {
            crowded = a.readers >= MAX_READERS;
            !crowded && {
                a.readers += 1;
                true
            }
        });
        if crowded {
            return Err(Refused::Crowded);
        }
        Ok(Reader::attached(self, 0))
    }

    /// Whether a reader has taken the whole closed tape.
    pub fn delivered(&self) -> bool {
        self.attendance.borrow().delivered
    }

    /// Resolves once no reader has been attached for `window`; pending while one is.
    pub async fn unattended(&self, window: Duration) {
        let mut changes = self.attendance.subscribe();
        loop {
            let (readers, since) = {
                let attendance = changes.borrow_and_update();
                (attendance.readers, attendance.since)
            };
            let changed = if readers > 0 {
                changes.changed().await
            } else {
                tokio::select! {
                    () = tokio::time::sleep_until(since + window) => return,
                    changed = changes.changed() => changed,
                }
            };
            if changed.is_err() {
                // The sender lives in `self`, which outlives this future; nothing to wait for otherwise.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// What a reader found on the tape.
enum Taken {
    Events(Bytes),
    End,
    Behind,
    Nothing,
}

/// One response reading the tape at its own pace. Dropping it (the client left) detaches it.
pub struct Reader {
    tape: Arc<Tape>,
    log: watch::Receiver<Log>,
    /// Number of the next event to send.
    next: usize,
    /// When this reader last handed the response something: its keep-alive clock.
    last_write: Instant,
    /// Fires at the earliest moment a keep-alive may be due; re-armed only when it fires.
    quiet: Pin<Box<Sleep>>,
}

impl Reader {
    fn attach(tape: &Arc<Tape>, next: usize) -> Reader {
        tape.attendance.send_modify(|a| a.readers += 1);
        Reader::attached(tape, next)
    }

    /// A reader already counted in the attendance.
    fn attached(tape: &Arc<Tape>, next: usize) -> Reader {
        let now = Instant::now();
        Reader {
            tape: Arc::clone(tape),
            log: tape.log.subscribe(),
            next,
            last_write: now,
            quiet: Box::pin(tokio::time::sleep_until(now + KEEPALIVE_INTERVAL)),
        }
    }

    /// The response body: the tape's events from this reader's position, keep-alives in the silences.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, Cut>> {
        futures_util::stream::unfold(self, |mut reader| async move { reader.next().await.map(|item| (item, reader)) })
    }

    async fn next(&mut self) -> Option<Result<Bytes, Cut>> {
        loop {
            match self.take() {
                Taken::Events(events) => {
                    self.last_write = Instant::now();
                    return Some(Ok(events));
                }
                Taken::End => {
                    self.tape.attendance.send_if_modified(|a| !std::mem::replace(&mut a.delivered, true));
                    return None;
                }
                Taken::Behind => return Some(Err(Cut)),
                Taken::Nothing => {}
            }
            tokio::select! {
                changed = self.log.changed() => if changed.is_err() { return None },
                () = &mut self.quiet => {
                    let due = self.last_write + KEEPALIVE_INTERVAL;
                    let now = Instant::now();
                    if now >= due {
                        self.last_write = now;
                        self.quiet.as_mut().reset(now + KEEPALIVE_INTERVAL);
                        return Some(Ok(Bytes::from_static(KEEPALIVE)));
                    }
                    self.quiet.as_mut().reset(due);
                }
            }
        }
    }

    fn take(&mut self) -> Taken {
        let log = self.log.borrow_and_update();
        let Some(start) = self.next.checked_sub(log.first) else { return Taken::Behind };
        let mut waiting = log.events.range(start.min(log.events.len())..);
        let Some(first) = waiting.next() else {
            return if log.closed { Taken::End } else { Taken::Nothing };
        };
        self.next += 1;
        let mut batch: Option<BytesMut> = None;
        for event in waiting {
            let size = batch.as_ref().map_or(first.len(), BytesMut::len);
            if size + event.len() > MAX_BATCH_BYTES {
                break;
            }
            batch.get_or_insert_with(|| BytesMut::from(&first[..])).extend_from_slice(event);
            self.next += 1;
        }
        Taken::Events(batch.map_or_else(|| first.clone(), BytesMut::freeze))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.tape.attendance.send_modify(|a| {
            a.readers -= 1;
            if a.readers == 0 {
                a.since = Instant::now();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use futures_util::StreamExt;

    use super::*;

    fn event(text: &str) -> Bytes {
        Bytes::from(format!("data: {text}\n\n"))
    }

    async fn read_all(reader: Reader) -> String {
        let pieces: Vec<Result<Bytes, Cut>> = reader.into_stream().collect().await;
        pieces.into_iter().map(|p| String::from_utf8(p.unwrap().to_vec()).unwrap()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_reader_replays_the_whole_turn_and_a_reader_that_left_changes_nothing() {
        let (tape, first) = Tape::new();
        tape.push(event("a"));
        let mut first = Box::pin(first.into_stream());
        assert_eq!(first.next().await.unwrap().unwrap(), event("a"));
        drop(first);
        tape.push(event("b"));
        let late = tape.replay().unwrap();
        tape.push(event("c"));
        tape.close();
        assert_eq!(read_all(late).await, "data: a\n\ndata: b\n\ndata: c\n\n");
        assert!(tape.delivered());
        assert_eq!(read_all(tape.replay().unwrap()).await, "data: a\n\ndata: b\n\ndata: c\n\n", "again, after the end");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_never_reads_does_not_hold_the_writer_or_another_reader() {
        let (tape, stuck) = Tape::new();
        let live = tape.replay().unwrap();
        let reading = tokio::spawn(read_all(live));
        for i in 0..10_000 {
            tape.push(event(&i.to_string()));
        }
        tape.close();
        let got = reading.await.unwrap();
        assert!(got.starts_with("data: 0\n\n") && got.ends_with("data: 9999\n\n"));
        assert!(!got.contains(": keepalive"), "nothing was silent");
        drop(stuck);
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_byte_bound_the_start_goes_and_a_reader_behind_it_is_cut() {
        let (tape, behind) = Tape::new();
        let big = Bytes::from(vec![b'x'; MAX_TAPE_BYTES / 2 + 1]);
        tape.push(big.clone());
        tape.push(big.clone());
        tape.push(event("tail"));
        assert_eq!(tape.replay().err(), Some(Refused::Partial));
        let mut behind = Box::pin(behind.into_stream());
        assert!(behind.next().await.unwrap().is_err(), "its next event is gone");
        assert!(tape.log.borrow().bytes <= MAX_TAPE_BYTES);
    }

    #[tokio::test(start_paused = true)]
    async fn readers_are_capped_per_turn() {
        let (tape, first) = Tape::new();
        let more: Vec<Reader> = (1..MAX_READERS).map(|_| tape.replay().unwrap()).collect();
        assert_eq!(tape.replay().err(), Some(Refused::Crowded));
        drop(first);
        assert!(tape.replay().is_ok());
        drop(more);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_turn_sends_each_reader_a_keepalive_per_quiet_second() {
        let (tape, reader) = Tape::new();
        let mut stream = Box::pin(reader.into_stream());
        let started = Instant::now();
        assert_eq!(stream.next().await.unwrap().unwrap(), Bytes::from_static(KEEPALIVE));
        assert_eq!(started.elapsed(), KEEPALIVE_INTERVAL);
        tape.push(event("a"));
        assert_eq!(stream.next().await.unwrap().unwrap(), event("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_turn_is_unattended_only_after_the_window_without_any_reader() {
        let window = Duration::from_secs(60);
        let (tape, reader) = Tape::new();
        let watched = Arc::clone(&tape);
        let unattended = tokio::spawn(async move {
            let started = Instant::now();
            watched.unattended(window).await;
            started.elapsed()
        });
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert!(!unattended.is_finished(), "a reader is attached");
        drop(reader);
        tokio::time::sleep(Duration::from_secs(30)).await;
        let back = tape.replay().unwrap();
        tokio::time::sleep(Duration::from_secs(45)).await;
        assert!(!unattended.is_finished(), "the reader came back within the window");
        drop(back);
        assert_eq!(unattended.await.unwrap(), Duration::from_secs(120 + 30 + 45) + window);
    }
}
