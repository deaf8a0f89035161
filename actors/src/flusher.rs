//! `ConversationFlusher`: one per conversation with hot changes; moves them to cold storage.
//! `Flushers`: the flushers of every user, the user's cold store, and the user's read-only clock.
//!
//! Rules (SPEC §6.5): every hot write re-arms a 5-minute idle timer (`AUGCHATD_FLUSH_IDLE_MS`); a
//! session end flushes at once; a failed flush retries after 1 s, 2 s, 4 s … capped at 60 s; when a
//! user's flushes have failed for 15 minutes (`AUGCHATD_FLUSH_STALLED_MS`) the user is read-only
//! until the next success. Invariant: a conversation counts as clean only after cold acknowledged the
//! exact version that was uploaded (the writer's `MarkFlushed`); hot rows are never removed here.
//!
//! A flusher with nothing to do for `LINGER` is retired, so a long-running daemon does not keep an actor
//! for every conversation it ever saw, and there is never more than one flusher for a conversation on the
//! map. How: every message reaches a listed flusher while the map's lock is held (`with_flusher`, always
//! `do_send`, which queues at once whatever the mailbox holds) and clears its `retiring` mark. A settled
//! flusher marks itself and sends itself `Retire`, which it handles after everything queued before; it
//! leaves the map and stops only if it is still settled and still marked, i.e. nothing was sent to it
//! since. Once off the map it has no address left, so nothing can reach it and the supervisor lets it end.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::audit::{Audit, AuditEvent};
use crate::backoff::FlushBackoff;
use crate::ids::{ConversationId, SessionId, TenantId, UserId};
use crate::metrics::Held;
use crate::ports::{ColdFailure, ColdStore, FlushOutcome, FlushTrace};
use crate::supervisor::{ActorKind, Health, guarded};
use crate::user_db::{
    ColdDeleted, DbError, DirtyConversations, EvictIfClean, ExportConversation, FlushMark, MarkFlushed, Tombstones,
    UserActivity, UserDbs, WriterHandle,
};

/// Where a conversation lives in the bucket, after the session's prefix (SPEC §6.4).
pub fn cold_key(tenant: &TenantId, user: &UserId, cid: &ConversationId) -> String {
    format!("{tenant}/{user}/{cid}.json")
}

/// The folder of a user's conversations in the bucket, after the session's prefix.
pub fn cold_folder(tenant: &TenantId, user: &UserId) -> String {
    format!("{tenant}/{user}/")
}

/// The conversation whose object is `key` in `folder` (a `cold_folder`): the inverse of `cold_key`. `None`
/// for any other object, or a name that is not a conversation id.
pub fn cold_cid(folder: &str, key: &str) -> Option<ConversationId> {
    ConversationId::try_from(key.strip_prefix(folder)?.strip_suffix(".json")?).ok()
}

/// How long a flush may wait for the user's writer.
const WRITER_TIMEOUT: Duration = Duration::from_secs(10);

/// Daemon-wide flush timers.
#[derive(Debug, Clone, Copy)]
pub struct FlushSettings {
    /// Quiet time after the last hot write before a flush.
    pub idle: Duration,
    /// Failure streak after which the user is read-only.
    pub stalled: Duration,
}

/// Why a flush did not reach cold storage.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FlushError {
    /// The hot store could not be read.
    #[error("hot storage failed: {0}")]
    Hot(String),
    /// The bucket refused or did not answer.
    #[error("cold storage failed: {0}")]
    Cold(#[from] ColdFailure),
    /// The flusher restarted or stopped before it could answer.
    #[error("the flusher stopped before answering")]
    Gone,
}

impl From<DbError> for FlushError {
    fn from(err: DbError) -> Self {
        FlushError::Hot(err.to_string())
    }
}

type UserKey = (TenantId, UserId);

/// `flush.stalled` lines owed to the trace: conversation, the session it names, how long flushes had failed.
type Stalls = Vec<(ConversationId, Option<SessionId>, Duration)>;

#[derive(Default)]
struct UserFlush {
    activity: Arc<UserActivity>,
    cold: Option<Arc<dyn ColdStore>>,
    clock: FlushBackoff,
    read_only: bool,
    /// The conversations whose flushes failed in the current streak, with the session each one's trace
    /// names: where `flush.stalled` goes when the streak turns the user read-only.
    failing: HashMap<ConversationId, Option<SessionId>>,
    flushers: HashMap<ConversationId, Listed>,
}

/// A conversation's flusher on the map.
struct Listed {
    addr: Addr<ConversationFlusher>,
    /// It asked to retire and nothing was sent to it since.
    retiring: bool,
}

/// The flush state of every user of this process.
#[derive(Clone)]
pub struct Flushers {
    users: Arc<Mutex<HashMap<UserKey, UserFlush>>>,
    settings: FlushSettings,
    user_dbs: UserDbs,
    arbiter: ArbiterHandle,
    health: Arc<Health>,
    audit: Audit,
    trace: Option<Arc<dyn FlushTrace>>,
}

/// How long an erasure waits for the uploads of the user's conversations that were already running.
const ERASE_SETTLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A flusher that has had nothing to do for this long is retired; the next write starts a new one.
const LINGER: Duration = Duration::from_secs(60);

impl Flushers {
    /// Flushers run on `arbiter` and read hot data through `user_dbs`.
    pub fn new(settings: FlushSettings, user_dbs: UserDbs, arbiter: ArbiterHandle, health: Arc<Health>) -> Self {
        Self { users: Arc::default(), settings, user_dbs, arbiter, health, audit: Audit::default(), trace: None }
    }

    /// The same flushers, reporting read-only transitions to `audit`.
    pub fn auditing_to(self, audit: Audit) -> Self {
        Self { audit, ..self }
    }

    /// The same flushers, reporting each attempt's outcome to `trace`.
    pub fn tracing_flushes_to(self, trace: Arc<dyn FlushTrace>) -> Self {
        Self { trace: Some(trace), ..self }
    }

