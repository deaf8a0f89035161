//! Data-subject requests over mTLS, beside `POST /sessions`: `POST /users/:user_id/export` answers
//! every conversation of a user (hot, and those only the bucket has) as JSON, and
//! `POST /users/:user_id/erase` ends the user's live sessions and deletes their hot file and their
//! objects in the bucket.
//!
//! The bucket is the integrator's and reaches the daemon only with a session, so both requests carry
//! the same `storage` object as `POST /sessions` (a user with no live session still has a history in
//! it). Invariant: the tenant comes from the client certificate, and every path and key is built from
//! (that tenant, the user), so a tenant can only ever reach its own users. A user never seen is an
//! empty export and an erasure of nothing: the daemon cannot tell "never existed" from "nothing left".

use std::collections::HashSet;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use augchatd_actors::audit::{AuditEvent, Outcome};
use augchatd_actors::data_subject::{EraseUser, HotConversations, ReadAllConversations};
use augchatd_actors::flusher::{cold_cid, cold_folder};
use augchatd_actors::ids::{ConversationId, SessionId, TenantId, UserId};
use augchatd_actors::record::S3Location;
use augchatd_actors::session::{EndReason, EndSession};
use augchatd_actors::user_db::ColdConversation;
use serde_json::{Value, json};

use super::AppState;
use super::body::{MAX_JSON_BODY, json_object, read_limited};
use super::conversations::{ask_user, message_json};
use super::error::ApiError;
use super::hydrate;
use super::routing::{self, RouteKey};
use super::tls::Integrator;
use crate::cold::s3::S3Store;
use crate::provision::{FieldError, parse_required_storage};

/// How long an erasure waits for each session actor.
const END_TIMEOUT: Duration = Duration::from_secs(10);

/// The user of the path, or 400 `invalid_user_id` (the `POST /sessions` rule).
fn path_user(raw: String) -> Result<UserId, ApiError> {
    UserId::try_from(raw).map_err(|_| {
        ApiError::Field(FieldError {
            code: "invalid_user_id",
            detail: "user_id must match ^[a-zA-Z0-9._-]{1,100}$".to_owned(),
        })
    })
}

/// The user and the bucket of a request: the path first, then the body.
async fn read_request(
    state: &AppState,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<(UserId, S3Store), ApiError> {
    let user = path_user(path.into_inner())?;
    let body = json_object(&read_limited(payload, MAX_JSON_BODY, state.slow_client).await?)?;
    let location: S3Location = parse_required_storage(&body).map_err(ApiError::Field)?;
    let bucket = S3Store::new(&location, state.http.clone()).map_err(|_| {
        ApiError::Field(FieldError { code: "invalid_field", detail: "storage.s3 is not usable".into() })
    })?;
    Ok((user, bucket))
}

/// Which data-subject request a route serves.
#[derive(Clone, Copy, Debug)]
pub enum Request {
    /// `POST /users/:user_id/export`.
    Export,
    /// `POST /users/:user_id/erase`.
    Erase,
}

/// Both routes: the client certificate, then the user id of the path, then the body, then the routing
/// header (behind a balancer, only the user's own daemon sees their hot file and live sessions).
pub async fn handle(
    kind: Request,
    Integrator(tenant): Integrator,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (user, bucket) = read_request(&state, path, payload).await?;
    routing::check(&req, RouteKey::of(&tenant, &user).as_str())?;
    match kind {
        Request::Export => export(&state, tenant, user, &bucket).await,
        Request::Erase => erase(&state, tenant, user, &bucket).await,
    }
}

async fn export(state: &AppState, tenant: TenantId, user: UserId, bucket: &S3Store) -> Result<HttpResponse, ApiError> {
    let collected = collect(state, &tenant, &user, bucket).await;
    let (conversations, outcome) = match &collected {
        Ok(all) => (all.len(), Outcome::Ok),
        Err(_) => (0, Outcome::Error),
    };
    state.audit.record(AuditEvent::UserExported { tenant, user: user.clone(), conversations, outcome });
    let conversations: Vec<Value> = collected?.iter().map(|(cid, c)| conversation_json(cid, c)).collect();
    Ok(HttpResponse::Ok().json(json!({"user_id": user.as_str(), "conversations": conversations})))
}

/// Every conversation of the user, in id order: hot ones as hot has them (hot is never older than
/// cold), then those only the bucket has. Conversations the user deleted are left out even while
/// their cold copy waits for its delete.
async fn collect(
    state: &AppState,
    tenant: &TenantId,
    user: &UserId,
    bucket: &S3Store,
) -> Result<Vec<(ConversationId, ColdConversation)>, ApiError> {
    // Asking the writer would create an empty file for a user who has none.
    let hot = if state.user_dbs.has_file(tenant, user) {
        ask_user(state, tenant, user, ReadAllConversations).await??
    } else {
        HotConversations::default()
    };
    let known: HashSet<ConversationId> =
        hot.conversations.iter().map(|(cid, _)| cid.clone()).chain(hot.deleted.iter().cloned()).collect();
    let mut all = hot.conversations;
    for (key, cid) in cold_conversations(tenant, user, bucket).await.map_err(|_| ApiError::ColdReadFailed)? {
        if known.contains(&cid) {
            continue;
        }
        let bytes = match bucket.get(&key).await {
            Ok(Some(bytes)) => bytes,
            // Deleted since the listing.
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(%tenant, %user, %cid, error = %e, "export failed: cold read error");
                return Err(ApiError::ColdReadFailed);
            }
        };
        let conversation = hydrate::parse(&bytes).ok_or_else(|| {
            tracing::error!(%tenant, %user, %cid, "export failed: cold object is not a schema_version 1 conversation");
            ApiError::ColdReadFailed
        })?;
        all.push((cid, conversation));
    }
    all.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    Ok(all)
}

