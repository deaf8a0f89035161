//! `UserDbWriter`: the only owner of one (tenant, user) SQLite file, `<data>/<tenant>/<user>.sqlite`.
//! Invariant: nothing else opens this file; handlers reach it by message, one transaction per message,
//! on the writer's own thread (a `SyncArbiter` of one). Callers never see `rusqlite` types. No network
//! I/O here. `UserDbs` maps (tenant, user) to its writer, starting it on first use and retiring it
//! (thread and connection; the file stays) once it has been idle for `WRITER_IDLE` and nobody holds it.

use std::collections::{HashMap, HashSet};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix::prelude::*;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::hot_file::Template;
use crate::ids::{ConversationId, SessionId, TenantId, UserId};
use crate::metrics::{Gauge, Held};
use crate::supervisor::{ActorKind, Health, guarded};
use crate::turn_start::KnownTurns;
use tokio::time::Instant;

/// Why a hot read or write failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The conversation is not in this user's file.
    #[error("conversation not found")]
    NotFound,
    /// The writer did not answer (its thread is gone or overloaded).
    #[error("the writer for this user is gone")]
    WriterGone,
    /// The file could not be created or opened.
    #[error("the hot database could not be opened")]
    Open(#[source] std::io::Error),
    /// SQLite refused the statement (disk full, corruption, lock).
    #[error("sqlite failed")]
    Sqlite(#[from] rusqlite::Error),
    /// The writer panicked while handling this message (it has restarted).
    #[error("the writer failed while handling the request")]
    Panicked,
    /// The message came from a session of a user who has been erased since: it may not write.
    #[error("the session's user was erased")]
    SessionErased,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// A system message from the client.
    System,
}

impl Role {
    /// `user`, `assistant` or `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
        }
    }

    /// Parses the stored or wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            "system" => Some(Role::System),
            _ => None,
        }
    }
}

/// One message as stored: its parts and metadata stay JSON text, which only the HTTP layer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The client's (or server's, for assistant messages) message id.
    pub message_id: String,
    /// Position in the thread; set from the array index on write.
    pub ordinal: i64,
    /// Who wrote it.
    pub role: Role,
    /// The UIMessage `parts` array, as JSON text.
    pub parts_json: String,
    /// The UIMessage `metadata` object, as JSON text.
    pub metadata_json: Option<String>,
}

/// One row of `GET /conversations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSummary {
    /// The conversation.
    pub conversation_id: String,
    /// Parts of the first user message, for the title.
    pub first_user_parts_json: Option<String>,
    /// Stored messages.
    pub message_count: i64,
    /// The model override, if any.
    pub model_id_override: Option<String>,
    /// Latest message update, else the creation time (ISO-8601).
    pub updated_at: String,
}

/// A user's identity across tenants: the key of their hot file.
type UserKey = (TenantId, UserId);

/// How long a writer may go without being handed out before its thread and connection close. Reopening
/// costs one to a few milliseconds (benches/storage.rs), so an active user keeps theirs; an idle session
/// keeps no thread. The file stays on disk (SPEC §12 decision 26).
pub const WRITER_IDLE: Duration = Duration::from_secs(60);

/// How long a user's known turns outlive their last writer thread unused (`KnownTurns`).
const KNOWN_KEEP: Duration = Duration::from_secs(600);

/// A user's writer as `UserDbs::writer` hands it out; derefs to the writer's `Addr`. Hold it (not a
/// bare `Addr` cloned from it) for as long as messages to the writer are pending: a writer that some
/// handle still points at is never retired.
#[derive(Clone)]
pub struct WriterHandle(Arc<Writer>);

/// What a handle shares: the writer's address, and what it lets callers read without a round trip.
pub(crate) struct Writer {
    addr: Addr<UserDbWriter>,
    /// The user's known turns, shared with the writer thread that keeps them true.
    pub(crate) known: Arc<KnownTurns>,
    /// Checked before a known turn is served, as `StartTurn` would check it.
    pub(crate) erased: ErasedSessions,
}

impl Deref for WriterHandle {
    type Target = Addr<UserDbWriter>;

    fn deref(&self) -> &Addr<UserDbWriter> {
        &self.0.addr
    }
}

impl WriterHandle {
    /// What the handle shares with the writer, for the messages' modules (`turn_start`).
    pub(crate) fn shared(&self) -> &Writer {
        &self.0
    }
}

/// A writer in the map, and when it was last handed out.
struct Slot {
    handle: WriterHandle,
    handed_out: Instant,
}

/// The writers of this process, by (tenant, user).
///
/// Invariant: one writer thread per hot file. A `SyncArbiter` thread ends only once every `Addr` to it
/// is gone (after handling what is queued), so the map gives up a writer only when its handle's count is
/// one: the map's own copy, and under the map's lock nobody can take another. The next `writer()` then
/// starts a new thread, and no caller is still waiting on the old one. (Not counted: a message whose
/// sender stopped waiting, after a timeout; the old thread still handles it before it ends.)
#[derive(Clone)]
pub struct UserDbs {
    root: PathBuf,
    writers: Arc<Mutex<HashMap<UserKey, Slot>>>,
    /// One unit per writer thread, from its start until it ends.
    running: Gauge,
    health: Arc<Health>,
    erased: ErasedSessions,
    /// Each user's known turns, kept across their writer's retirements (see `known_turns`).
    known: Arc<Mutex<HashMap<UserKey, Arc<KnownTurns>>>>,
    template: Template,
}

/// Sessions of erased users. A turn that was running when its user was erased still holds the
/// writer's address; its writes are refused, so nothing of the user's comes back after the erasure.
/// Only sessions of erased users enter, so the set stays as small as erasures are rare.
type ErasedSessions = Arc<Mutex<HashSet<SessionId>>>;

/// Whether `session` belongs to an erased user: the writer refuses its writes, and no turn of it starts.
pub(crate) fn is_erased(erased: &ErasedSessions, session: &SessionId) -> bool {
    erased.lock().unwrap_or_else(PoisonError::into_inner).contains(session)
}

