//! Per-conversation connector flags and model override: the `UserDbWriter` messages behind
//! `GET/PUT /conversations/:cid/connectors…` and `PUT /conversations/:cid/model` (SPEC §1 "Active state,
//! per conversation", §2.9, §2.10, §2.12), and the override read by the chat turn.
//! Invariant: no message here creates a conversation (SPEC §12 decision 8); every write marks the
//! conversation dirty with `bump` in its own transaction (decision 14). Scope is decided by the caller,
//! which sends the session's resolved scope; this module only reconciles saved flags against it.

use std::collections::HashMap;

use actix::prelude::*;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::ids::ConversationId;
use crate::user_db::{DbError, UserDbWriter, bump, conversation_exists, now_iso};

/// Every saved flag of the conversation, in scope or not.
fn saved_flags(conn: &Connection, cid: &ConversationId) -> Result<HashMap<String, bool>, DbError> {
    let flags = conn
        .prepare_cached("SELECT descriptive_id, active FROM connector_state WHERE conversation_id = ?1")?
        .query_map([cid.as_str()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(flags)
}

/// The flag of every in-scope connector, in scope order: the saved flag, else `default_active` (the
/// value a first observation snapshots).
fn resolve(in_scope: &[(String, bool)], saved: &HashMap<String, bool>) -> Vec<(String, bool)> {
    in_scope.iter().map(|(id, default)| (id.clone(), saved.get(id).copied().unwrap_or(*default))).collect()
}

/// What an observation found and whether it had to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// `(descriptive_id, active)` of every connector in scope, in scope order.
    pub flags: Vec<(String, bool)>,
    /// True when a snapshot was taken or a stale flag dropped: the sender touches the conversation's flusher.
    pub written: bool,
}

/// Reconcile a conversation's saved flags with the session's scope (ADR-0010 table), in one
/// transaction: snapshot `default_active` for every in-scope connector not yet saved (INSERT OR
/// IGNORE), and delete the flags of connectors no longer in scope, so a re-added id starts from its
/// default again (SPEC §12 decision 9). Sent by `GET /conversations/:cid/connectors`; `NotFound` when
/// the conversation does not exist (it is not created).
#[derive(Debug, Message)]
#[rtype(result = "Result<Observation, DbError>")]
pub struct ObserveConnectors {
    /// The conversation.
    pub cid: ConversationId,
    /// `(descriptive_id, default_active)` of every connector in the session's scope, in its order.
    pub in_scope: Vec<(String, bool)>,
}

impl Handler<ObserveConnectors> for UserDbWriter {
    type Result = Result<Observation, DbError>;

    fn handle(&mut self, msg: ObserveConnectors, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let tx = writer.conn()?.transaction()?;
            if !conversation_exists(&tx, &msg.cid)? {
                return Err(DbError::NotFound);
            }
            let observation = reconcile(&tx, &msg.cid, &msg.in_scope)?;
            tx.commit()?;
            Ok(observation)
        })
    }
}

/// The flags as [`reconcile`] would leave them when it has nothing to write (every connector in scope
/// has a saved flag and no other has one), else `None`. Read-only, so a turn that changes nothing
/// takes no write lock.
pub(crate) fn settled(
    conn: &Connection,
    cid: &ConversationId,
    in_scope: &[(String, bool)],
) -> Result<Option<Vec<(String, bool)>>, DbError> {
    let saved = saved_flags(conn, cid)?;
    let settled = saved.len() == in_scope.len() && in_scope.iter().all(|(id, _)| saved.contains_key(id));
    Ok(settled.then(|| resolve(in_scope, &saved)))
}

/// The body of [`ObserveConnectors`] inside the caller's transaction, for an existing conversation.
pub(crate) fn reconcile(
    tx: &Transaction<'_>,
    cid: &ConversationId,
    in_scope: &[(String, bool)],
) -> Result<Observation, DbError> {
    let now = now_iso();
    let mut changed = 0;
    let mut snapshot = tx.prepare_cached(
        "INSERT OR IGNORE INTO connector_state (conversation_id, descriptive_id, active, updated_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (descriptive_id, default_active) in in_scope {
        changed += snapshot.execute(params![cid.as_str(), descriptive_id, default_active, now])?;
    }
    drop(snapshot);
    let mut saved = saved_flags(tx, cid)?;
    let stale: Vec<String> =
        saved.keys().filter(|id| !in_scope.iter().any(|(in_scope, _)| in_scope == *id)).cloned().collect();
    let mut drop_flag =
        tx.prepare_cached("DELETE FROM connector_state WHERE conversation_id = ?1 AND descriptive_id = ?2")?;
    for id in &stale {
        changed += drop_flag.execute(params![cid.as_str(), id])?;
        saved.remove(id);
    }
    drop(drop_flag);
    let written = changed > 0;
    if written {
        bump(tx, cid)?;
    }
    Ok(Observation { flags: resolve(in_scope, &saved), written })
}

