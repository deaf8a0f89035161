//! What a chat turn needs from the user's hot file before its 200, in one message: the conversation
//! auto-created (SPEC §2.4 step 7), the turn-start connector observation (SPEC §5.1 step 1) and the
//! model override (§2.4 step 8). One round trip instead of four: each one costs the HTTP worker two
//! thread wake-ups, a tenth of a millisecond or more each, all of it added to the time to first token
//! (benches/limits). The usual turn, of a conversation nothing changed since its last turn, needs no
//! round trip at all: the writer remembers the context it answered (`KnownTurns`).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use actix::prelude::*;

use crate::connector_state::{model_override, reconcile, settled};
use crate::ids::{ConversationId, SessionId};
use crate::user_db::{DbError, UserDbWriter, WriterHandle, conversation_exists, ensure, is_erased, tombstoned};

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
        let epoch = self.known.epoch();
        let context = self.run(ctx, |writer| {
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
        })?;
        // After the commit, whose changes forgot every context: this one is what the file now holds.
        self.known.remember(epoch, msg.cid, msg.in_scope, &context);
        Ok(context)
    }
}

/// The turn contexts a user's writer last answered, by conversation, so the next turn of a conversation
/// that nothing changed since starts without a round trip to the writer's thread (two wake-ups and a
/// read: 176 / 336 µs p50 / p99 of the time to first token on the bench VM).
///
/// Invariant: an entry is what `StartTurn` would answer now, without writing. Only the user's writer
/// thread changes the file, and it forgets every entry whenever a row of a table they are read from
/// changes (an SQLite update hook, so no message can forget to) and when it removes the file; so they stay
/// true across the writer's retirement (`UserDbs` keeps them). A lookup racing a change sees the context
/// from before it, as if the turn had started first: the change is not answered until its handler
/// returns. While two writer threads run (a retired one still finishing a message when the next one
/// starts), one could commit a change after the other read the rows, so nothing is remembered or served.
///
/// What this gives up: a turn that starts from here does not touch the file before its 200, so a file
/// that cannot be opened any more shows only when the reply is stored (the turn ends with its error part),
/// as a full disk already did for any turn that needs no write to start.
pub(crate) struct KnownTurns(Mutex<Known>);

struct Known {
    contexts: HashMap<ConversationId, Context>,
    /// The user's writer threads now running.
    threads: usize,
    /// Bumped as each writer thread starts or ends: a context read under another epoch is not remembered.
    epoch: u64,
    /// When a context was last remembered or served.
    used: Instant,
}

/// One conversation's context, for the scope it was answered for.
struct Context {
    in_scope: Vec<(String, bool)>,
    flags: Vec<(String, bool)>,
    model_override: Option<String>,
}

impl Default for KnownTurns {
    fn default() -> Self {
        Self(Mutex::new(Known { contexts: HashMap::new(), threads: 0, epoch: 0, used: Instant::now() }))
    }
}

impl KnownTurns {
    /// The tables a turn context is read from. SQLite's update hook fires for every row changed in them
    /// as long as they keep their rowid and every `DELETE` names rows (an unqualified one truncates
    /// without the hook).
    pub(crate) const READ_FROM: [&str; 2] = ["conversation", "connector_state"];

    /// A user rarely has more conversations going at once; past this, all are forgotten and relearnt.
    const MAX: usize = 8;

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        // Each update is a few plain assignments, so a poisoned lock still guards a consistent value.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A writer thread of the user is starting (called by `UserDbs::writer`, before its first message).
    pub(crate) fn thread_started(&self) {
        let mut known = self.lock();
        known.threads += 1;
        known.epoch += 1;
        if known.threads > 1 {
            known.contexts.clear();
        }
    }

    /// A writer thread of the user has ended (its factory is dropped with the thread).
    pub(crate) fn thread_ended(&self) {
        let mut known = self.lock();
        debug_assert!(known.threads > 0, "a writer thread ended that never started");
        known.threads = known.threads.saturating_sub(1);
        known.epoch += 1;
    }

    /// The epoch a `StartTurn` reads under; `remember` takes it back.
    fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// After any change to what a context is read from, or when the file goes.
    pub(crate) fn forget_all(&self) {
        self.lock().contexts.clear();
    }

    /// Whether to keep them for the user's next writer thread: something is known, and was used within `keep`.
    pub(crate) fn worth_keeping(&self, keep: Duration) -> bool {
        let known = self.lock();
        !known.contexts.is_empty() && known.used.elapsed() < keep
    }

    fn remember(&self, epoch: u64, cid: ConversationId, in_scope: Vec<(String, bool)>, context: &TurnContext) {
        let mut known = self.lock();
        if known.threads != 1 || known.epoch != epoch {
            return;
        }
        if known.contexts.len() >= Self::MAX && !known.contexts.contains_key(&cid) {
            known.contexts.clear();
        }
        let (flags, model_override) = (context.flags.clone(), context.model_override.clone());
        known.contexts.insert(cid, Context { in_scope, flags, model_override });
        known.used = Instant::now();
    }

