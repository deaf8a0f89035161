//! A conversation's turn reached again (JWT): `GET /chat/:cid/stream` replays it from its first event
//! and follows it live (the AI SDK's `resume`; its `DefaultChatTransport` asks exactly this path), and
//! `POST /chat/:cid/stop` ends it on purpose. Both find only turns of the caller's own (tenant, user),
//! whichever of that user's sessions started them, so a reloaded page with a fresh JWT gets its turn back
//! and another user's id is simply not found.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use augchatd_actors::ids::ConversationId;
use augchatd_actors::record::SessionRecord;
use augchatd_actors::user_db::{Locate, Presence};

use super::AppState;
use super::auth::Authed;
use super::conversations::{ask, path_cid};
use super::error::ApiError;
use super::hydrate::hydrate_if_missing;
use crate::chat::live::{LiveTurn, TurnKey};
use crate::chat::tape::Refused;
use crate::stream::stream_headers;

/// How long a stop waits for the stopped turn's reply to be stored before answering that it was not.
const STOP_STORED_WAIT: Duration = Duration::from_secs(10);

fn key(record: &SessionRecord, cid: ConversationId) -> TurnKey {
    (record.tenant.clone(), record.spec.user.clone(), cid)
}

/// `GET /chat/:cid/stream`: 200 with the turn's whole stream so far and the rest as it comes, 204
/// when the conversation has no turn running or recently ended, 404 when it is not the caller's.
pub async fn resume(
    authed: Authed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some(turn) = the_turn(&state, &authed.0, path.into_inner()).await? else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let reader = turn.tape.replay().map_err(|refused| match refused {
        Refused::Partial => ApiError::StreamNotResumable,
        Refused::Crowded => ApiError::TooManyStreams,
    })?;
    Ok(stream_headers(&mut HttpResponse::Ok()).streaming(reader.into_stream()))
}

/// `POST /chat/:cid/stop`: ends the conversation's running turn (its model call and tool calls are
/// dropped, its stream ends with `abort` and `finish`) and answers 204 once what it produced is stored;
/// also 204 when the latest turn has already ended and is stored, or there is none. 404 when the
/// conversation is not the caller's; 503 `hot_write_failed` when the stopped turn's reply was not stored.
pub async fn stop(
    authed: Authed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if let Some(turn) = the_turn(&state, &authed.0, path.into_inner()).await? {
        turn.stop();
        match tokio::time::timeout(STOP_STORED_WAIT, turn.stored()).await {
            Ok(true) => {}
            // The store's own failure is logged where the turn persists.
            Ok(false) => return Err(ApiError::StoppedNotStored),
            Err(_) => {
                tracing::error!(sid = %authed.0.id, "stopped chat turn not stored in time");
                return Err(ApiError::StoppedNotStored);
            }
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's latest turn of conversation `raw`; `None` when it has none, 404 unless the caller has
/// the conversation in hot storage or (brought back) from cold.
async fn the_turn(state: &AppState, record: &SessionRecord, raw: String) -> Result<Option<Arc<LiveTurn>>, ApiError> {
    let cid = path_cid(raw)?;
    if let Some(turn) = state.live.find(&key(record, cid.clone())) {
        return Ok(Some(turn));
    }
    hydrate_if_missing(state, record, &cid).await?;
    match ask(state, record, Locate { cid }).await?? {
        Presence::Present => Ok(None),
        Presence::Absent | Presence::Deleted => Err(ApiError::ConversationNotFound),
    }
}