impl UserDbs {
    /// Writers keep their files under `root` (`AUGCHATD_DATA_DIR`).
    pub fn new(root: PathBuf) -> Self {
        Self::reporting_to(root, Arc::default())
    }

    /// Like `new`, with writer restarts counted in `health`.
    pub fn reporting_to(root: PathBuf, health: Arc<Health>) -> Self {
        Self {
            root,
            writers: Arc::default(),
            running: Gauge::default(),
            health,
            erased: Arc::default(),
            known: Arc::default(),
            template: Template::default(),
        }
    }

    /// Whether the user has a hot file (a user never seen, or evicted, has none).
    pub fn has_file(&self, tenant: &TenantId, user: &UserId) -> bool {
        self.path_of(tenant, user).exists()
    }

    /// Writers whose thread is running, retired ones included until their thread has ended.
    pub fn live_writers(&self) -> usize {
        usize::try_from(self.running.get()).unwrap_or(usize::MAX)
    }

    /// Where a user's hot file lives. Both parts are validated identifiers, so this stays under `root`.
    pub fn path_of(&self, tenant: &TenantId, user: &UserId) -> PathBuf {
        self.root.join(tenant.as_str()).join(format!("{}.sqlite", user.as_str()))
    }

    /// Creates the user's hot file unless it exists, without starting their writer (`hot_file`); whether
    /// it was created now.
    pub fn ensure_file(&self, tenant: &TenantId, user: &UserId) -> Result<bool, DbError> {
        self.template.create(&self.path_of(tenant, user))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserKey, Slot>> {
        // Each update is a single insert or removal, so a poisoned map is still consistent.
        self.writers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The user's writer, started (and its file created or reopened) when the user has none.
    pub fn writer(&self, tenant: &TenantId, user: &UserId) -> WriterHandle {
        let mut writers = self.lock();
        let key = (tenant.clone(), user.clone());
        let now = Instant::now();
        if let Some(slot) = writers.get_mut(&key).filter(|slot| slot.handle.connected()) {
            slot.handed_out = now;
            return slot.handle.clone();
        }
        let known = self.known_turns(&key);
        let factory = WriterFactory {
            path: self.path_of(tenant, user),
            id: format!("{tenant}/{user}"),
            restarts: AtomicU32::new(0),
            health: Arc::clone(&self.health),
            erased: Arc::clone(&self.erased),
            known: Arc::clone(&known),
            _running: self.running.hold(),
        };
        // Counted once the factory that uncounts it when dropped exists.
        known.thread_started();
        // The factory runs on the writer's thread at start and after every contained panic.
        let addr = SyncArbiter::start(1, move || factory.build());
        let handle = WriterHandle(Arc::new(Writer { addr, known, erased: Arc::clone(&self.erased) }));
        writers.insert(key, Slot { handle: handle.clone(), handed_out: now });
        handle
    }

    /// Retires every writer not handed out for `idle` (`WRITER_IDLE` in the daemon) that nobody outside
    /// the map holds: its thread ends and closes the connection; the file stays. Returns how many.
    pub fn retire_idle(&self, idle: Duration) -> usize {
        let mut writers = self.lock();
        let before = writers.len();
        let now = Instant::now();
        // Under the lock, a count of one cannot grow: only the map holds the handle (see `UserDbs`).
        writers.retain(|_, slot| now.duration_since(slot.handed_out) < idle || Arc::strong_count(&slot.handle.0) > 1);
        let retired = before - writers.len();
        drop(writers);
        // A user's known turns go with their last writer thread (each holds a copy until it ends) once none
        // was used for `KNOWN_KEEP`, so a user who went quiet costs nothing.
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.retain(|_, turns| Arc::strong_count(turns) > 1 || turns.worth_keeping(KNOWN_KEEP));
        retired
    }

    /// The user's known turns. They outlive the writer, so the first turn after an idle spell needs no
    /// reopen of the file before it streams (1.2 to 3.9 ms on the bench VM): the file changes only
    /// through its writer, whose update hook forgets them (see `KnownTurns`).
    fn known_turns(&self, key: &UserKey) -> Arc<KnownTurns> {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(known.entry(key.clone()).or_default())
    }

    /// Retires idle writers every `WRITER_IDLE / 2`, so idle users lose their thread even when no request
    /// arrives. Runs until the arbiter it was spawned on stops (with the system).
    pub async fn retire_idle_forever(self) {
        let mut ticks = tokio::time::interval(WRITER_IDLE / 2);
        loop {
            ticks.tick().await;
            let retired = self.retire_idle(WRITER_IDLE);
            if retired > 0 {
                tracing::debug!(actor = ActorKind::UserDb.as_str(), retired, "idle writers retired");
            }
        }
    }
}

/// Builds a user's `UserDbWriter` on its thread. The thread's `SyncContext` owns the factory until the
/// thread ends, so the factory holds the writer's unit of the running gauge.
struct WriterFactory {
    path: PathBuf,
    id: String,
    restarts: AtomicU32,
    health: Arc<Health>,
    erased: ErasedSessions,
    known: Arc<KnownTurns>,
    _running: Held,
}

impl Drop for WriterFactory {
    fn drop(&mut self) {
        self.known.thread_ended();
    }
}

impl WriterFactory {
    fn build(&self) -> UserDbWriter {
        let generation = self.restarts.fetch_add(1, Ordering::Relaxed);
        if generation > 0 {
            self.health.actor_restarted(ActorKind::UserDb);
        }
        UserDbWriter {
            path: self.path.clone(),
            id: self.id.clone(),
            conn: None,
            generation,
            erased: Arc::clone(&self.erased),
            known: Arc::clone(&self.known),
        }
    }
}

/// Owns one user's SQLite connection.
pub struct UserDbWriter {
    path: PathBuf,
    id: String,
    conn: Option<Connection>,
    generation: u32,
    erased: ErasedSessions,
    pub(crate) known: Arc<KnownTurns>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conversation (
  conversation_id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
  model_id_override TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS connector_state (
  conversation_id TEXT NOT NULL, descriptive_id TEXT NOT NULL,
  active INTEGER NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (conversation_id, descriptive_id));
CREATE TABLE IF NOT EXISTS message (
  conversation_id TEXT NOT NULL, message_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
  role TEXT NOT NULL, parts_json TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (conversation_id, message_id));
CREATE INDEX IF NOT EXISTS message_by_conversation ON message (conversation_id, ordinal);
-- augchatd's own bookkeeping: every hot write bumps dirty_version in the same transaction; a flush
-- that uploaded version V records flushed_version = V. Clean means flushed_version >= dirty_version.
-- Kept on disk so a restarted process knows what cold does not have yet.
CREATE TABLE IF NOT EXISTS augchatd_flush (
  conversation_id TEXT PRIMARY KEY, dirty_version INTEGER NOT NULL, flushed_version INTEGER NOT NULL);
-- Conversations deleted in hot whose cold copy may still exist: never hydrated, deleted from cold
-- until that succeeds.
CREATE TABLE IF NOT EXISTS augchatd_tombstone (conversation_id TEXT PRIMARY KEY);
";

pub(crate) fn open(path: &Path) -> Result<Connection, DbError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(DbError::Open)?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA)?;
    // Forward-only migration (SPEC §6.2): a file that already has the column answers "duplicate column".
    if let Err(e) = conn.execute_batch("ALTER TABLE message ADD COLUMN metadata_json TEXT")
        && !e.to_string().contains("duplicate column")
    {
        return Err(e.into());
    }

    Ok(conn)
}

pub(crate) fn now_iso() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

impl UserDbWriter {
    /// The open connection, opening the file if needed (first use, or after a failed open).
    pub(crate) fn conn(&mut self) -> Result<&mut Connection, DbError> {
        if self.conn.is_none() {
            let mut conn = open(&self.path)?;
            let known = Arc::clone(&self.known);
            // Every change to what a turn context is read from forgets them all, whichever message made it.
            conn.update_hook(Some(move |_, _: &str, table: &str, _| {
                if KnownTurns::READ_FROM.contains(&table) {
                    known.forget_all();
                }
            }))?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or(DbError::WriterGone)
    }

    /// Refuses a write that would create or fill a conversation on behalf of an erased user's session.
    pub(crate) fn admit(&self, session: &SessionId) -> Result<(), DbError> {
        if is_erased(&self.erased, session) {
            return Err(DbError::SessionErased);
        }
        Ok(())
    }

    /// From now on, writes on behalf of `sessions` are refused (see `admit`).
    pub(crate) fn refuse(&self, sessions: impl IntoIterator<Item = SessionId>) {
        self.erased.lock().unwrap_or_else(PoisonError::into_inner).extend(sessions);
    }

    /// Closes the connection and deletes the file with its WAL and shared-memory files, and the tenant
    /// directory when that is left empty. The next message reopens (creates) the file.
    pub(crate) fn remove_file(&mut self) -> Result<(), DbError> {
        self.known.forget_all();
        if let Some(conn) = self.conn.take() {
            conn.close().map_err(|(_, e)| DbError::Sqlite(e))?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(DbError::Open(e)),
            }
        }
        // The tenant directory goes when it is empty; another user's file keeps it.
        if let Some(dir) = self.path.parent() {
            let _not_empty_or_gone = std::fs::remove_dir(dir);
        }
        Ok(())
    }

    /// Runs a handler body under `guarded`, turning a contained panic into `DbError::Panicked`.
    pub(crate) fn run<R>(
        &mut self,
        ctx: &mut SyncContext<Self>,
        f: impl FnOnce(&mut Self) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let id = self.id.clone();
        guarded(ctx, ActorKind::UserDb, &id, |_| f(self)).unwrap_or(Err(DbError::Panicked))
    }
}

impl Actor for UserDbWriter {
    type Context = SyncContext<Self>;

    fn started(&mut self, _ctx: &mut SyncContext<Self>) {
        // Open now so the file exists from the user's first session (SPEC §11 #118); a failure is
        // retried by the next message and reported to its sender.
        let outcome = self.conn().map(drop);
        tracing::info!(actor = ActorKind::UserDb.as_str(), id = %self.id, restart_count = self.generation,
            "actor started");
        if let Err(e) = outcome {
            tracing::error!(actor = ActorKind::UserDb.as_str(), id = %self.id, error = %e, "hot database open failed");
        }
    }

    fn stopped(&mut self, _ctx: &mut SyncContext<Self>) {
        tracing::info!(actor = ActorKind::UserDb.as_str(), id = %self.id, restart_count = self.generation,
            "actor stopped");
    }
}

/// Marks a conversation as changed in hot storage; part of the writing transaction.
pub(crate) fn bump(tx: &rusqlite::Transaction<'_>, cid: &ConversationId) -> Result<(), DbError> {
    tx.prepare_cached(
        "INSERT INTO augchatd_flush (conversation_id, dirty_version, flushed_version) VALUES (?1, 1, 0)
         ON CONFLICT (conversation_id) DO UPDATE SET dirty_version = dirty_version + 1",
    )?
    .execute([cid.as_str()])?;
    Ok(())
}

/// Inserts a conversation row (if absent) and the first-observation flags of every connector in
/// scope (if absent); returns whether anything was written (and so marked dirty).
pub(crate) fn ensure(
    tx: &rusqlite::Transaction<'_>,
    cid: &ConversationId,
    session: &SessionId,
    defaults: &[(String, bool)],
) -> Result<bool, DbError> {
    let now = now_iso();
    let created = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO conversation (conversation_id, session_id, model_id_override, created_at) VALUES (?1, ?2, NULL, ?3)",
        )?
        .execute(params![cid.as_str(), session.as_str(), now])?
        > 0;
    let mut snapshots = 0;
    let mut snapshot = tx.prepare_cached(
        "INSERT OR IGNORE INTO connector_state (conversation_id, descriptive_id, active, updated_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (descriptive_id, active) in defaults {
        snapshots += snapshot.execute(params![cid.as_str(), descriptive_id, active, now])?;
    }
    drop(snapshot);
    if created {
        // A conversation re-created after a delete is a new one; its flush overwrites the old cold copy.
        tx.prepare_cached("DELETE FROM augchatd_tombstone WHERE conversation_id = ?1")?.execute([cid.as_str()])?;
    }
    let written = created || snapshots > 0;
    if written {
        bump(tx, cid)?;
    }
    Ok(written)
}

/// Create a conversation if it does not exist, snapshotting connector defaults. Sent by
/// `POST /conversations` and by `POST /chat` before it streams; replies `true` when it wrote anything
/// (so the sender touches the conversation's flusher).
#[derive(Debug, Message)]
#[rtype(result = "Result<bool, DbError>")]
pub struct EnsureConversation {
    /// The conversation.
    pub cid: ConversationId,
    /// The session creating it (informational).
    pub session: SessionId,
    /// `(descriptive_id, default_active)` of every connector in scope.
    pub defaults: Vec<(String, bool)>,
}

impl Handler<EnsureConversation> for UserDbWriter {
    type Result = Result<bool, DbError>;

