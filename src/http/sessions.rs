//! Integrator routes over mTLS: `POST /sessions` (SPEC §2.1) and `DELETE /sessions/:id` (SPEC §2.2),
//! and `mint`, which the demo routes share.
//! Order of `POST /sessions`: client certificate, body shape, S3 write probe, LLM credential probe,
//! then the session exists. A failed probe leaves nothing behind.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use augchatd_actors::budget::Budget;
use augchatd_actors::ids::{SessionId, TenantId};
use augchatd_actors::ports::ColdStore;
use augchatd_actors::record::{SessionRecord, SessionSpec, unix_now};
use augchatd_actors::session::{EndReason, EndSession};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::body::{MAX_JSON_BODY, json_object, read_limited};
use super::error::ApiError;
use super::routing::{self, RouteKey};
use super::tls::Integrator;
use crate::cold::s3::S3Store;
use crate::probes;
use crate::provision::{Options, parse_session_request};

/// How long `DELETE /sessions/:id` waits for the session actor.
const END_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `DELETE /sessions/:id` waits for the final flush before answering 503 (session kept).
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(20);

/// Crash recovery (SPEC §6.5, issue: hot files left by a previous process): when the first session of
/// a user in this process finds their hot file, whatever it holds that cold does not is flushed right
/// away. Later sessions need not: this process's own writes are flushed by their flushers. Versioned dirty
/// marks make this safe against writes of the new session racing it.
fn recover_unflushed(state: &AppState, tenant: &TenantId, user: &augchatd_actors::ids::UserId) {
    let (flushers, tenant, user) = (state.flushers.clone(), tenant.clone(), user.clone());
    actix_web::rt::spawn(async move {
        if let Err(e) = flushers.flush_user(&tenant, &user).await {
            tracing::warn!(%tenant, %user, error = %e, "recovery flush failed; retrying with backoff");
        }
    });
}

/// The answer to a successful mint.
#[derive(Serialize)]
pub struct Minted {
    /// The new session's id.
    pub session_id: String,
    /// The browser's credential.
    pub jwt: String,
    /// ISO-8601 form of the JWT's `exp`.
    pub expires_at: String,
    /// The (tenant, user)'s scale-out routing key (`http::routing`), also the JWT's `rk` claim.
    pub route_key: String,
}

/// Registers a new session for `tenant` and signs its JWT.
pub fn mint(state: &AppState, tenant: TenantId, spec: SessionSpec, ttl_seconds: u64) -> Result<Minted, ApiError> {
    let id = SessionId::try_from(uuid::Uuid::new_v4().to_string()).map_err(|_| ApiError::Internal)?;
    let issued_at = unix_now();
    let expires_at = issued_at.saturating_add(ttl_seconds);
    let route_key = RouteKey::of(&tenant, &spec.user);
    let jwt = state.jwt.mint(id.as_str(), route_key.as_str(), issued_at, expires_at).map_err(|_| ApiError::Internal)?;
    let expires_iso = i64::try_from(expires_at)
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or(ApiError::Internal)?;
    // The user's hot file exists from their first session on (SPEC §12 decision 26, §11 #118); their
    // writer starts with its first use. Their conversations flush to the bucket of their latest session.
    let created = state.user_dbs.ensure_file(&tenant, &spec.user).map_err(|e| {
        tracing::error!(%tenant, user = %spec.user, error = %e, "the user's hot file could not be created");
        ApiError::HotWriteFailed
    })?;
    let cold =
        spec.storage.as_ref().map(|location| S3Store::new(location, state.http.clone())).transpose().map_err(|e| {
            tracing::error!(%tenant, error = %e, "cold store could not be prepared for a probed bucket");
            ApiError::Internal
        })?;
    let first_here =
        state.flushers.set_cold(&tenant, &spec.user, cold.map(|store| Arc::new(store) as Arc<dyn ColdStore>));
    if first_here && !created {
        recover_unflushed(state, &tenant, &spec.user);
    }
    let budget = Budget::new(spec.limits);
    let record = SessionRecord { id: id.clone(), tenant, spec, issued_at, expires_at, budget };
    state.registry.start(record, &state.sessions_arbiter);
    Ok(Minted { session_id: id.to_string(), jwt, expires_at: expires_iso, route_key: route_key.as_str().to_owned() })
}

/// `POST /sessions`.
pub async fn create(
    Integrator(tenant): Integrator,
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_object(&read_limited(payload, MAX_JSON_BODY, state.slow_client).await?)?;
    let request = parse_session_request(&Value::Object(body), &Options::API).map_err(ApiError::Field)?;
    let spec = request.spec;
    // Before the probes: a misrouted mint would make the user's hot file on the wrong daemon.
    routing::check(&req, RouteKey::of(&tenant, &spec.user).as_str())?;
    if let Some(storage) = &spec.storage {
        probes::storage(&state.http, storage, &state.probes).await.map_err(|e| {
            tracing::debug!(%tenant, user = %spec.user, error = %e, "session refused: s3 write probe failed");
            ApiError::S3WriteTestFailed(e.to_string())
        })?;
    }
    probes::llm(&state.http, &state.bases, &spec, &state.probes).await.map_err(|e| {
        tracing::debug!(%tenant, user = %spec.user, error = %e, "session refused: llm credential probe failed");
        ApiError::LlmProbeFailed(e.to_string())
    })?;
    Ok(HttpResponse::Ok().json(mint(&state, tenant, spec, request.ttl_seconds)?))
}

/// `DELETE /sessions/:id`: only the tenant that minted a session can end it; anything else is 404.
pub async fn delete(
    Integrator(tenant): Integrator,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sid = SessionId::try_from(path.into_inner()).map_err(|_| ApiError::SessionNotFound)?;
    let owned = state.registry.get(&sid).filter(|record| record.tenant == tenant);
    // Only a session this tenant owns is checked: another tenant's session stays a plain 404.
    if let Some(record) = &owned {
        routing::check(&req, RouteKey::of(&record.tenant, &record.spec.user).as_str())?;
    }
    let addr = state.registry.addr(&sid).filter(|_| owned.is_some()).ok_or(ApiError::SessionNotFound)?;
    // SPEC §2.2: the final flush comes first; if cold cannot confirm it, the session stays and the
    // integrator may retry.
    if let Some(record) = state.registry.get(&sid) {
        let flush = state.flushers.flush_user(&record.tenant, &record.spec.user);
        match tokio::time::timeout(FINAL_FLUSH_TIMEOUT, flush).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(%sid, %tenant, user = %record.spec.user, error = %e, "final flush failed; session kept");
                return Err(ApiError::FinalFlushFailed);
            }
            Err(_) => {
                tracing::warn!(%sid, %tenant, user = %record.spec.user, "final flush timed out; session kept");
                return Err(ApiError::FinalFlushFailed);
            }
        }
    }
    match addr.send(EndSession { reason: EndReason::Deleted }).timeout(END_TIMEOUT).await {
        Ok(true) => {
            // The session's MCP connections, and the user's credentials in them, go with it.
            state.mcp.end_session(&sid);
            Ok(HttpResponse::NoContent().finish())
        }
        Ok(false) => Err(ApiError::SessionNotFound),
        Err(e) => {
            tracing::error!(%sid, %tenant, error = %e, "session actor did not answer EndSession");
            Err(ApiError::Internal)
        }
    }
}
