//! Which conversations have a turn streaming right now, so a connector toggle that lands mid-turn can
//! be traced as deferred (SPEC §11 #94): the running turn keeps its tools, the next one sees the change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use augchatd_actors::ids::{ConversationId, TenantId, UserId};

type Key = (TenantId, UserId, ConversationId);

/// Turns in flight per conversation.
#[derive(Clone, Default)]
pub struct ActiveTurns(Arc<Mutex<HashMap<Key, usize>>>);

impl ActiveTurns {
    /// Counts a turn until the returned guard drops.
    pub fn begin(&self, tenant: &TenantId, user: &UserId, cid: &ConversationId) -> ActiveTurn {
        let key = (tenant.clone(), user.clone(), cid.clone());
        *self.lock().entry(key.clone()).or_default() += 1;
        ActiveTurn { turns: self.clone(), key }
    }

    /// Whether a turn of this conversation is streaming.
    pub fn is_streaming(&self, tenant: &TenantId, user: &UserId, cid: &ConversationId) -> bool {
        self.lock().contains_key(&(tenant.clone(), user.clone(), cid.clone()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, usize>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One streaming turn; dropping it ends the count.
pub struct ActiveTurn {
    turns: ActiveTurns,
    key: Key,
}

impl Drop for ActiveTurn {
    fn drop(&mut self) {
        let mut map = self.turns.lock();
        if let Some(count) = map.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.key);
            }
        }
    }
}
