//! Conversation routes (JWT): `POST /conversations`, `GET /conversations`,
//! `GET /conversations/:cid/messages`, `DELETE /conversations/:cid` (SPEC §2.5–§2.8).
//! Invariant: every call goes to the caller's own (tenant, user) writer, so another user's
//! conversation id is simply not found there: the storage partition is the authorization boundary.

use std::time::Duration;

use actix::prelude::*;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use augchatd_actors::ids::{ConversationId, TenantId, UserId};
use augchatd_actors::record::SessionRecord;
use augchatd_actors::user_db::{
    DbError, DeleteConversation, EnsureConversation, GetMessages, ListConversations, StoredMessage, UserDbWriter,
};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Authed;
use super::body::{MAX_JSON_BODY, read_limited};
use super::error::ApiError;
use super::hydrate::{hydrate_cold_only, hydrate_if_missing};

/// How long a route waits for the user's writer.
const WRITER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest title shown in the conversation list, in characters.
const TITLE_MAX_CHARS: usize = 60;

/// Sends `msg` to the session user's writer and maps its failures to `ApiError`.
pub async fn ask<M>(state: &AppState, record: &SessionRecord, msg: M) -> Result<M::Result, ApiError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    UserDbWriter: Handler<M>,
{
    ask_user(state, &record.tenant, &record.spec.user, msg).await
}

/// Sends `msg` to the writer of (tenant, user) and maps its failures to `ApiError`.
pub async fn ask_user<M>(state: &AppState, tenant: &TenantId, user: &UserId, msg: M) -> Result<M::Result, ApiError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    UserDbWriter: Handler<M>,
{
    let writer = state.user_dbs.writer(tenant, user);
    writer.send(msg).timeout(WRITER_TIMEOUT).await.map_err(|e| {
        tracing::error!(%tenant, %user, error = %e, "user writer did not answer");
        ApiError::from(DbError::WriterGone)
    })
}

/// `(descriptive_id, default_active)` of the session's scope: the first-observation snapshot.
pub fn connector_defaults(record: &SessionRecord) -> Vec<(String, bool)> {
    record.spec.connectors.iter().map(|c| (c.descriptive_id.clone(), c.default_active)).collect()
}

/// Refuses writes while the user's cold flushes are stalled (SPEC §6.5); reads stay open.
pub fn writable(state: &AppState, record: &SessionRecord) -> Result<(), ApiError> {
    if state.flushers.is_read_only(&record.tenant, &record.spec.user) {
        return Err(ApiError::FlushStalled);
    }
    Ok(())
}

/// Parses a path segment; an id that cannot exist is simply not found.
pub fn path_cid(raw: String) -> Result<ConversationId, ApiError> {
    ConversationId::try_from(raw).map_err(|_| ApiError::ConversationNotFound)
}

/// `POST /conversations`: `{}` or no body mints a UUID; `{"conversation_id": "…"}` adopts that id.
/// Idempotent: an existing id answers 201 again and only gains snapshots for connectors new in scope.
pub async fn create(
    authed: Authed,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let record = &authed.0;
    // Read-only is checked before the body is read, as on every write route, so even an invalid id
    // answers 503 while the user's cold flushes are stalled.
    writable(&state, record)?;
    let body = read_limited(payload, MAX_JSON_BODY, state.slow_client).await?;
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    // SPEC §2.5: a JSON body that does not parse is ignored, like no body at all.
    let requested = if is_json { serde_json::from_slice::<Value>(&body).ok() } else { None };
    let (cid, chosen) = match requested.as_ref().and_then(|v| v.get("conversation_id")) {
        None => (ConversationId::mint(), false),
        Some(Value::String(s)) => {
            (ConversationId::try_from(s.as_str()).map_err(|_| ApiError::InvalidConversationId)?, true)
        }
        Some(_) => return Err(ApiError::InvalidConversationId),
    };
    // A client-chosen id may name a conversation only cold has: bring it back before anything is
    // written, or an empty row would later overwrite its history. An id minted here is in no bucket, so
    // a new chat needs no bucket read (and starts while the bucket is down).
    if chosen {
        hydrate_if_missing(&state, record, &cid).await?;
    }
    let msg = EnsureConversation { cid: cid.clone(), session: record.id.clone(), defaults: connector_defaults(record) };
    if ask(&state, record, msg).await?? {
        state.flushers.touched(&record.tenant, &record.spec.user, &cid, &record.id);
    }
    Ok(HttpResponse::Created().json(json!({"conversation_id": cid.as_str()})))
}