    /// An erasure of the user begins: their bucket, read-only clock and flushers are dropped, so no new
    /// upload starts (a flusher whose timer still fires finds no bucket and does nothing), and this
    /// waits until the uploads already running have finished. Afterwards nothing of the user's can
    /// reach their bucket unless a new session sets it again. `Err(Gone)` when an upload did not finish
    /// in time.
    pub async fn forget_user(&self, tenant: &TenantId, user: &UserId) -> Result<(), FlushError> {
        let removed = self.lock().remove(&(tenant.clone(), user.clone()));
        let flushers = removed.map(|state| state.flushers.into_values().collect::<Vec<_>>()).unwrap_or_default();
        // With the bucket gone, `FlushNow` answers at once, or when the upload in flight has finished.
        // Its outcome does not matter here, only that nothing is in flight any more.
        let requests: Vec<_> = flushers.iter().map(|listed| flush_now(&listed.addr)).collect();
        let settled = async {
            for request in requests {
                let _outcome = request.await;
            }
        };
        tokio::time::timeout(ERASE_SETTLE_TIMEOUT, settled).await.map_err(|_| FlushError::Gone)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<UserKey, UserFlush>> {
        // Each update is a single field write, so a poisoned map is still consistent.
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A session of the user was minted: its bucket becomes where the user's conversations go (the
    /// latest session's; `None`: hot-only), and any eviction decided before now is off. Returns whether
    /// this process had no flush state for the user yet: then their hot file, if one exists, may hold
    /// writes of an earlier process that cold does not have.
    pub fn set_cold(&self, tenant: &TenantId, user: &UserId, cold: Option<Arc<dyn ColdStore>>) -> bool {
        let mut users = self.lock();
        let key = (tenant.clone(), user.clone());
        let first = !users.contains_key(&key);
        let state = users.entry(key).or_default();
        state.cold = cold;
        state.activity.generation.fetch_add(1, Ordering::SeqCst);
        first
    }

    /// The user's activity generation, read when their last session ends.
    pub fn generation(&self, tenant: &TenantId, user: &UserId) -> u64 {
        self.activity(tenant, user).generation.load(Ordering::SeqCst)
    }

    fn activity(&self, tenant: &TenantId, user: &UserId) -> Arc<UserActivity> {
        Arc::clone(&self.lock().entry((tenant.clone(), user.clone())).or_default().activity)
    }

    /// A chat turn of the user started; the hot file stays until the returned guard is dropped (after
    /// the turn is stored).
    pub fn turn_started(&self, tenant: &TenantId, user: &UserId) -> TurnInFlight {
        let activity = self.activity(tenant, user);
        activity.turns_in_flight.fetch_add(1, Ordering::SeqCst);
        activity.generation.fetch_add(1, Ordering::SeqCst);
        TurnInFlight(activity)
    }

    /// The bucket this user's conversations go to and come from (`None`: hot-only).
    pub fn cold_store(&self, tenant: &TenantId, user: &UserId) -> Option<Arc<dyn ColdStore>> {
        self.cold(&(tenant.clone(), user.clone()))
    }

    /// Deletes a conversation's cold copy; on success clears its tombstone. A failure leaves the
    /// tombstone, so the next flush of the user retries and hydration never brings it back.
    pub async fn delete_cold(&self, tenant: &TenantId, user: &UserId, cid: &ConversationId) -> Result<(), FlushError> {
        let Some(cold) = self.cold_store(tenant, user) else { return Ok(()) };
        cold.delete(cold_key(tenant, user, cid)).await?;
        let writer = self.user_dbs.writer(tenant, user);
        let recreated = writer
            .send(ColdDeleted { cid: cid.clone() })
            .timeout(WRITER_TIMEOUT)
            .await
            .map_err(|_| FlushError::Gone)??;
        tracing::info!(%tenant, %user, %cid, recreated, "cold copy deleted");
        if recreated {
            // Re-created while the delete was in flight: its new content must reach cold again.
            self.with_flusher(tenant, user, cid, |flusher| flusher.do_send(Touch(None)));
        }
        Ok(())
    }

    /// Removes the user's hot file when cold has everything, nothing happened since `generation`
    /// (read when their last session ended) and no turn is in flight.
    pub async fn evict_if_clean(&self, tenant: &TenantId, user: &UserId, generation: u64) -> Result<bool, FlushError> {
        if self.cold_store(tenant, user).is_none() {
            // Hot-only users keep their file: it is the only copy.
            return Ok(false);
        }
        let evict = EvictIfClean { activity: self.activity(tenant, user), generation };
        let writer = self.user_dbs.writer(tenant, user);
        Ok(writer.send(evict).timeout(WRITER_TIMEOUT).await.map_err(|_| FlushError::Gone)??)
    }

    /// True while the user's flushes have failed for longer than the stalled threshold. Computed from
    /// the clock at each call, so read-only begins exactly at the threshold, not at the next attempt.
    pub fn is_read_only(&self, tenant: &TenantId, user: &UserId) -> bool {
        let key = (tenant.clone(), user.clone());
        let mut users = self.lock();
        let Some(state) = users.get_mut(&key) else { return false };
        let stalls = self.update_read_only(&key, state);
        let read_only = state.read_only;
        drop(users);
        self.write_stalls(stalls);
        read_only
    }

    /// Moves the user into read-only once the streak passes the threshold; logs the transition once.
    /// Returns the `flush.stalled` lines owed to the trace, for the caller to write once it has let go of
    /// the users' lock (every request takes it; a trace file is written synchronously).
    #[must_use]
    fn update_read_only(&self, key: &UserKey, state: &mut UserFlush) -> Stalls {
        let now = tokio::time::Instant::now().into_std();
        if state.read_only || !state.clock.is_stalled(now, self.settings.stalled) {
            return Vec::new();
        }
        state.read_only = true;
        let failing_for = state.clock.failing_for(now).unwrap_or_default();
        let failing_for_ms = failing_for.as_millis();
        tracing::warn!(tenant = %key.0, user = %key.1, failing_for_ms, "user read-only: cold flush stalled");
        self.audit.record(AuditEvent::ReadOnlyEntered { tenant: key.0.clone(), user: key.1.clone(), failing_for });
        if self.trace.is_none() {
            return Vec::new();
        }
        state.failing.iter().map(|(cid, session)| (cid.clone(), session.clone(), failing_for)).collect()
    }

    /// Writes the `flush.stalled` lines `update_read_only` returned.
    fn write_stalls(&self, stalls: Stalls) {
        for (cid, session, failing_for) in stalls {
            self.report(&cid, session.as_ref(), FlushOutcome::Stalled { failing_for });
        }
    }

    /// Hands one flush outcome of `cid` to the trace, if there is one.
    fn report(&self, cid: &ConversationId, session: Option<&SessionId>, outcome: FlushOutcome) {
        if let Some(trace) = &self.trace {
            trace.flushed(cid, session, outcome);
        }
    }

    /// A hot write to `cid` by `session` committed: (re)arm its idle flush.
    pub fn touched(&self, tenant: &TenantId, user: &UserId, cid: &ConversationId, session: &SessionId) {
        self.with_flusher(tenant, user, cid, |flusher| flusher.do_send(Touch(Some(session.clone()))));
    }

    /// Flushes every conversation of the user that cold does not have yet, and waits for the outcome.
    /// Used when a session ends (`DELETE /sessions/:id` waits for it) and for crash recovery.
    pub async fn flush_user(&self, tenant: &TenantId, user: &UserId) -> Result<(), FlushError> {
        let writer = self.user_dbs.writer(tenant, user);
        let dirty = writer.send(DirtyConversations).timeout(WRITER_TIMEOUT).await.map_err(|_| FlushError::Gone)??;
        let flushes: Vec<_> = dirty.iter().map(|cid| self.with_flusher(tenant, user, cid, flush_now)).collect();
        for flush in flushes {
            flush.await?;
        }
        let tombstones = writer.send(Tombstones).timeout(WRITER_TIMEOUT).await.map_err(|_| FlushError::Gone)??;
        for cid in tombstones {
            self.delete_cold(tenant, user, &cid).await?;
        }
        Ok(())
    }

    /// Conversation flushers on the map: those with work, and the settled ones not yet retired (`LINGER`).
    pub fn live_flushers(&self) -> usize {
        self.lock().values().map(|user| user.flushers.len()).sum()
    }

    /// Users that are read-only right now (flushes failing past the stalled threshold).
    pub fn read_only_users(&self) -> usize {
        let mut users = self.lock();
        let mut read_only = 0;
        let mut stalls = Vec::new();
        for (key, state) in users.iter_mut() {
            stalls.extend(self.update_read_only(key, state));
            read_only += usize::from(state.read_only);
        }
        drop(users);
        self.write_stalls(stalls);
        read_only
    }

    /// Users whose conversations have a bucket to go to (hot-only users have nothing to flush).
    pub fn users_with_cold(&self) -> Vec<(TenantId, UserId)> {
        self.lock().iter().filter(|(_, state)| state.cold.is_some()).map(|(key, _)| key.clone()).collect()
    }

    /// The user's conversations that cold does not have yet.
    pub async fn dirty(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<ConversationId>, FlushError> {
        let writer = self.user_dbs.writer(tenant, user);
        Ok(writer.send(DirtyConversations).timeout(WRITER_TIMEOUT).await.map_err(|_| FlushError::Gone)??)
    }

    /// Flushes one conversation now and waits for the outcome of that attempt.
    pub async fn flush_conversation(
        &self,
        tenant: &TenantId,
        user: &UserId,
        cid: &ConversationId,
    ) -> Result<(), FlushError> {
        self.with_flusher(tenant, user, cid, flush_now).await
    }

    /// Calls `send` with the conversation's flusher (started on first use) while holding the map's lock,
    /// and clears its `retiring` mark: a flusher that is sent something does not retire (module doc).
    /// `send` must queue with `do_send`.
    fn with_flusher<R>(
        &self,
        tenant: &TenantId,
        user: &UserId,
        cid: &ConversationId,
        send: impl FnOnce(&Addr<ConversationFlusher>) -> R,
    ) -> R {
        let mut users = self.lock();
        let state = users.entry((tenant.clone(), user.clone())).or_default();
        if let Some(listed) = state.flushers.get_mut(cid) {
            listed.retiring = false;
            return send(&listed.addr);
        }
        let flusher = ConversationFlusher {
            tenant: tenant.clone(),
            user: user.clone(),
            cid: cid.clone(),
            session: None,
            flushers: self.clone(),
            progress: FlushProgress::default(),
            idle: None,
            retry: None,
            in_flight: None,
            waiters: Vec::new(),
            restart_count: 0,
            active: true,
            retired: false,
        };
        let addr = Supervisor::start_in_arbiter(&self.arbiter, move |_| flusher);
        let sent = send(&addr);
        state.flushers.insert(cid.clone(), Listed { addr, retiring: false });
        sent
    }

    /// Marks `flusher` as asking to retire, if it is the conversation's listed flusher.
    fn mark_retiring(&self, key: &UserKey, cid: &ConversationId, flusher: &Addr<ConversationFlusher>) {
        let mut users = self.lock();
        let listed = users.get_mut(key).and_then(|state| state.flushers.get_mut(cid));
        if let Some(listed) = listed.filter(|listed| listed.addr == *flusher) {
            listed.retiring = true;
        }
    }

    /// Whether `flusher` may stop: it is off the map (its user was erased), or it is still marked and so
    /// goes off the map now. False when something was sent to it since it asked.
    fn take_off(&self, key: &UserKey, cid: &ConversationId, flusher: &Addr<ConversationFlusher>) -> bool {
        let mut users = self.lock();
        let Some(state) = users.get_mut(key) else { return true };
        match state.flushers.get(cid) {
            Some(listed) if listed.addr == *flusher => {
                let retiring = listed.retiring;
                if retiring {
                    state.flushers.remove(cid);
                }
                retiring
            }
            _ => true,
        }
    }

    fn cold(&self, key: &UserKey) -> Option<Arc<dyn ColdStore>> {
        self.lock().get(key).and_then(|u| u.cold.clone())
    }

    /// Advances the user's read-only clock after a failure of `cid`'s flush; logs the transition into
    /// read-only once. A user erased meanwhile (`forget_user`) stays forgotten: an upload that was
    /// running when they went must not bring back a failure clock that no later flush could stop.
    fn record_failure(&self, key: &UserKey, cid: &ConversationId, session: Option<&SessionId>) {
        let now = tokio::time::Instant::now().into_std();
        let mut users = self.lock();
        let Some(state) = users.get_mut(key) else { return };
        state.clock.on_failure(now);
        state.failing.insert(cid.clone(), session.cloned());
        let stalls = self.update_read_only(key, state);
        drop(users);
        self.write_stalls(stalls);
    }

    /// Any successful flush ends the user's failure streak and lifts read-only.
    fn record_success(&self, key: &UserKey) {
        let mut users = self.lock();
        let Some(state) = users.get_mut(key) else { return };
        state.clock.on_success();
        state.failing.clear();
        if state.read_only {
            state.read_only = false;
            tracing::info!(tenant = %key.0, user = %key.1, "user writable again: cold flush recovered");
            self.audit.record(AuditEvent::ReadOnlyLeft { tenant: key.0.clone(), user: key.1.clone() });
        }
    }
}

/// Held by a chat turn from its start until its reply is stored; blocks eviction meanwhile.
#[derive(Debug)]
pub struct TurnInFlight(Arc<UserActivity>);

impl Drop for TurnInFlight {
    fn drop(&mut self) {
        self.0.turns_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What must survive a restart of the flusher: whether hot has unflushed changes, and the backoff.
#[derive(Debug, Default, Clone, Copy)]
struct FlushProgress {
    dirty: bool,
    backoff: FlushBackoff,
}

/// Moves one conversation's hot changes to cold storage.
pub struct ConversationFlusher {
    tenant: TenantId,
    user: UserId,
    cid: ConversationId,
    /// The session whose write was touched last: the one the trace names.
    session: Option<SessionId>,
    flushers: Flushers,
    progress: FlushProgress,
    idle: Option<SpawnHandle>,
    retry: Option<Retry>,
    in_flight: Option<InFlight>,
    waiters: Vec<oneshot::Sender<Result<(), FlushError>>>,
    restart_count: u32,
    /// A message arrived since the last `LINGER` check.
    active: bool,
    /// Stopped by `Retire`, not by a failure.
    retired: bool,
}

/// An upload in progress: when it started, and its unit of the `flushes_in_flight` gauge.
struct InFlight {
    started: tokio::time::Instant,
    _held: Held,
}

/// A scheduled retry after a failure, and its unit of the `flushers_backing_off` gauge.
struct Retry {
    handle: SpawnHandle,
    _held: Held,
}

impl ConversationFlusher {
    /// Schedules the next attempt after `delay`; the flusher counts as backing off until then.
    fn schedule_retry(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        let handle = ctx.run_later(delay, |act, ctx| {
            act.retry = None;
            act.attempt(ctx);
        });
        self.retry = Some(Retry { handle, _held: self.flushers.health.flushers_backing_off.hold() });
    }

    fn key(&self) -> UserKey {
        (self.tenant.clone(), self.user.clone())
    }

    fn trace(&self, outcome: FlushOutcome) {
        self.flushers.report(&self.cid, self.session.as_ref(), outcome);
    }

    /// Nothing scheduled, running or owed: the conversation is clean in cold (or there is no bucket to
    /// flush to, and hot keeps it), so retiring loses nothing.
    fn settled(&self) -> bool {
        let owes_cold = self.progress.dirty && self.flushers.cold(&self.key()).is_some();
        !owes_cold
            && self.progress.backoff.failures == 0
            && self.in_flight.is_none()
            && self.retry.is_none()
            && self.idle.is_none()
            && self.waiters.is_empty()
    }

    /// Every `LINGER`: a flusher that got no message since the last check and is settled asks to retire,
    /// then sends itself `Retire` behind anything already queued (module doc).
    fn check_linger(&mut self, ctx: &mut Context<Self>) {
        if std::mem::replace(&mut self.active, false) || !self.settled() {
            return;
        }
        self.flushers.mark_retiring(&self.key(), &self.cid, &ctx.address());
        ctx.address().do_send(Retire);
    }

    fn arm_idle(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.idle.take() {
            ctx.cancel_future(handle);
        }
        self.idle = Some(ctx.run_later(self.flushers.settings.idle, |act, ctx| {
            act.idle = None;
            act.attempt(ctx);
        }));
    }

    /// Starts one flush unless one is running; its outcome arrives in `finish`.
    fn attempt(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight.is_some() {
            return;
        }
        for handle in [self.idle.take(), self.retry.take().map(|r| r.handle)].into_iter().flatten() {
            ctx.cancel_future(handle);
        }
        let Some(cold) = self.flushers.cold(&self.key()) else {
            // Hot-only (demo without a bucket): nothing to flush to; the changes stay marked dirty.
            self.answer(Ok(()));
            return;
        };
        self.in_flight = Some(InFlight {
            started: tokio::time::Instant::now(),
            _held: self.flushers.health.flushes_in_flight.hold(),
        });
        let writer = self.flushers.user_dbs.writer(&self.tenant, &self.user);
        let object_key = cold_key(&self.tenant, &self.user, &self.cid);
        let flush = upload(writer, cold, self.cid.clone(), object_key);
        ctx.spawn(flush.into_actor(self).map(|outcome, act, ctx| {
            let id = act.cid.to_string();
            guarded(ctx, ActorKind::Flusher, &id, |ctx| act.finish(outcome, ctx));
        }));
    }

    fn finish(&mut self, outcome: Result<Uploaded, FlushError>, ctx: &mut Context<Self>) {
        if let Some(in_flight) = self.in_flight.take()
            && !matches!(outcome, Ok(Uploaded::NothingToSend))
        {
            self.flushers.health.flush_finished(outcome.is_err(), in_flight.started.elapsed());
        }
        let key = self.key();
        let attempt = self.progress.backoff.failures + 1;
        match outcome {
            Ok(Uploaded::NothingToSend) => {
                // Nothing reached the bucket, so the user's failure streak is not over.
                self.progress.backoff.on_success();
                self.progress.dirty = false;
                self.answer(Ok(()));
            }
            Ok(uploaded) => {
                self.progress.backoff.on_success();
                self.flushers.record_success(&key);
                self.trace(FlushOutcome::Success);
                tracing::info!(actor = ActorKind::Flusher.as_str(), tenant = %self.tenant, user = %self.user,
                    cid = %self.cid, attempt, outcome = ?uploaded, "flush succeeded");
                match uploaded {
                    // A write landed during the upload: flush again before anyone is told "done", so
                    // DELETE /sessions answers 204 only once cold has the latest turn.
                    Uploaded::StillDirty => {
                        self.progress.dirty = true;
                        self.attempt(ctx);
                    }
                    // Deleted during the upload: the object just written goes too (tombstone kept until then).
                    Uploaded::Deleted => {
                        self.progress.dirty = false;
                        let (flushers, tenant, user, cid) =
                            (self.flushers.clone(), self.tenant.clone(), self.user.clone(), self.cid.clone());
                        ctx.spawn(
                            async move {
                                if let Err(e) = flushers.delete_cold(&tenant, &user, &cid).await {
                                    tracing::warn!(%tenant, %user, %cid, error = %e, "cold delete failed; will retry");
                                }
                            }
                            .into_actor(self),
                        );
                        self.answer(Ok(()));
                    }
                    Uploaded::Clean | Uploaded::NothingToSend => {
                        self.progress.dirty = false;
                        self.answer(Ok(()));
                    }
                }
            }
            Err(err) => {
                let now = tokio::time::Instant::now().into_std();
                let delay = self.progress.backoff.on_failure(now);
                tracing::warn!(actor = ActorKind::Flusher.as_str(), tenant = %self.tenant, user = %self.user,
                    cid = %self.cid, attempt, backoff_ms = delay.as_millis() as u64, error = %err, "flush failed");
                self.trace(FlushOutcome::Error { attempt, message: err.to_string() });
                self.flushers.record_failure(&key, &self.cid, self.session.as_ref());
                self.answer(Err(err));
                self.schedule_retry(delay, ctx);
            }
        }
    }

    fn answer(&mut self, outcome: Result<(), FlushError>) {
        for waiter in self.waiters.drain(..) {
            let _receiver_gone = waiter.send(outcome.clone());
        }
    }
}

/// What one flush attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uploaded {
    /// Hot had nothing newer than cold (or the conversation is gone).
    NothingToSend,
    /// Uploaded; cold has the latest version.
    Clean,
    /// Uploaded, but a write landed meanwhile.
    StillDirty,
    /// Uploaded, but the conversation was deleted meanwhile.
    Deleted,
}

/// Reads the snapshot, uploads it, and records the acknowledged version.
async fn upload(
    writer: WriterHandle,
    cold: Arc<dyn ColdStore>,
    cid: ConversationId,
    object_key: String,
) -> Result<Uploaded, FlushError> {
    // No timeouts here: a writer that is gone answers MailboxError at once, callers that wait (DELETE)
    // have their own deadline, and the flusher's only timers stay its idle and retry timers.
    let snapshot = writer.send(ExportConversation { cid: cid.clone() }).await.map_err(|_| FlushError::Gone)??;
    let Some(snapshot) = snapshot else { return Ok(Uploaded::NothingToSend) };
    cold.put_json(object_key, snapshot.body).await?;
    let mark = writer.send(MarkFlushed { cid, version: snapshot.version }).await.map_err(|_| FlushError::Gone)??;
    Ok(match mark {
        FlushMark::Clean => Uploaded::Clean,
        FlushMark::StillDirty => Uploaded::StillDirty,
        FlushMark::Deleted => Uploaded::Deleted,
    })
}

impl Actor for ConversationFlusher {
    type Context = Context<Self>;

    /// Picks up where a restart left off: a dirty conversation gets its idle timer again, or its retry
    /// if it was backing off.
    fn started(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(actor = ActorKind::Flusher.as_str(), id = %self.cid, tenant = %self.tenant, user = %self.user,
            restart_count = self.restart_count, "actor started");
        ctx.run_interval(LINGER, |act, ctx| act.check_linger(ctx));
        if self.progress.backoff.failures > 0 {
            self.schedule_retry(crate::backoff::FIRST_RETRY, ctx);
        } else if self.progress.dirty {
            self.arm_idle(ctx);
        }
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        tracing::info!(actor = ActorKind::Flusher.as_str(), id = %self.cid, restart_count = self.restart_count,
            "actor stopped");
    }
}

impl Supervised for ConversationFlusher {
    /// Timers and the in-flight upload died with the old context; the dirty mark and backoff did not.
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.idle = None;
        self.retry = None;
        self.in_flight = None;
        if std::mem::take(&mut self.retired) {
            // Retired off the map, but a sender still held its address (the erasure of its user, waiting
            // for it): it comes back, unlisted, for that message and retires again later. Not a failure.
            return;
        }
        self.answer(Err(FlushError::Gone));
        self.restart_count += 1;
        self.flushers.health.actor_restarted(ActorKind::Flusher);
        tracing::warn!(actor = ActorKind::Flusher.as_str(), id = %self.cid, restart_count = self.restart_count,
            dirty = self.progress.dirty, failures = self.progress.backoff.failures, "actor restarting");
    }
}

/// A hot write to this conversation committed, by this session if known. Sent by the HTTP layer after
/// each write; loss-tolerant.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Touch(Option<SessionId>);

impl Handler<Touch> for ConversationFlusher {
    type Result = ();

    fn handle(&mut self, Touch(session): Touch, ctx: &mut Context<Self>) {
        self.active = true;
        if session.is_some() {
            self.session = session;
        }
        let id = self.cid.to_string();
        guarded(ctx, ActorKind::Flusher, &id, |ctx| {
            self.progress.dirty = true;
            // While backing off, the scheduled retry will carry this change too.
            if self.retry.is_none() {
                self.arm_idle(ctx);
            }
        });
    }
}

/// Flush now; the outcome goes to the sender. Sent when a session ends. A `do_send` with a reply channel
/// rather than a `send`: `send` to a full mailbox holds the message back until it is polled, and every
/// message must be queued while the map's lock is held (module doc).
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct FlushNow(oneshot::Sender<Result<(), FlushError>>);

/// Asks `flusher` to flush now; resolves with the outcome of that attempt.
fn flush_now(flusher: &Addr<ConversationFlusher>) -> impl Future<Output = Result<(), FlushError>> + use<> {
    let (tx, rx) = oneshot::channel();
    flusher.do_send(FlushNow(tx));
    async move { rx.await.unwrap_or(Err(FlushError::Gone)) }
}

impl Handler<FlushNow> for ConversationFlusher {
    type Result = ();

    fn handle(&mut self, FlushNow(reply): FlushNow, ctx: &mut Context<Self>) {
        self.active = true;
        self.waiters.push(reply);
        let id = self.cid.to_string();
        guarded(ctx, ActorKind::Flusher, &id, |ctx| self.attempt(ctx));
    }
}

/// Sent by a flusher to itself after asking to retire: handled after every message queued before it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct Retire;

impl Handler<Retire> for ConversationFlusher {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        if self.settled() && self.flushers.take_off(&self.key(), &self.cid, &ctx.address()) {
            self.retired = true;
            ctx.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::ids::SessionId;
    use crate::ports::PortFuture;
    use crate::user_db::EnsureConversation;

    /// A bucket double for the supervision and timing tests; the real S3 path is covered by tests/api/cold.rs.
    #[derive(Default)]
    pub struct Bucket {
        pub failing: AtomicBool,
        pub puts: AtomicUsize,
        pub attempts: std::sync::Mutex<Vec<tokio::time::Instant>>,
        /// While set, an upload waits before it answers.
        pub held: Arc<AtomicBool>,
    }

    impl ColdStore for Bucket {
        fn put_json(&self, _: String, _: Vec<u8>) -> PortFuture<Result<(), ColdFailure>> {
            self.attempts.lock().unwrap().push(tokio::time::Instant::now());
            let failing = self.failing.load(Ordering::SeqCst);
            if !failing {
                self.puts.fetch_add(1, Ordering::SeqCst);
            }
            let held = Arc::clone(&self.held);
            Box::pin(async move {
                while held.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if failing { Err(ColdFailure("refused".into())) } else { Ok(()) }
            })
        }
        fn get(&self, _: String) -> PortFuture<Result<Option<Vec<u8>>, ColdFailure>> {
            Box::pin(async { Ok(None) })
        }
        fn delete(&self, _: String) -> PortFuture<Result<(), ColdFailure>> {
            Box::pin(async { Ok(()) })
        }
        fn list(&self, _: String) -> PortFuture<Result<Vec<String>, ColdFailure>> {
            Box::pin(async { Ok(Vec::new()) })
        }
    }

    /// Test-only: a handler bug, contained by `guarded`.
    #[derive(Message)]
    #[rtype(result = "()")]
    struct Explode;

    impl Handler<Explode> for ConversationFlusher {
        type Result = ();
        fn handle(&mut self, _: Explode, ctx: &mut Context<Self>) {
            let id = self.cid.to_string();
            guarded(ctx, ActorKind::Flusher, &id, |_| panic!("injected flusher failure"));
        }
    }

    /// Test-only: the state a restart must keep.
    #[derive(Message)]
    #[rtype(result = "(bool, u32, u32)")]
    struct Progress;

    impl Handler<Progress> for ConversationFlusher {
        type Result = MessageResult<Progress>;
        fn handle(&mut self, _: Progress, _: &mut Context<Self>) -> Self::Result {
            MessageResult((self.progress.dirty, self.progress.backoff.failures, self.restart_count))
        }
    }

    #[actix_rt::test]
    async fn a_panicking_flusher_restarts_with_its_dirty_mark_backoff_and_read_only_clock() {
        let dir = tempfile::tempdir().unwrap();
        let user_dbs = UserDbs::new(dir.path().to_owned());
        let settings = FlushSettings { idle: Duration::from_secs(600), stalled: Duration::ZERO };
        let flushers = Flushers::new(settings, user_dbs.clone(), Arbiter::current(), Arc::default());
        let (tenant, user) = (TenantId::try_from("t").unwrap(), UserId::try_from("u").unwrap());
        let cid = ConversationId::try_from("c1").unwrap();
        let bucket = Arc::new(Bucket::default());
        flushers.set_cold(&tenant, &user, Some(bucket.clone()));

        let writer = user_dbs.writer(&tenant, &user);
        let ensure =
            EnsureConversation { cid: cid.clone(), session: SessionId::try_from("s").unwrap(), defaults: vec![] };
        assert!(writer.send(ensure).await.unwrap().unwrap());
        flushers.touched(&tenant, &user, &cid, &SessionId::try_from("s").unwrap());
        bucket.failing.store(true, Ordering::SeqCst);
        assert!(flushers.flush_user(&tenant, &user).await.is_err());
        assert!(flushers.is_read_only(&tenant, &user));

        let flusher = flushers.with_flusher(&tenant, &user, &cid, Addr::clone);
        flusher.send(Explode).await.unwrap();
        assert_eq!(flusher.send(Progress).await.unwrap(), (true, 1, 1), "dirty, one failure, restarted once");
        assert!(flushers.is_read_only(&tenant, &user), "the read-only clock survives the restart");

        bucket.failing.store(false, Ordering::SeqCst);
        // The restarted flusher retries on its own after the first backoff step.
        for _ in 0..40 {
            if bucket.puts.load(Ordering::SeqCst) > 0 && !flushers.is_read_only(&tenant, &user) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(bucket.puts.load(Ordering::SeqCst), 1);
        assert!(!flushers.is_read_only(&tenant, &user), "the next success lifts read-only");
        assert!(writer.send(DirtyConversations).await.unwrap().unwrap().is_empty(), "clean after the ack");
    }
}

#[cfg(test)]
mod timing_tests {
    //! The SPEC §6.5 timers under paused tokio time: minutes pass in milliseconds, and the clock only
    //! moves in small steps so the writer thread's replies land at (nearly) the same virtual instant.
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::Ordering;

    use super::tests_support::*;
    use super::*;

    #[actix_rt::test]
    async fn an_upload_failing_after_its_user_was_erased_starts_no_read_only_clock() {
        // Real time: the erasure waits for the upload in flight, which fails once released.
        let t = Setup::new(Duration::from_millis(50), Duration::from_millis(500)).await;
        t.bucket.failing.store(true, Ordering::SeqCst);
        t.bucket.held.store(true, Ordering::SeqCst);
        t.write().await;
        while t.bucket.attempts.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let release = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            t.bucket.held.store(false, Ordering::SeqCst);
        };
        let (forgotten, ()) = tokio::join!(t.flushers.forget_user(&t.tenant, &t.user), release);
        forgotten.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(!t.flushers.is_read_only(&t.tenant, &t.user), "an erased user is not read-only");
        assert_eq!(t.flushers.read_only_users(), 0);
        // Back with a new session: writable, and its writes reach the bucket.
        t.flushers.set_cold(&t.tenant, &t.user, Some(t.bucket.clone()));
        t.bucket.failing.store(false, Ordering::SeqCst);
        t.rewrite().await;
        t.flushed(1).await;
        assert!(!t.flushers.is_read_only(&t.tenant, &t.user));
    }

    #[actix_rt::test]
    async fn an_idle_flush_fires_at_five_minutes_and_not_before() {
        tokio::time::pause();
        let t = Setup::new(Duration::from_secs(300), Duration::from_secs(900)).await;
        t.write().await;
        run_for(Duration::from_secs(299), Duration::from_millis(100)).await;
        assert_eq!(t.bucket.puts.load(Ordering::SeqCst), 0, "not before 5 minutes");
        run_for(Duration::from_secs(2), Duration::from_millis(100)).await;
        assert_eq!(t.bucket.puts.load(Ordering::SeqCst), 1, "at 5 minutes");
    }

    #[actix_rt::test]
    async fn failed_flushes_back_off_1_2_4_8_16_32_60_60_seconds() {
        tokio::time::pause();
        let t = Setup::new(Duration::from_secs(1), Duration::from_secs(900)).await;
        t.bucket.failing.store(true, Ordering::SeqCst);
        t.write().await;
        run_for(Duration::from_secs(200), Duration::from_millis(100)).await;
        let attempts = t.bucket.attempts.lock().unwrap().clone();
        let gaps: Vec<u64> = attempts.windows(2).map(|w| ((w[1] - w[0]).as_millis() as u64 + 500) / 1000).collect();
        assert_eq!(gaps[..8], [1, 2, 4, 8, 16, 32, 60, 60], "{gaps:?}");
    }

    #[actix_rt::test]
    async fn a_settled_flusher_is_retired_after_a_quiet_minute_and_the_next_write_is_flushed_by_a_new_one() {
        tokio::time::pause();
        let t = Setup::new(Duration::from_secs(1), Duration::from_secs(900)).await;
        t.write().await;
        run_for(Duration::from_secs(2), Duration::from_millis(100)).await;
        assert_eq!(t.bucket.puts.load(Ordering::SeqCst), 1);
        assert_eq!(t.flushers.live_flushers(), 1);
        let cid = ConversationId::try_from("c1").unwrap();
        let first = t.flushers.with_flusher(&t.tenant, &t.user, &cid, Addr::downgrade);
        run_for(LINGER * 2 + Duration::from_secs(1), Duration::from_millis(500)).await;
        assert_eq!(t.flushers.live_flushers(), 0, "retired once clean and quiet");
        assert!(first.upgrade().is_none(), "and ended, not restarted");
        assert_eq!(t.flushers.health.restarts_of(ActorKind::Flusher), 0);

        t.rewrite().await;
        assert_eq!(t.flushers.live_flushers(), 1, "the write started a new flusher");
        run_for(Duration::from_secs(2), Duration::from_millis(100)).await;
        assert_eq!(t.bucket.puts.load(Ordering::SeqCst), 2, "which flushed it");
        assert!(t.dirty().await.is_empty());
    }

    #[actix_rt::test]
    async fn a_write_between_asking_to_retire_and_retiring_keeps_the_flusher_and_is_flushed() {
        // Real time: under paused time the clock would jump to the linger check while the writer thread
        // answers, and the steps below are the check's, taken by hand.
        let t = Setup::new(Duration::from_millis(100), Duration::from_secs(900)).await;
        t.write().await;
        t.flushed(1).await;
        let (key, cid) = ((t.tenant.clone(), t.user.clone()), ConversationId::try_from("c1").unwrap());
        let flusher = t.flushers.with_flusher(&t.tenant, &t.user, &cid, Addr::clone);
        t.flushers.mark_retiring(&key, &cid, &flusher);
        t.rewrite().await;
        flusher.do_send(Retire);
        t.flushed(2).await;
        assert!(t.flushers.with_flusher(&t.tenant, &t.user, &cid, |listed| *listed == flusher), "still the one");
    }

    #[actix_rt::test]
    async fn a_flusher_with_work_is_never_retired() {
        tokio::time::pause();
        let t = Setup::new(Duration::from_secs(1), Duration::from_secs(900)).await;
        t.bucket.failing.store(true, Ordering::SeqCst);
        t.write().await;
        run_for(LINGER * 3, Duration::from_millis(500)).await;
        assert_eq!(t.flushers.live_flushers(), 1, "still retrying");
        t.bucket.failing.store(false, Ordering::SeqCst);
        run_for(Duration::from_secs(61), Duration::from_millis(100)).await;
        assert!(t.dirty().await.is_empty(), "the retry got it to cold");
    }

    #[actix_rt::test]
    async fn read_only_begins_at_fifteen_minutes_and_ends_with_the_next_success() {
        tokio::time::pause();
        let t = Setup::new(Duration::from_secs(1), Duration::from_secs(900)).await;
        t.bucket.failing.store(true, Ordering::SeqCst);
        t.write().await;
        run_for(Duration::from_millis(1100), Duration::from_millis(10)).await;
        let first_failure = t.bucket.attempts.lock().unwrap()[0];
        run_for(Duration::from_secs(897), Duration::from_millis(500)).await;
        assert!(tokio::time::Instant::now() - first_failure < Duration::from_secs(900));
        assert!(!t.flushers.is_read_only(&t.tenant, &t.user), "not before 15 minutes of failure");
        run_for(Duration::from_secs(3), Duration::from_millis(100)).await;
        assert!(t.flushers.is_read_only(&t.tenant, &t.user), "read-only at 15 minutes");
        t.bucket.failing.store(false, Ordering::SeqCst);
        run_for(Duration::from_secs(61), Duration::from_millis(100)).await;
        assert!(!t.flushers.is_read_only(&t.tenant, &t.user), "lifted by the next successful retry");
        assert_eq!(t.bucket.puts.load(Ordering::SeqCst), 1);
    }

    /// Records what a flusher reports for the trace.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<(String, Option<String>, FlushOutcome)>>);

    impl FlushTrace for Recorded {
        fn flushed(&self, cid: &ConversationId, session: Option<&SessionId>, outcome: FlushOutcome) {
            self.0.lock().unwrap().push((cid.to_string(), session.map(|s| s.to_string()), outcome));
        }
    }

    /// Fails every flush of `c1` for `failing`, asking for read-only after `ask_after` if set (a request
    /// arriving), then lets the bucket recover; returns what the trace was told.
    async fn traced_streak(failing: Duration, ask_after: Option<Duration>) -> Vec<FlushOutcome> {
        tokio::time::pause();
        let mut t = Setup::new(Duration::from_secs(1), Duration::from_secs(900)).await;
        let recorded = Arc::new(Recorded::default());
        t.flushers = t.flushers.clone().tracing_flushes_to(recorded.clone());
        t.bucket.failing.store(true, Ordering::SeqCst);
        t.write().await;
        if let Some(after) = ask_after {
            run_for(after, Duration::from_millis(500)).await;
            assert!(t.flushers.is_read_only(&t.tenant, &t.user));
            let last = recorded.0.lock().unwrap().last().cloned().unwrap().2;
            assert!(matches!(last, FlushOutcome::Stalled { .. }), "traced as the request sees it: {last:?}");
        }
        run_for(failing - ask_after.unwrap_or_default(), Duration::from_millis(500)).await;
        t.bucket.failing.store(false, Ordering::SeqCst);
        run_for(Duration::from_secs(61), Duration::from_millis(100)).await;

        let events = recorded.0.lock().unwrap().clone();
        assert!(events.iter().all(|(cid, session, _)| cid == "c1" && session.as_deref() == Some("s")), "{events:?}");
        let outcomes: Vec<FlushOutcome> = events.into_iter().map(|(_, _, outcome)| outcome).collect();
        let errors: Vec<&FlushOutcome> = outcomes.iter().filter(|o| matches!(o, FlushOutcome::Error { .. })).collect();
        assert!(errors.len() > 10, "{outcomes:?}");
        for (i, outcome) in errors.iter().enumerate() {
            let FlushOutcome::Error { attempt, message } = outcome else { unreachable!() };
            assert_eq!((*attempt as usize, message.as_str()), (i + 1, "cold storage failed: refused"));
        }
        let stalled: Vec<&FlushOutcome> =
            outcomes.iter().filter(|o| matches!(o, FlushOutcome::Stalled { .. })).collect();
        assert_eq!(stalled.len(), 1, "once per streak: {outcomes:?}");
        let FlushOutcome::Stalled { failing_for } = stalled[0] else { unreachable!() };
        assert!(*failing_for >= Duration::from_secs(900) && *failing_for < Duration::from_secs(961), "{failing_for:?}");
        assert_eq!(outcomes.last(), Some(&FlushOutcome::Success), "the recovery");
        outcomes
    }

    #[actix_rt::test]
    async fn each_attempt_is_traced_for_the_writing_session_and_the_stall_with_the_failure_that_crosses() {
        let outcomes = traced_streak(Duration::from_secs(1020), None).await;
        let stalled = outcomes.iter().position(|o| matches!(o, FlushOutcome::Stalled { .. })).unwrap();
        assert!(matches!(outcomes[stalled - 1], FlushOutcome::Error { .. }), "{outcomes:?}");
    }

    #[actix_rt::test]
    async fn a_stall_first_seen_by_a_request_is_traced_then_and_not_again() {
        traced_streak(Duration::from_secs(1020), Some(Duration::from_secs(902))).await;
    }
}

#[cfg(test)]
mod tests_support {
    #![allow(clippy::unwrap_used)]
    use super::tests::Bucket;
    use super::*;
    use crate::ids::SessionId;
    use crate::user_db::{EnsureConversation, ReplaceThread};

    /// Moves virtual time forward in `step`s. After each step the test thread blocks briefly (so the
    /// paused clock cannot auto-advance while the writer thread answers) and yields to the actors.
    pub async fn run_for(total: Duration, step: Duration) {
        let end = tokio::time::Instant::now() + total;
        while tokio::time::Instant::now() < end {
            tokio::time::advance(step).await;
            for _ in 0..2 {
                std::thread::sleep(Duration::from_millis(1));
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    pub struct Setup {
        pub flushers: Flushers,
        pub bucket: Arc<Bucket>,
        pub tenant: TenantId,
        pub user: UserId,
        writer: WriterHandle,
        _dir: tempfile::TempDir,
    }

    impl Setup {
        pub async fn new(idle: Duration, stalled: Duration) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let user_dbs = UserDbs::new(dir.path().to_owned());
            let flushers =
                Flushers::new(FlushSettings { idle, stalled }, user_dbs.clone(), Arbiter::current(), Arc::default());
            let (tenant, user) = (TenantId::try_from("t").unwrap(), UserId::try_from("u").unwrap());
            let bucket = Arc::new(Bucket::default());
            flushers.set_cold(&tenant, &user, Some(bucket.clone()));
            let writer = user_dbs.writer(&tenant, &user);
            Self { flushers, bucket, tenant, user, writer, _dir: dir }
        }

        /// One hot write to conversation `c1`, and the touch the HTTP layer sends after it.
        pub async fn write(&self) {
            let cid = ConversationId::try_from("c1").unwrap();
            let ensure =
                EnsureConversation { cid: cid.clone(), session: SessionId::try_from("s").unwrap(), defaults: vec![] };
            assert!(self.writer.send(ensure).await.unwrap().unwrap());
            self.flushers.touched(&self.tenant, &self.user, &cid, &SessionId::try_from("s").unwrap());
        }

        /// Another hot write to `c1` (its thread replaced), and its touch.
        pub async fn rewrite(&self) {
            let cid = ConversationId::try_from("c1").unwrap();
            let replace = ReplaceThread {
                cid: cid.clone(),
                session: SessionId::try_from("s").unwrap(),
                defaults: vec![],
                messages: vec![],
            };
            self.writer.send(replace).await.unwrap().unwrap();
            self.flushers.touched(&self.tenant, &self.user, &cid, &SessionId::try_from("s").unwrap());
        }

        /// The conversations cold does not have yet.
        pub async fn dirty(&self) -> Vec<ConversationId> {
            self.writer.send(DirtyConversations).await.unwrap().unwrap()
        }

        /// Waits (real time, up to 10 s) until the bucket took `puts` uploads and nothing is dirty.
        pub async fn flushed(&self, puts: usize) {
            for _ in 0..200 {
                if self.bucket.puts.load(Ordering::SeqCst) == puts && self.dirty().await.is_empty() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("not flushed: {} puts", self.bucket.puts.load(Ordering::SeqCst));
        }
    }
}