    fn handle(&mut self, msg: EnsureConversation, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            writer.admit(&msg.session)?;
            let tx = writer.conn()?.transaction()?;
            let written = ensure(&tx, &msg.cid, &msg.session, &msg.defaults)?;
            tx.commit()?;
            Ok(written)
        })
    }
}

/// Replace the stored thread with the client's full thread plus the new assistant message, in one
/// transaction (SPEC §12 decision 16): rows whose ids are gone are deleted, the rest upserted with
/// `ordinal` = array index. Sent by `POST /chat` when a turn ends.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct ReplaceThread {
    /// The conversation (created if a concurrent delete removed it).
    pub cid: ConversationId,
    /// The session of the turn.
    pub session: SessionId,
    /// Connector defaults, for a re-created conversation.
    pub defaults: Vec<(String, bool)>,
    /// The whole thread, in order.
    pub messages: Vec<StoredMessage>,
}

impl Handler<ReplaceThread> for UserDbWriter {
    type Result = Result<(), DbError>;

    fn handle(&mut self, msg: ReplaceThread, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            writer.admit(&msg.session)?;
            let tx = writer.conn()?.transaction()?;
            ensure(&tx, &msg.cid, &msg.session, &msg.defaults)?;
            let existing: Vec<String> = tx
                .prepare_cached("SELECT message_id FROM message WHERE conversation_id = ?1")?
                .query_map([msg.cid.as_str()], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut delete = tx.prepare_cached("DELETE FROM message WHERE conversation_id = ?1 AND message_id = ?2")?;
            for gone in existing.iter().filter(|id| !msg.messages.iter().any(|m| &m.message_id == *id)) {
                delete.execute(params![msg.cid.as_str(), gone])?;
            }
            drop(delete);
            let now = now_iso();
            let mut upsert = tx.prepare_cached(
                "INSERT INTO message (conversation_id, message_id, ordinal, role, parts_json, metadata_json, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (conversation_id, message_id) DO UPDATE SET ordinal = excluded.ordinal,
                   role = excluded.role, parts_json = excluded.parts_json, metadata_json = excluded.metadata_json,
                   updated_at = excluded.updated_at",
            )?;
            for (index, m) in msg.messages.iter().enumerate() {
                let ordinal = i64::try_from(index).unwrap_or(i64::MAX);
                upsert.execute(params![
                    msg.cid.as_str(),
                    m.message_id,
                    ordinal,
                    m.role.as_str(),
                    m.parts_json,
                    m.metadata_json,
                    now
                ])?;
            }
            drop(upsert);
            bump(&tx, &msg.cid)?;
            tx.commit()?;
            Ok(())
        })
    }
}

