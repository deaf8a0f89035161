//! What a chat turn needs from the user's hot file before its 200, in one message: the conversation
//! auto-created (SPEC §2.4 step 7), the turn-start connector observation (SPEC §5.1 step 1) and the
//! model override (§2.4 step 8). One round trip instead of four: each one costs the HTTP worker two
//! thread wake-ups, a tenth of a millisecond or more each, all of it added to the time to first token
//! (benches/chat.rs).

use actix::prelude::*;

use crate::connector_state::{model_override, reconcile, settled};
use crate::ids::{ConversationId, SessionId};
use crate::user_db::{DbError, UserDbWriter, conversation_exists, ensure, tombstoned};

/// Start a chat turn in one transaction. `NotFound` only when `cold_checked` is false and the
/// conversation was never here (neither stored nor deleted): the caller hydrates it from cold storage
/// and sends again with `cold_checked` (SPEC §6.6), so an auto-create never shadows a cold history.
#[derive(Debug, Message)]
#[rtype(result = "Result<TurnContext, DbError>")]
pub struct StartTurn {
    /// The conversation.
    pub cid: ConversationId,
    /// The session of the turn, recorded on a conversation it creates.
    pub session: SessionId,
    /// `(descriptive_id, default_active)` of every connector in the session's scope, in its order.
    pub in_scope: Vec<(String, bool)>,
    /// True once cold storage was asked for the conversation, or when the user has none.
    pub cold_checked: bool,
}

/// The conversation as the turn starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnContext {
    /// `(descriptive_id, active)` of every connector in scope, in scope order: the turn's tools.
    pub flags: Vec<(String, bool)>,
    /// The conversation's model override (`None`: the session default).
    pub model_override: Option<String>,
    /// True when the conversation was created or its flags written: the sender touches its flusher.
    pub written: bool,
}

impl Handler<StartTurn> for UserDbWriter {
    type Result = Result<TurnContext, DbError>;

    fn handle(&mut self, msg: StartTurn, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            writer.admit(&msg.session)?;
            let tx = writer.conn()?.transaction()?;
            if conversation_exists(&tx, &msg.cid)? {
                // The usual turn: nothing to write, so the transaction stays a read.
                if let Some(flags) = settled(&tx, &msg.cid, &msg.in_scope)? {
                    let model_override = model_override(&tx, &msg.cid)?;
                    return Ok(TurnContext { flags, model_override, written: false });
                }
            } else if !msg.cold_checked && !tombstoned(&tx, &msg.cid)? {
                return Err(DbError::NotFound);
            }
            let created = ensure(&tx, &msg.cid, &msg.session, &msg.in_scope)?;
            let observation = reconcile(&tx, &msg.cid, &msg.in_scope)?;
            let model_override = model_override(&tx, &msg.cid)?;
            tx.commit()?;
            Ok(TurnContext { flags: observation.flags, model_override, written: created || observation.written })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::connector_state::{SetConnectorActive, SetModelOverride};
    use crate::ids::{TenantId, UserId};
    use crate::user_db::{DeleteConversation, UserDbs, WriterHandle};

    fn writer(dir: &tempfile::TempDir) -> WriterHandle {
        UserDbs::new(dir.path().to_owned()).writer(&TenantId::try_from("t").unwrap(), &UserId::try_from("u").unwrap())
    }

    fn start(cid: &ConversationId, in_scope: &[(&str, bool)], cold_checked: bool) -> StartTurn {
        StartTurn {
            cid: cid.clone(),
            session: SessionId::try_from("s").unwrap(),
            in_scope: in_scope.iter().map(|(id, on)| ((*id).to_owned(), *on)).collect(),
            cold_checked,
        }
    }

    #[actix_rt::test]
    async fn a_new_conversation_waits_for_the_cold_check_then_is_created_with_its_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        let cid = ConversationId::try_from("c1").unwrap();

        let unchecked = writer.send(start(&cid, &[("docs", true)], false)).await.unwrap();
        assert!(matches!(unchecked, Err(DbError::NotFound)), "nothing is created before cold was asked");
        let created = writer.send(start(&cid, &[("docs", true), ("gh", false)], true)).await.unwrap().unwrap();
        assert_eq!(
            created,
            TurnContext {
                flags: vec![("docs".to_owned(), true), ("gh".to_owned(), false)],
                model_override: None,
                written: true
            }
        );
    }

    #[actix_rt::test]
    async fn an_existing_conversation_keeps_its_flags_and_override_and_drops_flags_out_of_scope() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        let cid = ConversationId::try_from("c1").unwrap();
        writer.send(start(&cid, &[("docs", true), ("gone", true)], true)).await.unwrap().unwrap();
        let off = SetConnectorActive { cid: cid.clone(), descriptive_id: "docs".to_owned(), active: false };
        writer.send(off).await.unwrap().unwrap();
        writer.send(SetModelOverride { cid: cid.clone(), model_id: "m2".to_owned() }).await.unwrap().unwrap();

        let again = writer.send(start(&cid, &[("docs", true)], false)).await.unwrap().unwrap();
        assert_eq!(again.flags, vec![("docs".to_owned(), false)], "the saved flag wins over the default");
        assert_eq!(again.model_override.as_deref(), Some("m2"));
        assert!(again.written, "the flag of 'gone' was dropped");
        let unchanged = writer.send(start(&cid, &[("docs", true)], false)).await.unwrap().unwrap();
        assert!(!unchanged.written, "nothing to write the second time");
    }

    #[actix_rt::test]
    async fn a_deleted_conversation_is_recreated_without_asking_cold() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        let cid = ConversationId::try_from("c1").unwrap();
        writer.send(start(&cid, &[], true)).await.unwrap().unwrap();
        writer.send(DeleteConversation { cid: cid.clone() }).await.unwrap().unwrap();

        let recreated = writer.send(start(&cid, &[], false)).await.unwrap().unwrap();
        assert!(recreated.written, "a deleted conversation is never hydrated back; it starts anew");
    }
}