    fn served(&self, msg: &StartTurn) -> Option<TurnContext> {
        let mut known = self.lock();
        if known.threads != 1 {
            return None;
        }
        let context = known.contexts.get(&msg.cid).filter(|context| context.in_scope == msg.in_scope)?;
        let context = TurnContext {
            flags: context.flags.clone(),
            model_override: context.model_override.clone(),
            written: false,
        };
        known.used = Instant::now();
        Some(context)
    }
}

impl WriterHandle {
    /// What `StartTurn` would answer for `msg` with nothing to write, when the writer knows it; `None`:
    /// send it. Never for an erased user's session, which `StartTurn` refuses.
    pub fn known_turn(&self, msg: &StartTurn) -> Option<TurnContext> {
        let shared = self.shared();
        if is_erased(&shared.erased, &msg.session) {
            return None;
        }
        shared.known.served(msg)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::connector_state::{SetConnectorActive, SetModelOverride};
    use crate::data_subject::EraseUser;
    use crate::ids::{TenantId, UserId};
    use crate::user_db::{DeleteConversation, ReplaceThread, UserDbs, WriterHandle};

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

    #[test]
    fn a_context_read_before_another_writer_thread_ended_is_not_remembered() {
        let known = KnownTurns::default();
        let cid = ConversationId::try_from("c1").unwrap();
        let context = TurnContext { flags: vec![], model_override: None, written: false };
        known.thread_started();
        known.thread_started();
        let read_beside_the_other = known.epoch();
        known.thread_ended();
        known.remember(read_beside_the_other, cid.clone(), vec![], &context);
        assert_eq!(known.served(&start(&cid, &[], true)), None);
        known.remember(known.epoch(), cid.clone(), vec![], &context);
        assert_eq!(known.served(&start(&cid, &[], true)), Some(context));
    }

    /// `StartTurn` through the writer's thread; the known context must then be the same, unwritten.
    async fn started(writer: &WriterHandle, msg: StartTurn) -> TurnContext {
        let probe = StartTurn {
            cid: msg.cid.clone(),
            session: msg.session.clone(),
            in_scope: msg.in_scope.clone(),
            cold_checked: true,
        };
        let context = writer.send(msg).await.unwrap().unwrap();
        assert_eq!(writer.known_turn(&probe), Some(TurnContext { written: false, ..context.clone() }));
        context
    }

    #[actix_rt::test]
    async fn a_turn_of_an_unchanged_conversation_starts_from_what_the_writer_knows_until_something_changes_it() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        let cid = ConversationId::try_from("c1").unwrap();
        let scope = [("docs", true)];
        assert_eq!(writer.known_turn(&start(&cid, &scope, true)), None, "never started");
        started(&writer, start(&cid, &scope, true)).await;

        let reply = ReplaceThread {
            cid: cid.clone(),
            session: SessionId::try_from("s").unwrap(),
            defaults: vec![("docs".to_owned(), true)],
            messages: vec![],
        };
        writer.send(reply).await.unwrap().unwrap();
        assert!(writer.known_turn(&start(&cid, &scope, true)).is_some(), "storing a reply changes no context");
        assert_eq!(writer.known_turn(&start(&cid, &[("gh", true)], true)), None, "another scope is not known");

        let off = SetConnectorActive { cid: cid.clone(), descriptive_id: "docs".to_owned(), active: false };
        writer.send(off).await.unwrap().unwrap();
        assert_eq!(writer.known_turn(&start(&cid, &scope, true)), None, "a flag changed");
        assert_eq!(started(&writer, start(&cid, &scope, true)).await.flags, vec![("docs".to_owned(), false)]);

        writer.send(SetModelOverride { cid: cid.clone(), model_id: "m2".to_owned() }).await.unwrap().unwrap();
        assert_eq!(writer.known_turn(&start(&cid, &scope, true)), None, "the override changed");
        assert_eq!(started(&writer, start(&cid, &scope, true)).await.model_override.as_deref(), Some("m2"));

        started(&writer, start(&cid, &[("gh", true)], true)).await;
        assert_eq!(writer.known_turn(&start(&cid, &scope, true)), None, "a turn in another scope came between");
        let back = started(&writer, start(&cid, &scope, true)).await;
        assert_eq!(back.flags, vec![("docs".to_owned(), true)], "out of scope, the flag of docs was dropped");

        writer.send(DeleteConversation { cid: cid.clone() }).await.unwrap().unwrap();
        assert_eq!(writer.known_turn(&start(&cid, &scope, true)), None, "deleted");
        assert!(started(&writer, start(&cid, &scope, false)).await.written, "re-created");

        let erase = EraseUser { sessions: vec![SessionId::try_from("s").unwrap()] };
        writer.send(erase).await.unwrap().unwrap();
        let s2 = |msg: StartTurn| StartTurn { session: SessionId::try_from("s2").unwrap(), ..msg };
        assert_eq!(writer.known_turn(&s2(start(&cid, &scope, true))), None, "the file is gone, and all it held");
        started(&writer, s2(start(&cid, &scope, true))).await;
        assert_eq!(writer.known_turn(&start(&cid, &scope, true)), None, "never for an erased session");
    }
}