/// Read a conversation's messages, ordered by ordinal then id. Sent by `GET …/messages`.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<StoredMessage>, DbError>")]
pub struct GetMessages {
    /// The conversation.
    pub cid: ConversationId,
}

impl Handler<GetMessages> for UserDbWriter {
    type Result = Result<Vec<StoredMessage>, DbError>;

    fn handle(&mut self, msg: GetMessages, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let conn = writer.conn()?;
            if !conversation_exists(conn, &msg.cid)? {
                return Err(DbError::NotFound);
            }
            read_messages(conn, &msg.cid)
        })
    }
}

/// Whether `sql` (a `SELECT 1 … WHERE conversation_id = ?1 …`) finds a row for `cid`.
pub(crate) fn has_row(conn: &Connection, sql: &str, cid: &ConversationId) -> Result<bool, DbError> {
    Ok(conn.prepare_cached(sql)?.query_row([cid.as_str()], |_| Ok(())).optional()?.is_some())
}

/// Whether hot storage has the conversation's row.
pub(crate) fn conversation_exists(conn: &Connection, cid: &ConversationId) -> Result<bool, DbError> {
    has_row(conn, "SELECT 1 FROM conversation WHERE conversation_id = ?1", cid)
}

/// Whether the user deleted the conversation and cold has not confirmed the delete yet.
pub(crate) fn tombstoned(conn: &Connection, cid: &ConversationId) -> Result<bool, DbError> {
    has_row(conn, "SELECT 1 FROM augchatd_tombstone WHERE conversation_id = ?1", cid)
}