/// The list title: the first user message's first text part, trimmed, at most 60 characters.
fn title(first_user_parts: Option<&str>) -> Option<String> {
    let parts: Value = serde_json::from_str(first_user_parts?).ok()?;
    let text = parts.as_array()?.iter().find(|p| p["type"] == "text")?["text"].as_str()?.trim();
    if text.is_empty() {
        return None;
    }
    if text.chars().count() > TITLE_MAX_CHARS {
        let mut short: String = text.chars().take(TITLE_MAX_CHARS - 1).collect();
        short.push('…');
        return Some(short);
    }
    Some(text.to_owned())
}

/// `GET /conversations`: the user's conversations, newest first.
pub async fn list(authed: Authed, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    hydrate_cold_only(&state, &authed.0).await?;
    let rows = ask(&state, &authed.0, ListConversations).await??;
    let conversations: Vec<Value> = rows
        .iter()
        .map(|c| {
            json!({
                "conversation_id": c.conversation_id,
                "title": title(c.first_user_parts_json.as_deref()),
                "message_count": c.message_count,
                "model_id_override": c.model_id_override,
                "updated_at": c.updated_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"conversations": conversations})))
}

/// `GET /conversations/:cid/messages`.
pub async fn messages(
    authed: Authed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cid = path_cid(path.into_inner())?;
    hydrate_if_missing(&state, &authed.0, &cid).await?;
    let stored = ask(&state, &authed.0, GetMessages { cid }).await??;
    let messages: Vec<Value> = stored.iter().map(message_json).collect();
    Ok(HttpResponse::Ok().json(json!({"messages": messages})))
}

/// A stored message as the API shows it (`GET …/messages`, the export).
pub fn message_json(m: &StoredMessage) -> Value {
    let parts = serde_json::from_str::<Value>(&m.parts_json).unwrap_or_else(|_| json!([]));
    let metadata = m.metadata_json.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok());
    json!({"message_id": m.message_id, "ordinal": m.ordinal, "role": m.role.as_str(), "parts": parts,
           "metadata": metadata.filter(Value::is_object)})
}

/// `DELETE /conversations/:cid`.
pub async fn delete(
    authed: Authed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cid = path_cid(path.into_inner())?;
    let record = &authed.0;
    writable(&state, record)?;
    // A conversation only cold has is deleted too (it would come back with the next listing otherwise).
    hydrate_if_missing(&state, record, &cid).await?;
    ask(&state, record, DeleteConversation { cid: cid.clone() }).await??;
    // SPEC §12 decision 10: the cold copy goes too. A failure is retried by the user's next flush, and
    // the tombstone keeps hydration from bringing the conversation back meanwhile.
    if let Err(e) = state.flushers.delete_cold(&record.tenant, &record.spec.user, &cid).await {
        tracing::warn!(tenant = %record.tenant, user = %record.spec.user, %cid, error = %e, "cold delete failed; will retry");
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_text_part_and_are_cut_at_60_characters() {
        // SPEC §2.6, §11 #105, #106
        assert_eq!(title(Some(r#"[{"type":"text","text":"  Hello  "}]"#)).as_deref(), Some("Hello"));
        assert_eq!(title(Some(r#"[{"type":"file"},{"type":"text","text":"x"}]"#)).as_deref(), Some("x"));
        let long = "é".repeat(61);
        let cut = title(Some(&format!(r#"[{{"type":"text","text":"{long}"}}]"#))).unwrap_or_default();
        assert_eq!(cut.chars().count(), 60);
        assert!(cut.ends_with('…'));
        assert_eq!(
            title(Some(&format!(r#"[{{"type":"text","text":"{}"}}]"#, "a".repeat(60)))).map(|t| t.len()),
            Some(60)
        );
        assert_eq!(title(Some(r#"[{"type":"text","text":"   "}]"#)), None);
        assert_eq!(title(Some("[]")), None);
        assert_eq!(title(None), None);
    }
}