/// Read a conversation's flags for the session's scope without writing anything: saved flags, and
/// `default_active` where none is saved. Sent by `GET /conversations/:cid/connectors` while the user
/// is read-only (flushes stalled), when no hot write may happen; `NotFound` when the conversation does
/// not exist.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<(String, bool)>, DbError>")]
pub struct ReadConnectorFlags {
    /// The conversation.
    pub cid: ConversationId,
    /// `(descriptive_id, default_active)` of every connector in the session's scope, in its order.
    pub in_scope: Vec<(String, bool)>,
}

impl Handler<ReadConnectorFlags> for UserDbWriter {
    type Result = Result<Vec<(String, bool)>, DbError>;

    fn handle(&mut self, msg: ReadConnectorFlags, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let conn = writer.conn()?;
            if !conversation_exists(conn, &msg.cid)? {
                return Err(DbError::NotFound);
            }
            Ok(resolve(&msg.in_scope, &saved_flags(conn, &msg.cid)?))
        })
    }
}

/// Set one connector's active flag in a conversation (an upsert; setting the current value is a
/// harmless write). Sent by `PUT /conversations/:cid/connectors/:descriptive_id` after it has checked
/// that the connector is in the session's scope; `NotFound` when the conversation does not exist (it is
/// not created).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct SetConnectorActive {
    /// The conversation.
    pub cid: ConversationId,
    /// The connector, in the session's scope.
    pub descriptive_id: String,
    /// The new flag.
    pub active: bool,
}

impl Handler<SetConnectorActive> for UserDbWriter {
    type Result = Result<(), DbError>;

    fn handle(&mut self, msg: SetConnectorActive, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let tx = writer.conn()?.transaction()?;
            if !conversation_exists(&tx, &msg.cid)? {
                return Err(DbError::NotFound);
            }
            tx.prepare_cached(
                "INSERT INTO connector_state (conversation_id, descriptive_id, active, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (conversation_id, descriptive_id) DO UPDATE SET active = excluded.active,
                   updated_at = excluded.updated_at",
            )?
            .execute(params![msg.cid.as_str(), msg.descriptive_id, msg.active, now_iso()])?;
            bump(&tx, &msg.cid)?;
            tx.commit()?;
            Ok(())
        })
    }
}

/// Set a conversation's model override. Sent by `PUT /conversations/:cid/model` after it has checked
/// the id against the session's model list; `NotFound` when the conversation does not exist.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct SetModelOverride {
    /// The conversation.
    pub cid: ConversationId,
    /// A model id of the session's provider.
    pub model_id: String,
}

impl Handler<SetModelOverride> for UserDbWriter {
    type Result = Result<(), DbError>;

    fn handle(&mut self, msg: SetModelOverride, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let tx = writer.conn()?.transaction()?;
            let updated = tx
                .prepare_cached("UPDATE conversation SET model_id_override = ?2 WHERE conversation_id = ?1")?
                .execute(params![msg.cid.as_str(), msg.model_id])?;
            if updated == 0 {
                return Err(DbError::NotFound);
            }
            bump(&tx, &msg.cid)?;
            tx.commit()?;
            Ok(())
        })
    }
}

/// Read a conversation's model override (`None`: use the session default). Sent by `POST /chat` at
/// turn start (inside `turn_start::StartTurn`), and by `PUT /conversations/:cid/model` as its existence check; `NotFound` when the
/// conversation does not exist.
#[derive(Debug, Message)]
#[rtype(result = "Result<Option<String>, DbError>")]
pub struct ModelOverride {
    /// The conversation.
    pub cid: ConversationId,
}

impl Handler<ModelOverride> for UserDbWriter {
    type Result = Result<Option<String>, DbError>;

    fn handle(&mut self, msg: ModelOverride, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| model_override(writer.conn()?, &msg.cid))
    }
}

/// The body of [`ModelOverride`].
pub(crate) fn model_override(conn: &Connection, cid: &ConversationId) -> Result<Option<String>, DbError> {
    conn.prepare_cached("SELECT model_id_override FROM conversation WHERE conversation_id = ?1")?
        .query_row([cid.as_str()], |row| row.get::<_, Option<String>>(0))
        .optional()?
        .ok_or(DbError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_flags_win_and_defaults_fill_the_rest_in_scope_order() {
        // SPEC §1 ADR-0010 table: in scope and saved → saved; in scope, not saved → default_active.
        let saved = HashMap::from([("gh".to_owned(), false), ("gone".to_owned(), true)]);
        let scope = vec![("docs".to_owned(), true), ("gh".to_owned(), true)];
        assert_eq!(resolve(&scope, &saved), vec![("docs".to_owned(), true), ("gh".to_owned(), false)]);
    }
}