/// A conversation's messages in thread order (ordinal, then id): what GET …/messages answers and
/// what a flush uploads.
pub(crate) fn read_messages(conn: &Connection, cid: &ConversationId) -> Result<Vec<StoredMessage>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id, ordinal, role, parts_json, metadata_json FROM message
         WHERE conversation_id = ?1 ORDER BY ordinal ASC, message_id ASC",
    )?;
    let rows = stmt.query_map([cid.as_str()], |row| {
        let role: String = row.get(2)?;
        Ok(StoredMessage {
            message_id: row.get(0)?,
            ordinal: row.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::User),
            parts_json: row.get(3)?,
            metadata_json: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A conversation's saved connector flags, by descriptive id.
pub(crate) fn connector_flags(conn: &Connection, cid: &ConversationId) -> Result<Vec<(String, bool)>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT descriptive_id, active FROM connector_state WHERE conversation_id = ?1 ORDER BY descriptive_id",
    )?;
    let rows = stmt.query_map([cid.as_str()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// List the user's conversations, most recently updated first. Sent by `GET /conversations`.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<ConversationSummary>, DbError>")]
pub struct ListConversations;

impl Handler<ListConversations> for UserDbWriter {
    type Result = Result<Vec<ConversationSummary>, DbError>;

    fn handle(&mut self, _: ListConversations, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let conn = writer.conn()?;
            let mut stmt = conn.prepare_cached(
                "SELECT c.conversation_id, c.model_id_override,
                   (SELECT COUNT(*) FROM message m WHERE m.conversation_id = c.conversation_id),
                   COALESCE((SELECT MAX(m.updated_at) FROM message m WHERE m.conversation_id = c.conversation_id), c.created_at) AS updated,
                   (SELECT m.parts_json FROM message m WHERE m.conversation_id = c.conversation_id AND m.role = 'user'
                      ORDER BY m.ordinal ASC, m.message_id ASC LIMIT 1)
                 FROM conversation c ORDER BY updated DESC, c.conversation_id ASC",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok(ConversationSummary {
                    conversation_id: row.get(0)?,
                    model_id_override: row.get(1)?,
                    message_count: row.get(2)?,
                    updated_at: row.get(3)?,
                    first_user_parts_json: row.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

/// Delete a conversation: its messages, connector flags and row, in one transaction. Sent by
/// `DELETE /conversations/:cid`.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct DeleteConversation {
    /// The conversation.
    pub cid: ConversationId,
}

impl Handler<DeleteConversation> for UserDbWriter {
    type Result = Result<(), DbError>;

    fn handle(&mut self, msg: DeleteConversation, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let tx = writer.conn()?.transaction()?;
            let cid = msg.cid.as_str();
            tx.prepare_cached("DELETE FROM message WHERE conversation_id = ?1")?.execute([cid])?;
            tx.prepare_cached("DELETE FROM connector_state WHERE conversation_id = ?1")?.execute([cid])?;
            tx.prepare_cached("DELETE FROM augchatd_flush WHERE conversation_id = ?1")?.execute([cid])?;
            tx.prepare_cached("INSERT OR IGNORE INTO augchatd_tombstone (conversation_id) VALUES (?1)")?
                .execute([cid])?;
            let removed = tx.prepare_cached("DELETE FROM conversation WHERE conversation_id = ?1")?.execute([cid])?;
            if removed == 0 {
                return Err(DbError::NotFound);
            }
            tx.commit()?;
            Ok(())
        })
    }
}

/// A conversation as cold storage holds it (SPEC §6.4), with the hot version it reflects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdSnapshot {
    /// The `dirty_version` the snapshot was read at; `MarkFlushed` records it once cold has it.
    pub version: i64,
    /// The SPEC §6.4 JSON document.
    pub body: Vec<u8>,
}

/// Read what a flush uploads: the canonical hot rows, serialized. Sent by the conversation's flusher;
/// replies `None` when the conversation is clean or gone.
#[derive(Debug, Message)]
#[rtype(result = "Result<Option<ColdSnapshot>, DbError>")]
pub struct ExportConversation {
    /// The conversation.
    pub cid: ConversationId,
}

impl Handler<ExportConversation> for UserDbWriter {
    type Result = Result<Option<ColdSnapshot>, DbError>;

    fn handle(&mut self, msg: ExportConversation, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let tx = writer.conn()?.transaction()?;
            let cid = msg.cid.as_str();
            let versions: Option<(i64, i64)> = tx
                .prepare_cached("SELECT dirty_version, flushed_version FROM augchatd_flush WHERE conversation_id = ?1")?
                .query_row([cid], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let Some((version, _)) = versions.filter(|(dirty, flushed)| dirty > flushed) else {
                return Ok(None);
            };
            let override_row: Option<Option<String>> = tx
                .prepare_cached("SELECT model_id_override FROM conversation WHERE conversation_id = ?1")?
                .query_row([cid], |row| row.get(0))
                .optional()?;
            let Some(model_id_override) = override_row else { return Ok(None) };
            let messages: Vec<serde_json::Value> = read_messages(&tx, &msg.cid)?
                .into_iter()
                .map(|m| {
                    serde_json::json!({
                        "id": m.message_id,
                        "ordinal": m.ordinal,
                        "role": m.role.as_str(),
                        "parts": serde_json::from_str::<serde_json::Value>(&m.parts_json).unwrap_or_default(),
                        "metadata": m.metadata_json.and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok()),
                    })
                })
                .collect();
            let connector_state: Vec<serde_json::Value> = connector_flags(&tx, &msg.cid)?
                .into_iter()
                .map(|(descriptive_id, active)| serde_json::json!({"descriptive_id": descriptive_id, "active": active}))
                .collect();
            let document = serde_json::json!({
                "schema_version": 1,
                "messages": messages,
                "connector_state": connector_state,
                "model_id_override": model_id_override,
                "flushed_at": now_iso(),
            });
            Ok(Some(ColdSnapshot { version, body: document.to_string().into_bytes() }))
        })
    }
}

/// What hot storage says after cold acknowledged an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushMark {
    /// Cold has the latest version.
    Clean,
    /// A write landed during the upload; another flush is needed.
    StillDirty,
    /// The conversation was deleted during the upload: the object just written must go too. A
    /// tombstone is (re)written so that happens, and hydration never brings it back.
    Deleted,
}

/// Record that cold storage has acknowledged `version` of a conversation. Sent by its flusher after
/// a successful upload; a write that happened during the upload keeps the conversation dirty.
#[derive(Debug, Message)]
#[rtype(result = "Result<FlushMark, DbError>")]
pub struct MarkFlushed {
    /// The conversation.
    pub cid: ConversationId,
    /// The uploaded version.
    pub version: i64,
}