/// The user's conversation objects in the bucket: `(key, conversation id)`.
async fn cold_conversations(
    tenant: &TenantId,
    user: &UserId,
    bucket: &S3Store,
) -> Result<Vec<(String, ConversationId)>, crate::cold::s3::ColdError> {
    let folder = cold_folder(tenant, user);
    let keys = bucket.list(&folder).await.inspect_err(|e| {
        tracing::warn!(%tenant, %user, error = %e, "cold listing failed");
    })?;
    Ok(keys.into_iter().filter_map(|key| cold_cid(&folder, &key).map(|cid| (key, cid))).collect())
}

fn conversation_json(cid: &ConversationId, conversation: &ColdConversation) -> Value {
    let flags: Vec<Value> = conversation
        .connector_state
        .iter()
        .map(|(descriptive_id, active)| json!({"descriptive_id": descriptive_id, "active": active}))
        .collect();
    json!({
        "conversation_id": cid.as_str(),
        "model_id_override": conversation.model_id_override,
        "connector_state": flags,
        "messages": conversation.messages.iter().map(message_json).collect::<Vec<_>>(),
    })
}

/// What an erasure removed.
#[derive(Default)]
struct Erased {
    sessions_ended: usize,
    hot_conversations: usize,
    cold_objects: usize,
}

async fn erase(state: &AppState, tenant: TenantId, user: UserId, bucket: &S3Store) -> Result<HttpResponse, ApiError> {
    let mut erased = Erased::default();
    let result = erase_user(state, &tenant, &user, bucket, &mut erased).await;
    let outcome = if result.is_ok() { Outcome::Ok } else { Outcome::Error };
    state.audit.record(AuditEvent::UserErased {
        tenant: tenant.clone(),
        user: user.clone(),
        sessions_ended: erased.sessions_ended,
        hot_conversations: erased.hot_conversations,
        cold_objects: erased.cold_objects,
        outcome,
    });
    result?;
    tracing::info!(%tenant, %user, sessions_ended = erased.sessions_ended, hot_conversations = erased.hot_conversations,
        cold_objects = erased.cold_objects, "user erased");
    Ok(HttpResponse::Ok().json(json!({
        "user_id": user.as_str(),
        "sessions_ended": erased.sessions_ended,
        "hot_conversations_erased": erased.hot_conversations,
        "cold_objects_erased": erased.cold_objects,
    })))
}

/// The order matters: sessions first (their JWTs stop working and their running turns can no longer
/// store), then the uploads in flight (none may land after the bucket is cleared), then hot, then cold.
/// Every step is idempotent, so a failed erasure is finished by a retry.
async fn erase_user(
    state: &AppState,
    tenant: &TenantId,
    user: &UserId,
    bucket: &S3Store,
    erased: &mut Erased,
) -> Result<(), ApiError> {
    let sessions = state.registry.sessions_of(tenant, user);
    let mut ended: Vec<SessionId> = Vec::with_capacity(sessions.len());
    for (sid, addr) in sessions {
        if addr.send(EndSession { reason: EndReason::Erased }).timeout(END_TIMEOUT).await.unwrap_or(false) {
            erased.sessions_ended += 1;
        }
        state.mcp.end_session(&sid);
        ended.push(sid);
    }
    state.flushers.forget_user(tenant, user).await.map_err(|e| {
        tracing::error!(%tenant, %user, error = %e, "erase: uploads in flight did not finish");
        ApiError::ColdDeleteFailed
    })?;
    if !ended.is_empty() || state.user_dbs.has_file(tenant, user) {
        erased.hot_conversations = ask_user(state, tenant, user, EraseUser { sessions: ended }).await??;
    }
    let folder = cold_folder(tenant, user);
    let keys = bucket.list(&folder).await.map_err(|e| {
        tracing::warn!(%tenant, %user, error = %e, "erase: cold listing failed");
        ApiError::ColdDeleteFailed
    })?;
    for key in keys {
        bucket.delete(&key).await.map_err(|e| {
            tracing::warn!(%tenant, %user, error = %e, "erase: cold delete failed");
            ApiError::ColdDeleteFailed
        })?;
        erased.cold_objects += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_user_follows_the_user_id_rule() {
        assert!(path_user("user_42".into()).is_ok());
        for bad in ["..", "a b", ""] {
            assert!(matches!(path_user(bad.into()), Err(ApiError::Field(FieldError { code: "invalid_user_id", .. }))));
        }
    }
}
