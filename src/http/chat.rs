//! `POST /chat` (JWT): checks in SPEC §2.4 order (auth, body, conversation), auto-creates the
//! conversation, registers the turn for resume and stop, then answers 200 with the UI message stream
//! of `chat::start`.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use augchatd_actors::turn_start::StartTurn;
use augchatd_actors::user_db::{DbError, GetMessages};

use super::AppState;
use super::auth::Authed;
use super::body::read_limited;
use super::conversations::{ask, connector_defaults, writable};
use super::error::ApiError;
use super::hydrate::hydrate_from_cold;
use crate::chat::{self, Turn, approval, thread};
use crate::stream::stream_headers;
use crate::tools::set::ToolSet;

/// A chat thread carries the whole history; long conversations are large.
const MAX_CHAT_BODY: usize = 8 * 1024 * 1024;

/// `POST /chat`.
pub async fn chat(authed: Authed, state: web::Data<AppState>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let record = &authed.0;
    // Read-only is checked before the body is read (SPEC §2.4 step 2).
    writable(&state, record)?;
    // Before the body, so a session at its cap costs nothing more than this check.
    let session_stream =
        state.streams.begin_below(record.id.clone(), state.max_streams_per_session).ok_or(ApiError::TooManyStreams)?;
    // The session's own limits, also before the body; the turn it reserves is given back if no stream starts.
    let ticket = record.budget.admit(std::time::Instant::now()).map_err(ApiError::OverBudget)?;
    let request = thread::parse(&read_limited(payload, MAX_CHAT_BODY, state.slow_client).await?)?;
    // From here until the reply is stored, the user's hot file must not be evicted.
    let in_flight = state.flushers.turn_started(&record.tenant, &record.spec.user);
    let defaults = connector_defaults(record);
    // Auto-create before streaming, so a hot-write failure is still a plain 503 (SPEC §2.4 step 7); the
    // turn's tools come from the turn-start observation only (SPEC §5.1 step 1, §5.4). A conversation the
    // writer knows unchanged needs no write and no read to start (`KnownTurns` says what that gives up).
    let start = |cold_checked| StartTurn {
        cid: request.cid.clone(),
        session: record.id.clone(),
        in_scope: defaults.clone(),
        cold_checked,
    };
    let has_cold = state.flushers.cold_store(&record.tenant, &record.spec.user).is_some();
    let writer = state.user_dbs.writer(&record.tenant, &record.spec.user);
    let first = start(!has_cold);
    let context = match writer.known_turn(&first) {
        Some(known) => known,
        None => match ask(&state, record, first).await? {
            // Never stored here: cold storage may have it (SPEC §6.6).
            Err(DbError::NotFound) => {
                hydrate_from_cold(&state, record, &request.cid).await?;
                ask(&state, record, start(true)).await??
            }
            started => started?,
        },
    };
    if context.written {
        state.flushers.touched(&record.tenant, &record.spec.user, &request.cid, &record.id);
    }
    let key = (record.tenant.clone(), record.spec.user.clone(), request.cid.clone());
    // A thread answering tool approvals continues the stored reply, checked against what augchatd stored. It
    // waits for no other turn of the conversation: the stored reply is read with none streaming, so once an
    // answered call has run and been stored, the same answer matches nothing.
    let (history, resumed, streaming) = if approval::answers(&request.messages) {
        let streaming = state.turns.begin_below(key.clone(), 1).ok_or(ApiError::TurnInProgress)?;
        let stored = ask(&state, record, GetMessages { cid: request.cid.clone() }).await??;
        let (history, resumed) = approval::resume(request.messages, &stored)?;
        (history, Some(resumed), Some(streaming))
    } else {
        (request.messages, None, None)
    };
    // Connected before the 200, so an MCP server refusing the session's credentials is a real 401.
    let tools = ToolSet::build(&state.mcp, &state.http, state.tool_timeout, record, &context.flags, &state.audit)
        .await
        .map_err(|refused| ApiError::UpstreamUnauthorized(refused.0))?;
    // The conversation's override, else the session default, resolved once at turn start (SPEC §2.4 step 8).
    let model_id = context.model_override.unwrap_or_else(|| record.spec.model.model_id.clone());
    let streaming = streaming.unwrap_or_else(|| state.turns.begin(key.clone()));
    let (live, reader) = state.live.begin(key);
    let trace = state.traces.conversation(&request.cid, &record.id);
    let turn = Turn {
        record: Arc::clone(record),
        model_id,
        http: crate::llm::worker_client(&state.http),
        bases: state.bases.clone(),
        writer,
        flushers: state.flushers.clone(),
        cid: request.cid,
        defaults,
        active: context.flags,
        tools,
        trace,
        history,
        resumed,
        in_flight,
        streaming,
        session_stream,
        live,
        live_turns: state.live.clone(),
        metrics: Arc::clone(&state.metrics),
        open_stream: state.metrics.stream_started(),
        draining: state.draining.clone(),
    };
    ticket.started();
    let body = chat::start(turn, reader);
    // Two rounds of the worker's tasks before this response's head is written: in the first, the turn's
    // task builds its model request; in the second, the upstream connection's task writes it. Both are on
    // the way to the first token, the head is not (benches/limits, one stream, p50 / p99: building 67 /
    // 124 µs, writing 116 / 201 µs). With no pooled connection yet, the second round has nothing to run.
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
    Ok(stream_headers(&mut HttpResponse::Ok()).streaming(body))
}