impl Handler<MarkFlushed> for UserDbWriter {
    type Result = Result<FlushMark, DbError>;

    fn handle(&mut self, msg: MarkFlushed, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let conn = writer.conn()?;
            if !conversation_exists(conn, &msg.cid)? {
                conn.prepare_cached("INSERT OR IGNORE INTO augchatd_tombstone (conversation_id) VALUES (?1)")?
                    .execute([msg.cid.as_str()])?;
                return Ok(FlushMark::Deleted);
            }
            conn.prepare_cached(
                "UPDATE augchatd_flush SET flushed_version = MAX(flushed_version, ?2) WHERE conversation_id = ?1",
            )?
            .execute(params![msg.cid.as_str(), msg.version])?;
            let still_dirty = has_row(
                conn,
                "SELECT 1 FROM augchatd_flush WHERE conversation_id = ?1 AND dirty_version > flushed_version",
                &msg.cid,
            )?;
            Ok(if still_dirty { FlushMark::StillDirty } else { FlushMark::Clean })
        })
    }
}

/// The conversation ids a one-column query returns. Rows are written only from validated ids; anything
/// else found in the file is skipped, not trusted.
pub(crate) fn conversation_ids(conn: &Connection, sql: &str) -> Result<Vec<ConversationId>, DbError> {
    let ids: Vec<String> = conn.prepare_cached(sql)?.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    Ok(ids.into_iter().filter_map(|id| ConversationId::try_from(id).ok()).collect())
}

/// List the conversations cold storage does not have yet. Sent when a session ends (final flush) and
/// when a user's first session arrives after a restart (crash recovery).
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<ConversationId>, DbError>")]
pub struct DirtyConversations;

impl Handler<DirtyConversations> for UserDbWriter {
    type Result = Result<Vec<ConversationId>, DbError>;

    fn handle(&mut self, _: DirtyConversations, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            conversation_ids(
                writer.conn()?,
                "SELECT conversation_id FROM augchatd_flush WHERE dirty_version > flushed_version",
            )
        })
    }
}

/// Whether hot storage has a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// In hot storage.
    Present,
    /// Not here; cold may have it.
    Absent,
    /// Deleted by the user; cold must not bring it back.
    Deleted,
}

/// Ask whether a conversation is in hot storage. Sent before hydrating from cold.
#[derive(Debug, Message)]
#[rtype(result = "Result<Presence, DbError>")]
pub struct Locate {
    /// The conversation.
    pub cid: ConversationId,
}

impl Handler<Locate> for UserDbWriter {
    type Result = Result<Presence, DbError>;

    fn handle(&mut self, msg: Locate, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let conn = writer.conn()?;
            if conversation_exists(conn, &msg.cid)? {
                Ok(Presence::Present)
            } else if tombstoned(conn, &msg.cid)? {
                Ok(Presence::Deleted)
            } else {
                Ok(Presence::Absent)
            }
        })
    }
}

/// A conversation read back from cold storage.
#[derive(Debug, Clone)]
pub struct ColdConversation {
    /// The override it was flushed with.
    pub model_id_override: Option<String>,
    /// Its messages, in order.
    pub messages: Vec<StoredMessage>,
    /// Its connector flags.
    pub connector_state: Vec<(String, bool)>,
}

/// Insert a conversation hydrated from cold storage, unless hot has it by now. It arrives clean: cold
/// already holds exactly this. Sent by the hydrate path of `GET …/messages` and `POST /chat`.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct Hydrate {
    /// The conversation.
    pub cid: ConversationId,
    /// The session that resumed it.
    pub session: SessionId,
    /// What cold storage held.
    pub conversation: ColdConversation,
}

impl Handler<Hydrate> for UserDbWriter {
    type Result = Result<(), DbError>;

    fn handle(&mut self, msg: Hydrate, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            writer.admit(&msg.session)?;
            let tx = writer.conn()?.transaction()?;
            let cid = msg.cid.as_str();
            if tombstoned(&tx, &msg.cid)? {
                // Deleted while the cold read was in flight: the user's delete wins.
                return Ok(());
            }
            let now = now_iso();
            let inserted = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO conversation (conversation_id, session_id, model_id_override, created_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![cid, msg.session.as_str(), msg.conversation.model_id_override, now])?;
            if inserted == 0 {
                return Ok(());
            }
            // Clean on arrival: cold holds exactly this version.
            tx.prepare_cached(
                "INSERT OR IGNORE INTO augchatd_flush (conversation_id, dirty_version, flushed_version) VALUES (?1, 0, 0)",
            )?
            .execute([cid])?;
            let mut message = tx.prepare_cached(
                "INSERT OR REPLACE INTO message (conversation_id, message_id, ordinal, role, parts_json, metadata_json, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for m in &msg.conversation.messages {
                message.execute(params![cid, m.message_id, m.ordinal, m.role.as_str(), m.parts_json, m.metadata_json, now])?;
            }
            drop(message);
            let mut state = tx.prepare_cached(
                "INSERT OR REPLACE INTO connector_state (conversation_id, descriptive_id, active, updated_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (descriptive_id, active) in &msg.conversation.connector_state {
                state.execute(params![cid, descriptive_id, active, now])?;
            }
            drop(state);
            tx.commit()?;
            Ok(())
        })
    }
}

/// The conversations deleted in hot whose cold copy has not been confirmed deleted. Sent by the
/// flush of a user, which retries those deletes.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<ConversationId>, DbError>")]
pub struct Tombstones;

impl Handler<Tombstones> for UserDbWriter {
    type Result = Result<Vec<ConversationId>, DbError>;

    fn handle(&mut self, _: Tombstones, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| conversation_ids(writer.conn()?, "SELECT conversation_id FROM augchatd_tombstone"))
    }
}

