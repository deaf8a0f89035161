//! `SessionActor`: one per minted session; owns the session's lifetime (its TTL timer and its end).
//! `SessionRegistry`: sid -> session, and the per-(tenant, user) count of live sessions.
//!
//! Invariant: a session is in the registry exactly while it is live. Authentication reads the
//! registry directly (an O(1) map lookup, no actor round trip); ending a session goes through the
//! actor, which removes it. Once the registry drops its `Addr` and the timer is cancelled, the actor
//! has nothing left to do and stops; the Supervisor restarts it only while an `Addr` is alive, that
//! is only after a contained panic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix::prelude::*;

use crate::audit::{Audit, AuditEvent, SessionScope};
use crate::flusher::Flushers;
use crate::ids::{SessionId, TenantId, UserId};
use crate::record::SessionRecord;
use crate::supervisor::{ActorKind, Health, guarded};

/// Why a session ended; the `reason` field of its log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// `DELETE /sessions/:id` from its integrator.
    Deleted,
    /// Its TTL passed.
    Expired,
    /// Its user was erased (`POST /users/:user_id/erase`): nothing is flushed, nothing may be stored.
    Erased,
}

impl EndReason {
    /// `deleted`, `expired` or `erased`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Deleted => "deleted",
            EndReason::Expired => "expired",
            EndReason::Erased => "erased",
        }
    }
}

/// The live sessions of this process.
#[derive(Clone)]
pub struct SessionRegistry {
    inner: Arc<Mutex<RegistryInner>>,
    health: Arc<Health>,
    flushers: Option<Flushers>,
    audit: Audit,
}

#[derive(Default)]
struct RegistryInner {
    sessions: HashMap<SessionId, Entry>,
    live_per_user: HashMap<(TenantId, UserId), usize>,
}

struct Entry {
    record: Arc<SessionRecord>,
    addr: Addr<SessionActor>,
}

impl SessionRegistry {
    /// An empty registry reporting to `health`; a session's end flushes its user through `flushers`.
    pub fn new(health: Arc<Health>, flushers: Option<Flushers>) -> Self {
        Self { inner: Arc::default(), health, flushers, audit: Audit::default() }
    }

    /// The same registry, reporting mints and ends to `audit`.
    pub fn auditing_to(self, audit: Audit) -> Self {
        Self { audit, ..self }
    }

    /// The audit event of a session, as its record describes it.
    fn audit_scope(record: &SessionRecord) -> (SessionScope, Vec<String>) {
        let scope =
            SessionScope { tenant: record.tenant.clone(), user: record.spec.user.clone(), session: record.id.clone() };
        (scope, record.spec.connectors.iter().map(|c| c.descriptive_id.clone()).collect())
    }

    fn lock(&self) -> MutexGuard<'_, RegistryInner> {
        // A panic while holding this lock cannot leave the maps half-updated (each update is one
        // insert/remove pair), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the supervised actor of a freshly minted session on `arbiter` and registers it.
    pub fn start(&self, record: SessionRecord, arbiter: &ArbiterHandle) -> Arc<SessionRecord> {
        let record = Arc::new(record);
        let actor_record = Arc::clone(&record);
        let registry = self.clone();
        // Held across the start, so even a TTL that ends at once finds the session registered.
        let mut inner = self.lock();
        let addr = Supervisor::start_in_arbiter(arbiter, move |_| SessionActor {
            record: actor_record,
            registry,
            ttl: None,
            ended: None,
            restart_count: 0,
        });
        let user_key = (record.tenant.clone(), record.spec.user.clone());
        *inner.live_per_user.entry(user_key).or_default() += 1;
        inner.sessions.insert(record.id.clone(), Entry { record: Arc::clone(&record), addr });
        drop(inner);
        self.health.session_minted();
        let (scope, connectors) = Self::audit_scope(&record);
        self.audit.record(AuditEvent::SessionMinted { scope, connectors });
        tracing::info!(
            sid = %record.id, tenant = %record.tenant, user = %record.spec.user,
            expires_at = record.expires_at, "session minted"
        );
        record
    }

    /// The record of a live session.
    pub fn get(&self, sid: &SessionId) -> Option<Arc<SessionRecord>> {
        self.lock().sessions.get(sid).map(|e| Arc::clone(&e.record))
    }

    /// The actor of a live session.
    pub fn addr(&self, sid: &SessionId) -> Option<Addr<SessionActor>> {
        self.lock().sessions.get(sid).map(|e| e.addr.clone())
    }

    /// How many sessions are live.
    pub fn live_sessions(&self) -> usize {
        self.lock().sessions.len()
    }

    /// How many distinct (tenant, user) pairs have a live session.
    pub fn live_users(&self) -> usize {
        self.lock().live_per_user.len()
    }

