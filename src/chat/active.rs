//! Live counts of what is streaming: turns per conversation, so a connector toggle that lands mid-turn
//! can be traced as deferred (SPEC §11 #94), and streams per session, so one session cannot hold more
//! than its share of the daemon (issue #7). Taken once per turn, never per token.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use augchatd_actors::ids::{ConversationId, SessionId, TenantId, UserId};

/// Turns in flight per conversation.
pub type ActiveTurns = Counts<(TenantId, UserId, ConversationId)>;
/// Streams open per session.
pub type SessionStreams = Counts<SessionId>;

/// How many of each key are live; a [`Counted`] guard holds one until it drops.
pub struct Counts<K>(Arc<Mutex<HashMap<K, usize>>>);

impl<K> Clone for Counts<K> {
    fn clone(&self) -> Self {
        Counts(Arc::clone(&self.0))
    }
}

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts(Arc::default())
    }
}

impl<K: Hash + Eq + Clone> Counts<K> {
    /// Counts one more `key` until the guard drops.
    pub fn begin(&self, key: K) -> Counted<K> {
        *self.lock().entry(key.clone()).or_default() += 1;
        Counted { counts: self.clone(), key }
    }

    /// Like `begin`, unless `max` of `key` are live already.
    pub fn begin_below(&self, key: K, max: usize) -> Option<Counted<K>> {
        let mut map = self.lock();
        if map.get(&key).copied().unwrap_or(0) >= max {
            return None;
        }
        *map.entry(key.clone()).or_default() += 1;
        drop(map);
        Some(Counted { counts: self.clone(), key })
    }

    /// Whether any `key` is live.
    pub fn contains(&self, key: &K) -> bool {
        self.lock().contains_key(key)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, usize>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One live unit of a key; dropping it ends the count.
pub struct Counted<K: Hash + Eq + Clone> {
    counts: Counts<K>,
    key: K,
}

impl<K: Hash + Eq + Clone> Drop for Counted<K> {
    fn drop(&mut self) {
        let mut map = self.counts.lock();
        if let Some(count) = map.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_key_refuses_past_its_max_and_frees_a_slot_when_a_guard_drops() {
        let counts: Counts<&str> = Counts::default();
        let first = counts.begin_below("s", 2);
        let second = counts.begin_below("s", 2);
        assert!(first.is_some() && second.is_some());
        assert!(counts.begin_below("s", 2).is_none(), "a third stream of the same session");
        assert!(counts.begin_below("other", 2).is_some(), "another session has its own count");
        drop(first);
        let third = counts.begin_below("s", 2);
        assert!(third.is_some());
        drop(second);
        assert!(counts.contains(&"s"), "the third is still live");
        drop(third);
        assert!(!counts.contains(&"s"));
    }

    #[test]
    fn a_refusal_at_zero_leaves_no_entry_and_the_last_drop_removes_the_key() {
        let counts: Counts<&str> = Counts::default();
        assert!(counts.begin_below("s", 0).is_none());
        assert!(!counts.contains(&"s"));
        let live = counts.begin("s");
        assert!(counts.contains(&"s"));
        drop(live);
        assert!(!counts.contains(&"s"));
    }
}