/// Cold storage confirmed the delete of a conversation. Sent by the flush that deleted it. Replies
/// `true` when the conversation exists again (re-created while the delete was in flight): its cold
/// copy was just removed, so it is marked dirty and must be flushed again.
#[derive(Debug, Message)]
#[rtype(result = "Result<bool, DbError>")]
pub struct ColdDeleted {
    /// The conversation.
    pub cid: ConversationId,
}

impl Handler<ColdDeleted> for UserDbWriter {
    type Result = Result<bool, DbError>;

    fn handle(&mut self, msg: ColdDeleted, ctx: &mut SyncContext<Self>) -> Self::Result {
        self.run(ctx, |writer| {
            let tx = writer.conn()?.transaction()?;
            let cid = msg.cid.as_str();
            tx.prepare_cached("DELETE FROM augchatd_tombstone WHERE conversation_id = ?1")?.execute([cid])?;
            let recreated = tx
                .prepare_cached("UPDATE augchatd_flush SET flushed_version = 0 WHERE conversation_id = ?1")?
                .execute([cid])?
                > 0;
            tx.commit()?;
            Ok(recreated)
        })
    }
}

/// What a user is doing right now, shared by the flushers and the writer: eviction must not race a
/// session minted or a turn started after the decision to evict was taken.
#[derive(Debug, Default)]
pub struct UserActivity {
    /// Bumped by every session mint and turn start.
    pub generation: std::sync::atomic::AtomicU64,
    /// Chat turns between their start and their stored reply.
    pub turns_in_flight: std::sync::atomic::AtomicUsize,
}

/// Delete the user's hot file if cold has everything: no dirty conversation and no pending cold
/// delete. Sent when the user's last session has ended and its final flush succeeded. The writer
/// stays; its next message reopens (creates) the file. Replies whether the file was removed.
/// Checked on the writer's thread, right before the file goes: the activity generation must still be
/// the one the decision was based on, and no turn may be in flight.
#[derive(Debug, Message)]
#[rtype(result = "Result<bool, DbError>")]
pub struct EvictIfClean {
    /// The user's activity counters.
    pub activity: Arc<UserActivity>,
    /// The generation observed when the user's last session ended.
    pub generation: u64,
}

impl Handler<EvictIfClean> for UserDbWriter {
    type Result = Result<bool, DbError>;

    fn handle(&mut self, msg: EvictIfClean, ctx: &mut SyncContext<Self>) -> Self::Result {
        // Before the busy check: a turn that counted itself in flight after it cannot start from a known
        // context any more, so it asks this writer, after the eviction, and finds the conversation in cold.
        self.known.forget_all();
        self.run(ctx, |writer| {
            let busy = msg.activity.generation.load(Ordering::SeqCst) != msg.generation
                || msg.activity.turns_in_flight.load(Ordering::SeqCst) > 0;
            if busy {
                return Ok(false);
            }
            let conn = writer.conn()?;
            let pending: i64 = conn
                .prepare_cached(
                    "SELECT (SELECT COUNT(*) FROM augchatd_flush WHERE dirty_version > flushed_version)
                          + (SELECT COUNT(*) FROM augchatd_tombstone)
                          + (SELECT COUNT(*) FROM conversation c WHERE NOT EXISTS
                              (SELECT 1 FROM augchatd_flush f WHERE f.conversation_id = c.conversation_id))",
                )?
                .query_row([], |row| row.get(0))?;
            if pending > 0 {
                return Ok(false);
            }
            writer.remove_file()?;
            tracing::info!(actor = ActorKind::UserDb.as_str(), id = %writer.id, "hot file removed: cold has everything");
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::connector_state::SetModelOverride;
    use crate::data_subject::EraseUser;
    use crate::turn_start::StartTurn;

    /// Test-only: a handler bug, contained by `guarded`.
    #[derive(Message)]
    #[rtype(result = "Result<(), DbError>")]
    struct Explode;

    impl Handler<Explode> for UserDbWriter {
        type Result = Result<(), DbError>;
        fn handle(&mut self, _: Explode, ctx: &mut SyncContext<Self>) -> Self::Result {
            self.run(ctx, |_| panic!("injected writer failure"))
        }
    }

    #[actix_rt::test]
    async fn a_panicking_writer_is_rebuilt_behind_the_same_addr_and_keeps_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().to_owned());
        let writer = dbs.writer(&TenantId::try_from("t").unwrap(), &UserId::try_from("u").unwrap());
        let cid = ConversationId::try_from("c1").unwrap();
        let ensure =
            EnsureConversation { cid: cid.clone(), session: SessionId::try_from("s").unwrap(), defaults: vec![] };
        writer.send(ensure).await.unwrap().unwrap();

        assert!(matches!(writer.send(Explode).await.unwrap(), Err(DbError::Panicked)));
        let messages = writer.send(GetMessages { cid }).await.unwrap();
        assert_eq!(messages.unwrap(), vec![], "the same Addr answers and the conversation is still there");
        assert_eq!(writer.send(DirtyConversations).await.unwrap().unwrap().len(), 1);
    }

    fn alice() -> (TenantId, UserId) {
        (TenantId::try_from("t").unwrap(), UserId::try_from("alice").unwrap())
    }

    /// Yields to the actors until `done`; a writer thread ends within milliseconds of its last `Addr`.
    async fn until(mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("condition not reached");
    }

    #[actix_rt::test]
    async fn an_idle_writer_nobody_holds_is_retired_and_the_next_one_reopens_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().to_owned());
        let (tenant, user) = alice();
        let cid = ConversationId::try_from("c1").unwrap();
        let writer = dbs.writer(&tenant, &user);
        let ensure =
            EnsureConversation { cid: cid.clone(), session: SessionId::try_from("s").unwrap(), defaults: vec![] };
        assert!(writer.send(ensure).await.unwrap().unwrap());
        let retired_addr = writer.downgrade();
        drop(writer);
        assert_eq!(dbs.live_writers(), 1);

        assert_eq!(dbs.retire_idle(Duration::ZERO), 1);
        until(|| dbs.live_writers() == 0).await;
        until(|| retired_addr.upgrade().is_none_or(|addr| !addr.connected())).await;
        assert!(dbs.has_file(&tenant, &user), "the hot file stays (SPEC §12 decision 26)");