    /// How many sessions of this (tenant, user) are live: the hot file lives while this is above zero.
    pub fn live_sessions_of(&self, tenant: &TenantId, user: &UserId) -> usize {
        self.lock().live_per_user.get(&(tenant.clone(), user.clone())).copied().unwrap_or(0)
    }

    /// The actors of the live sessions of this (tenant, user).
    pub fn sessions_of(&self, tenant: &TenantId, user: &UserId) -> Vec<(SessionId, Addr<SessionActor>)> {
        let inner = self.lock();
        let of_user = inner.sessions.iter().filter(|(_, e)| e.record.tenant == *tenant && e.record.spec.user == *user);
        of_user.map(|(sid, e)| (sid.clone(), e.addr.clone())).collect()
    }

    /// The shared health counters.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Removes a session, dropping the registry's `Addr` and its share of the user refcount.
    fn remove(&self, sid: &SessionId) -> bool {
        let mut inner = self.lock();
        let Some(entry) = inner.sessions.remove(sid) else {
            return false;
        };
        let user_key = (entry.record.tenant.clone(), entry.record.spec.user.clone());
        if let Some(count) = inner.live_per_user.get_mut(&user_key) {
            *count -= 1;
            if *count == 0 {
                inner.live_per_user.remove(&user_key);
            }
        }
        true
    }
}

/// One minted session. Holds the record (credentials included) and the TTL timer.
pub struct SessionActor {
    record: Arc<SessionRecord>,
    registry: SessionRegistry,
    ttl: Option<SpawnHandle>,
    ended: Option<EndReason>,
    restart_count: u32,
}

impl SessionActor {
    /// Cancels the TTL timer and takes the session out of the registry; logs and counts the end once.
    /// With the registry's `Addr` gone and no timer left, the actor stops by itself once the sender of
    /// the current message drops its `Addr`.
    fn end(&mut self, reason: EndReason, ctx: &mut Context<Self>) {
        if let Some(handle) = self.ttl.take() {
            ctx.cancel_future(handle);
        }
        if !self.registry.remove(&self.record.id) {
            return;
        }
        self.ended = Some(reason);
        match reason {
            EndReason::Deleted | EndReason::Erased => self.registry.health.session_ended(),
            EndReason::Expired => self.registry.health.session_expired(),
        }
        let (scope, connectors) = SessionRegistry::audit_scope(&self.record);
        self.registry.audit.record(AuditEvent::SessionEnded { scope, connectors, reason });
        let SessionRecord { id, tenant, spec, .. } = &*self.record;
        // SPEC §6.5: a session end flushes the user's dirty conversations at once. `DELETE` has already
        // waited for this flush; an expiry starts it here, and failures continue with backoff.
        // Once cold has everything and no session of the user is left, the hot file goes (SPEC §6.1).
        // An erasure flushes nothing: the user's data is being removed, not saved.
        if let Some(flushers) = self.registry.flushers.clone().filter(|_| reason != EndReason::Erased) {
            let (tenant, user, registry) = (tenant.clone(), spec.user.clone(), self.registry.clone());
            let generation = flushers.generation(&tenant, &user);
            ctx.spawn(
                async move {
                    match flushers.flush_user(&tenant, &user).await {
                        Err(e) => {
                            tracing::warn!(%tenant, %user, error = %e, "end-of-session flush failed; retrying with backoff");
                        }
                        Ok(()) if registry.live_sessions_of(&tenant, &user) == 0 => {
                            if let Err(e) = flushers.evict_if_clean(&tenant, &user, generation).await {
                                tracing::warn!(%tenant, %user, error = %e, "hot file eviction failed");
                            }
                        }
                        Ok(()) => {}
                    }
                }
                .into_actor(self),
            );
        }
        let remaining_for_user = self.registry.live_sessions_of(tenant, &spec.user);
        tracing::info!(sid = %id, %tenant, user = %spec.user, reason = reason.as_str(),
            remaining_for_user, "session ended");
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    /// Arms the TTL from the record, so a restarted actor keeps the original deadline.
    fn started(&mut self, ctx: &mut Context<Self>) {
        let SessionRecord { id, tenant, spec, .. } = &*self.record;
        tracing::info!(actor = ActorKind::Session.as_str(), id = %id, %tenant, user = %spec.user,
            restart_count = self.restart_count, "actor started");
        self.ttl = Some(ctx.run_later(self.record.remaining(), |actor, ctx| {
            actor.ttl = None;
            actor.end(EndReason::Expired, ctx);
        }));
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        // Without an end reason the actor stopped because the process is shutting down.
        let reason = self.ended.map_or("shutdown", EndReason::as_str);
        tracing::info!(actor = ActorKind::Session.as_str(), id = %self.record.id, reason,
            restart_count = self.restart_count, "actor stopped");
    }
}

impl Supervised for SessionActor {
    /// A restart follows a contained panic. The record is immutable and the deadline lives in it, so
    /// the only volatile state is the timer handle, which actix has already cancelled.
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.ttl = None;
        self.restart_count += 1;
        self.registry.health.actor_restarted(ActorKind::Session);
        tracing::warn!(actor = ActorKind::Session.as_str(), id = %self.record.id,
            restart_count = self.restart_count, "actor restarting");
    }
}

