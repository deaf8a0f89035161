//! Each session's MCP clients (SPEC §5.3): connected on the first turn that needs them, reused by the
//! session's later turns, and never shared with another session, since every session carries its own
//! user's credentials even when the connector id and URL are the same.
//! Invariant: a client is keyed by (session, descriptive_id), so a credential cannot cross sessions.
//! A session's clients (and the credentials inside them) are dropped when it is deleted, within a
//! health interval of its expiry, and a single client at once when its server refuses it or its
//! connection fails, so the next turn reconnects. A failed connect is not retried for
//! `RETRY_AFTER`, so a dead server costs one timeout, not one per turn.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use augchatd_actors::ids::SessionId;
use augchatd_actors::record::{Connector, SessionRecord, unix_now};

use super::mcp::{McpClient, McpError};

/// How long a failed connect is remembered before the next turn tries again.
const RETRY_AFTER: Duration = Duration::from_secs(30);

enum Slot {
    Connected(Arc<McpClient>),
    Failed(Instant),
}

struct SessionClients {
    expires_at: u64,
    slots: HashMap<String, Slot>,
}

/// The MCP clients of every live session.
#[derive(Clone, Default)]
pub struct McpPool(Arc<Mutex<HashMap<SessionId, SessionClients>>>);

impl McpPool {
    /// The session's client for `connector`, connecting when there is none. `Err(Failed)` without a
    /// network call when a connect failed less than `RETRY_AFTER` ago.
    pub async fn client(
        &self,
        http: &reqwest::Client,
        record: &SessionRecord,
        connector: &Connector,
        timeout: Duration,
    ) -> Result<Arc<McpClient>, McpError> {
        match self.lock().get(&record.id).and_then(|s| s.slots.get(&connector.descriptive_id)) {
            Some(Slot::Connected(client)) => return Ok(Arc::clone(client)),
            Some(Slot::Failed(at)) if at.elapsed() < RETRY_AFTER => {
                return Err(McpError::Failed("the MCP server was unreachable moments ago".into()));
            }
            _ => {}
        }
        let connected = McpClient::connect(http, connector, timeout).await.map(Arc::new);
        let slot = match &connected {
            Ok(client) => Slot::Connected(Arc::clone(client)),
            // A refused credential is not remembered: the integrator may mint a session with new ones.
            Err(McpError::Unauthorized) => return connected,
            Err(_) => Slot::Failed(Instant::now()),
        };
        let mut sessions = self.lock();
        sessions
            .entry(record.id.clone())
            .or_insert_with(|| SessionClients { expires_at: record.expires_at, slots: HashMap::new() })
            .slots
            .insert(connector.descriptive_id.clone(), slot);
        connected
    }

    /// Drops every client of an ended session.
    pub fn end_session(&self, sid: &SessionId) {
        self.lock().remove(sid);
    }

    /// Drops the clients of expired sessions; called periodically.
    pub fn prune_expired(&self) {
        let now = unix_now();
        self.lock().retain(|_, s| s.expires_at > now);
    }

    /// How many sessions hold clients.
    pub fn sessions(&self) -> usize {
        self.lock().len()
    }

    /// Drops a session's client after the server refused or failed it.
    pub fn forget(&self, sid: &SessionId, descriptive_id: &str) {
        if let Some(session) = self.lock().get_mut(sid) {
            session.slots.remove(descriptive_id);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, SessionClients>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