        let reopened = dbs.writer(&tenant, &user);
        assert_eq!(dbs.live_writers(), 1);
        assert_eq!(reopened.send(GetMessages { cid: cid.clone() }).await.unwrap().unwrap(), vec![]);
        assert_eq!(reopened.send(DirtyConversations).await.unwrap().unwrap(), vec![cid], "the data written before");
    }

    /// A turn of conversation c1 with no connectors in scope.
    fn start_c1() -> StartTurn {
        StartTurn {
            cid: ConversationId::try_from("c1").unwrap(),
            session: SessionId::try_from("s").unwrap(),
            in_scope: vec![],
            cold_checked: true,
        }
    }

    #[actix_rt::test]
    async fn known_turns_outlive_the_writers_retirement_and_go_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().to_owned());
        let (tenant, user) = alice();
        let writer = dbs.writer(&tenant, &user);
        writer.send(start_c1()).await.unwrap().unwrap();
        drop(writer);
        assert_eq!(dbs.retire_idle(Duration::ZERO), 1);
        until(|| dbs.live_writers() == 0).await;

        let reopened = dbs.writer(&tenant, &user);
        assert!(reopened.known_turn(&start_c1()).is_some(), "known to the new writer");
        reopened.send(DirtyConversations).await.unwrap().unwrap();
        assert!(reopened.known_turn(&start_c1()).is_some(), "and after");
        reopened.send(EraseUser { sessions: vec![] }).await.unwrap().unwrap();
        assert_eq!(reopened.known_turn(&start_c1()), None, "the file is gone");

        drop(reopened);
        dbs.retire_idle(Duration::ZERO);
        // `WriterFactory` drops its `known` before the running gauge (field order), so at 0 none holds it.
        until(|| dbs.live_writers() == 0).await;
        dbs.retire_idle(Duration::ZERO);
        assert!(dbs.known.lock().unwrap().is_empty(), "nothing is kept for a user with nothing known");
    }

    #[actix_rt::test]
    async fn an_eviction_forgets_known_turns_before_it_looks_for_turns_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().to_owned());
        let (tenant, user) = alice();
        let writer = dbs.writer(&tenant, &user);
        writer.send(start_c1()).await.unwrap().unwrap();
        // A turn counted in flight after that look could not start from a known context any more.
        let activity = Arc::new(UserActivity::default());
        activity.turns_in_flight.store(1, Ordering::SeqCst);
        assert!(!writer.send(EvictIfClean { activity, generation: 0 }).await.unwrap().unwrap(), "busy");
        assert_eq!(writer.known_turn(&start_c1()), None);
    }

    /// Test-only: keeps the writer's thread busy until the sender is used or dropped.
    #[derive(Message)]
    #[rtype(result = "()")]
    struct Hold(std::sync::mpsc::Receiver<()>);

    impl Handler<Hold> for UserDbWriter {
        type Result = ();
        fn handle(&mut self, msg: Hold, _: &mut SyncContext<Self>) {
            let _released_or_dropped = msg.0.recv();
        }
    }

    #[actix_rt::test]
    async fn while_a_retired_writer_thread_still_runs_no_turn_context_is_remembered_or_served() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().to_owned());
        let (tenant, user) = alice();
        let old = dbs.writer(&tenant, &user);
        old.send(start_c1()).await.unwrap().unwrap();
        // Nothing known any more, but the old thread still holds its user's known turns: they stay, the same.
        let cid = ConversationId::try_from("c1").unwrap();
        old.send(SetModelOverride { cid, model_id: "m2".to_owned() }).await.unwrap().unwrap();
        let old_known = Arc::as_ptr(&old.shared().known) as usize;
        let (release, held) = std::sync::mpsc::channel();
        let holding = old.send(Hold(held));
        drop(old);
        assert_eq!(dbs.retire_idle(Duration::ZERO), 1);

        // The old thread could still commit a change after the new one read the rows.
        let new = dbs.writer(&tenant, &user);
        assert_eq!(dbs.live_writers(), 2);
        assert_eq!(Arc::as_ptr(&new.shared().known) as usize, old_known, "one user, one set, whichever thread");
        assert_eq!(new.known_turn(&start_c1()), None, "nothing served");
        new.send(start_c1()).await.unwrap().unwrap();
        assert_eq!(new.known_turn(&start_c1()), None, "nor remembered");

        release.send(()).unwrap();
        holding.await.unwrap();
        until(|| dbs.live_writers() == 1).await;
        assert_eq!(new.known_turn(&start_c1()), None, "what was read beside the old thread is not kept");
        new.send(start_c1()).await.unwrap().unwrap();
        assert!(new.known_turn(&start_c1()).is_some(), "one thread again");
    }

    #[actix_rt::test]
    async fn a_writer_someone_still_holds_is_not_retired_however_long_it_was_idle() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().to_owned());
        let (tenant, user) = alice();
        // Like a chat turn in progress: it took the writer at its start and stores its reply at its end.
        let turn = dbs.writer(&tenant, &user);

        assert_eq!(dbs.retire_idle(Duration::ZERO), 0);
        let cid = ConversationId::try_from("c1").unwrap();
        let ensure = EnsureConversation { cid, session: SessionId::try_from("s").unwrap(), defaults: vec![] };
        assert!(turn.send(ensure).await.unwrap().unwrap());
        assert_eq!(dbs.live_writers(), 1);
        assert!(
            Arc::ptr_eq(&turn.0, &dbs.writer(&tenant, &user).0),
            "the next caller gets the same writer, not a second thread on the file"
        );
    }

    #[actix_rt::test]
    async fn a_writer_handed_out_recently_is_not_retired() {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().to_owned());
        let (tenant, user) = alice();
        drop(dbs.writer(&tenant, &user));

        assert_eq!(dbs.retire_idle(WRITER_IDLE), 0);
        assert_eq!(dbs.live_writers(), 1);
    }
}