/// End a session now. Sent by `DELETE /sessions/:id` after the tenant check (`Deleted`), and by
/// `POST /users/:user_id/erase` to each live session of the user (`Erased`: nothing is flushed). Replies
/// once the session is out of the registry, so its JWT is `session_gone` from then on; replies `false`
/// when the session had already ended.
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub struct EndSession {
    /// `Deleted` or `Erased`; `Expired` belongs to the TTL timer.
    pub reason: EndReason,
}

impl Handler<EndSession> for SessionActor {
    type Result = bool;

    fn handle(&mut self, msg: EndSession, ctx: &mut Context<Self>) -> bool {
        let id = self.record.id.clone();
        guarded(ctx, ActorKind::Session, id.as_str(), |ctx| {
            let was_live = self.registry.get(&id).is_some();
            self.end(msg.reason, ctx);
            was_live
        })
        .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::time::Duration;

    use super::*;
    use crate::budget::{Budget, Limits};
    use crate::record::{ModelConfig, Provider, SessionSpec, Theme, unix_now};
    use crate::secret::Secret;

    /// Test-only message whose handler panics inside `guarded`, like a bug in a real handler would.
    #[derive(Message)]
    #[rtype(result = "()")]
    struct Explode;

    impl Handler<Explode> for SessionActor {
        type Result = ();
        fn handle(&mut self, _: Explode, ctx: &mut Context<Self>) {
            let id = self.record.id.clone();
            guarded(ctx, ActorKind::Session, id.as_str(), |_| panic!("injected failure"));
        }
    }

    fn record(sid: &str, user: &str, ttl: u64) -> SessionRecord {
        let now = unix_now();
        SessionRecord {
            id: SessionId::try_from(sid).unwrap(),
            tenant: TenantId::try_from("acme").unwrap(),
            spec: SessionSpec {
                user: UserId::try_from(user).unwrap(),
                system_prompt: "be brief".into(),
                model: ModelConfig {
                    provider: Provider::Offline,
                    model_id: "m".into(),
                    api_key: Secret::new("k"),
                    base_url: None,
                },
                fallback_models: vec![],
                limits: Limits::default(),
                connectors: vec![],
                storage: None,
                theme: Theme::Light,
            },
            issued_at: now,
            expires_at: now + ttl,
            budget: Budget::default(),
        }
    }

    #[actix_rt::test]
    async fn a_panicking_handler_restarts_the_actor_behind_the_same_addr() {
        let registry = SessionRegistry::new(Arc::default(), None);
        let arbiter = Arbiter::current();
        registry.start(record("s1", "u1", 600), &arbiter);
        let sid = SessionId::try_from("s1").unwrap();
        let addr = registry.addr(&sid).unwrap();

        addr.send(Explode).await.unwrap();
        // The same Addr still answers, and the session is still live and ends normally.
        assert!(addr.send(EndSession { reason: EndReason::Deleted }).await.unwrap());
        assert_eq!(registry.health().snapshot().actor_restarts, 1);
        assert!(registry.get(&sid).is_none());
        assert!(!addr.send(EndSession { reason: EndReason::Deleted }).await.unwrap_or(false));
    }

    #[actix_rt::test]
    async fn a_session_leaves_the_registry_when_its_ttl_passes() {
        let registry = SessionRegistry::new(Arc::default(), None);
        let arbiter = Arbiter::current();
        registry.start(record("s2", "u2", 1), &arbiter);
        registry.start(record("s3", "u2", 600), &arbiter);
        let tenant = TenantId::try_from("acme").unwrap();
        let user = UserId::try_from("u2").unwrap();
        assert_eq!(registry.live_sessions_of(&tenant, &user), 2);

        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(registry.get(&SessionId::try_from("s2").unwrap()).is_none());
        assert_eq!(registry.live_sessions_of(&tenant, &user), 1);
        assert_eq!(registry.health().snapshot().sessions_expired, 1);
    }

    #[actix_rt::test]
    async fn ending_the_last_session_of_a_user_releases_the_refcount() {
        let registry = SessionRegistry::new(Arc::default(), None);
        let arbiter = Arbiter::current();
        registry.start(record("s4", "u4", 600), &arbiter);
        let addr = registry.addr(&SessionId::try_from("s4").unwrap()).unwrap();
        assert_eq!(registry.live_users(), 1);
        assert!(addr.send(EndSession { reason: EndReason::Deleted }).await.unwrap());
        assert_eq!(registry.live_users(), 0);
        assert_eq!(registry.live_sessions(), 0);
    }
}
