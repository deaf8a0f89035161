//! `POST /chat` (JWT): checks in SPEC §2.4 order (auth, body, conversation), auto-creates the
//! conversation, then answers 200 with the UI message stream of `chat::start`.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use augchatd_actors::connector_state::{ModelOverride, ObserveConnectors};
use augchatd_actors::user_db::EnsureConversation;

use super::AppState;
use super::auth::Authed;
use super::body::read_limited;
use super::conversations::{ask, connector_defaults, writable};
use super::error::ApiError;
use super::hydrate::hydrate_if_missing;
use crate::chat::{self, Turn, thread};
use crate::stream::stream_headers;
use crate::tools::set::ToolSet;

/// A chat thread carries the whole history; long conversations are large.
const MAX_CHAT_BODY: usize = 8 * 1024 * 1024;

/// `POST /chat`.
pub async fn chat(authed: Authed, state: web::Data<AppState>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let record = &authed.0;
    // Read-only is checked before the body is read (SPEC §2.4 step 2).
    writable(&state, record)?;
    let request = thread::parse(&read_limited(payload, MAX_CHAT_BODY).await?)?;
    // From here until the reply is stored, the user's hot file must not be evicted.
    let in_flight = state.flushers.turn_started(&record.tenant, &record.spec.user);
    hydrate_if_missing(&state, record, &request.cid).await?;
    let defaults = connector_defaults(record);
    // Auto-create before streaming, so a hot-write failure is still a plain 503 (SPEC §2.4 step 7).
    let ensure =
        EnsureConversation { cid: request.cid.clone(), session: record.id.clone(), defaults: defaults.clone() };
    let created = ask(&state, record, ensure).await??;
    // The turn-start observation (SPEC §5.1 step 1): snapshots for connectors new in scope, stale flags
    // dropped (decision 9). The turn's tools come from this snapshot only (SPEC §5.4).
    let observed =
        ask(&state, record, ObserveConnectors { cid: request.cid.clone(), in_scope: defaults.clone() }).await??;
    if created || observed.written {
        state.flushers.touched(&record.tenant, &record.spec.user, &request.cid);
    }
    // Connected before the 200, so an MCP server refusing the session's credentials is a real 401.
    let tools = ToolSet::build(&state.mcp, &state.http, state.tool_timeout, record, &observed.flags)
        .await
        .map_err(|refused| ApiError::UpstreamUnauthorized(refused.0))?;
    // The conversation's override, else the session default, resolved once at turn start (SPEC §2.4 step 8).
    let model_id = ask(&state, record, ModelOverride { cid: request.cid.clone() })
        .await??
        .unwrap_or_else(|| record.spec.model.model_id.clone());
    let streaming = state.turns.begin(&record.tenant, &record.spec.user, &request.cid);
    let trace = state.traces.conversation(&request.cid, &record.id);
    let turn = Turn {
        record: Arc::clone(record),
        model_id,
        http: crate::llm::worker_client(&state.http),
        bases: state.bases.clone(),
        writer: state.user_dbs.writer(&record.tenant, &record.spec.user),
        flushers: state.flushers.clone(),
        cid: request.cid,
        defaults,
        active: observed.flags,
        tools,
        trace,
        history: request.messages,
        in_flight,
        streaming,
        metrics: Arc::clone(&state.metrics),
        open_stream: state.metrics.stream_started(),
        draining: state.draining.clone(),
    };
    Ok(stream_headers(&mut HttpResponse::Ok()).streaming(chat::start(turn)))
}
