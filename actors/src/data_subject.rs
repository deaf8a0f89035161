//! Data-subject requests on one user's hot file: read every conversation (export) and remove the file
//! (erase). Both run on the user's writer thread, like every other access to the file.
//! Invariant: after `EraseUser`, the file is gone and the erased sessions can never write to it again;
//! only a session minted afterwards can create a new one.

use actix::prelude::*;

use crate::connector_state::model_override;
use crate::ids::{ConversationId, SessionId};
use crate::user_db::{ColdConversation, DbError, UserDbWriter, connector_flags, conversation_ids, read_messages};

/// Everything the hot file holds of the user.
#[derive(Debug, Clone, Default)]
pub struct HotConversations {
    /// Every stored conversation with its messages, flags and override, in id order.
    pub conversations: Vec<(ConversationId, ColdConversation)>,
    /// Conversations the user deleted whose cold copy may still exist: never part of an export.
    pub deleted: Vec<ConversationId>,
}

/// Read every conversation of the user. Sent by `POST /users/:user_id/export`.
#[derive(Debug, Message)]
#[rtype(result = "Result<HotConversations, DbError>")]
pub struct ReadAllConversations;

impl Handler<ReadAllConversations> for UserDbWriter {
    type Result = Result<HotConversations, DbError>;

    fn handle(&mut self, _: ReadAllConversations, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            // One read transaction, so the export is one consistent snapshot.
            let tx = writer.conn()?.transaction()?;
            let ids = conversation_ids(&tx, "SELECT conversation_id FROM conversation ORDER BY conversation_id")?;
            let mut conversations = Vec::with_capacity(ids.len());
            for cid in ids {
                let conversation = ColdConversation {
                    model_id_override: model_override(&tx, &cid)?,
                    messages: read_messages(&tx, &cid)?,
                    connector_state: connector_flags(&tx, &cid)?,
                };
                conversations.push((cid, conversation));
            }
            let deleted = conversation_ids(&tx, "SELECT conversation_id FROM augchatd_tombstone")?;
            Ok(HotConversations { conversations, deleted })
        })
    }
}

/// Remove the user's hot file, and refuse every later write of `sessions` (the user's sessions, ended
/// just before). Sent by `POST /users/:user_id/erase`; replies how many conversations the file held.
#[derive(Debug, Message)]
#[rtype(result = "Result<usize, DbError>")]
pub struct EraseUser {
    /// The user's sessions: a turn of theirs still running must not store its reply.
    pub sessions: Vec<SessionId>,
}

impl Handler<EraseUser> for UserDbWriter {
    type Result = Result<usize, DbError>;

    fn handle(&mut self, msg: EraseUser, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            writer.refuse(msg.sessions);
            let held = conversation_ids(writer.conn()?, "SELECT conversation_id FROM conversation")?.len();
            writer.remove_file()?;
            Ok(held)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ids::{TenantId, UserId};
    use crate::user_db::{EnsureConversation, UserDbs};

    #[actix_rt::test]
    async fn an_erased_users_file_is_gone_and_their_old_sessions_cannot_recreate_it() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().to_owned());
        let (tenant, user) = (TenantId::try_from("t").unwrap(), UserId::try_from("u").unwrap());
        let writer = dbs.writer(&tenant, &user);
        let old = SessionId::try_from("old").unwrap();
        let ensure = |session: &SessionId| EnsureConversation {
            cid: ConversationId::try_from("c1").unwrap(),
            session: session.clone(),
            defaults: vec![],
        };
        writer.send(ensure(&old)).await.unwrap().unwrap();
        let read = writer.send(ReadAllConversations).await.unwrap().unwrap();
        assert_eq!(read.conversations.len(), 1);

        assert_eq!(writer.send(EraseUser { sessions: vec![old.clone()] }).await.unwrap().unwrap(), 1);
        assert!(!dbs.has_file(&tenant, &user));
        assert!(matches!(writer.send(ensure(&old)).await.unwrap(), Err(DbError::SessionErased)));
        assert!(writer.send(ReadAllConversations).await.unwrap().unwrap().conversations.is_empty());
        let new = SessionId::try_from("new").unwrap();
        assert!(writer.send(ensure(&new)).await.unwrap().unwrap(), "a later session starts afresh");
    }
}
