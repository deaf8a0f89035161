//! The turns a client can reach again: each conversation's latest turn, by (tenant, user, conversation),
//! for `GET /chat/{cid}/stream` (resume) and `POST /chat/{cid}/stop`. A turn stays here while it runs
//! and for a while after it ends, so a client that lost the end of its stream can still replay it.
//! Invariant: the key carries the tenant and user of the session that started the turn, so another
//! user never finds it; a newer turn of the same conversation replaces the older one here, and
//! retiring an older turn never removes a newer one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use augchatd_actors::ids::{ConversationId, TenantId, UserId};
use tokio::sync::watch;

use super::tape::{Reader, Tape};

/// How long an ended turn stays replayable once a reader has taken all of it: long enough for a
/// client whose connection dropped with the last bytes in flight to come back.
const DELIVERED_LINGER: Duration = Duration::from_secs(5);

/// Whose turn: the conversation, in its user's partition.
pub type TurnKey = (TenantId, UserId, ConversationId);

/// One turn, as the routes that reach it again see it.
pub struct LiveTurn {
    /// The turn's events.
    pub tape: Arc<Tape>,
    stop: watch::Sender<bool>,
    /// `None` until the writer has answered for the turn's reply; then whether it kept it.
    stored: watch::Sender<Option<bool>>,
}

impl LiveTurn {
    /// Asks the turn to end now (`POST /chat/{cid}/stop`); a turn that has ended ignores it.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Resolves once the turn has been asked to stop. The sender lives in `self`, borrowed for as long
    /// as this runs, so the wait cannot fail.
    pub async fn stop_requested(&self) {
        let _ = self.stop.subscribe().wait_for(|stop| *stop).await;
    }

    /// Resolves once the writer has answered for the turn's reply: whether it is stored.
    pub async fn stored(&self) -> bool {
        let mut answered = self.stored.subscribe();
        match answered.wait_for(Option::is_some).await {
            Ok(kept) => *kept == Some(true),
            Err(_) => false,
        }
    }
}

/// The reachable turns, and how long an unattended one may run.
#[derive(Clone)]
pub struct LiveTurns {
    turns: Arc<Mutex<HashMap<TurnKey, Arc<LiveTurn>>>>,
    window: Duration,
}

impl LiveTurns {
    /// `window`: how long a turn runs with no reader, and how long an ended one that no reader took
    /// in full stays replayable (`AUGCHATD_RESUME_WINDOW_MS`).
    pub fn new(window: Duration) -> Self {
        LiveTurns { turns: Arc::default(), window }
    }

    /// The resume window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Registers a new turn of `key`, replacing an older one, and returns it with its first reader.
    pub fn begin(&self, key: TurnKey) -> (Arc<LiveTurn>, Reader) {
        let (tape, reader) = Tape::new();
        let turn = Arc::new(LiveTurn { tape, stop: watch::Sender::new(false), stored: watch::Sender::new(None) });
        self.lock().insert(key, Arc::clone(&turn));
        (turn, reader)
    }

    /// The latest turn of `key`, running or recently ended.
    pub fn find(&self, key: &TurnKey) -> Option<Arc<LiveTurn>> {
        self.lock().get(key).cloned()
    }

    /// Records whether the writer `kept` the turn's reply, and forgets the turn after its linger: shortly
    /// if a reader took all of it, else after the window.
    pub fn retire(&self, key: TurnKey, turn: Arc<LiveTurn>, kept: bool) {
        turn.stored.send_replace(Some(kept));
        let turns = self.clone();
        actix_web::rt::spawn(async move {
            tokio::time::sleep(DELIVERED_LINGER).await;
            if !turn.tape.delivered() {
                tokio::time::sleep(turns.window.saturating_sub(DELIVERED_LINGER)).await;
            }
            let mut map = turns.lock();
            if map.get(&key).is_some_and(|current| Arc::ptr_eq(current, &turn)) {
                map.remove(&key);
            }
        });
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TurnKey, Arc<LiveTurn>>> {
        self.turns.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(user: &str) -> TurnKey {
        (
            TenantId::try_from("acme".to_owned()).unwrap(),
            UserId::try_from(user.to_owned()).unwrap(),
            ConversationId::try_from("c1").unwrap(),
        )
    }

    #[actix_web::test]
    async fn a_newer_turn_replaces_an_older_one_and_outlives_its_retirement() {
        tokio::time::pause();
        let turns = LiveTurns::new(Duration::from_secs(60));
        let (older, _) = turns.begin(key("alice"));
        let (newer, _) = turns.begin(key("alice"));
        assert!(turns.find(&key("bob")).is_none(), "another user's key finds nothing");
        turns.retire(key("alice"), older, true);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert!(Arc::ptr_eq(&turns.find(&key("alice")).unwrap(), &newer));
    }

    #[actix_web::test]
    async fn an_ended_turn_stays_for_the_window_unless_a_reader_took_all_of_it() {
        tokio::time::pause();
        let turns = LiveTurns::new(Duration::from_secs(60));
        let (undelivered, reader) = turns.begin(key("alice"));
        drop(reader);
        undelivered.tape.close();
        turns.retire(key("alice"), undelivered, true);
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert!(turns.find(&key("alice")).is_some(), "nobody has the end yet");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(turns.find(&key("alice")).is_none());

        let (delivered, reader) = turns.begin(key("alice"));
        delivered.tape.close();
        let _: Vec<_> = futures_util::StreamExt::collect(reader.into_stream()).await;
        turns.retire(key("alice"), delivered, true);
        tokio::time::sleep(DELIVERED_LINGER + Duration::from_secs(1)).await;
        assert!(turns.find(&key("alice")).is_none());
    }
}
