//! An MCP server on 127.0.0.1:0 that answers streamable-HTTP JSON-RPC with whatever the current
//! [`Script`] says: well-formed results, results framed as SSE, answers to the wrong request id, bodies
//! that are not JSON-RPC at all, odd statuses, or nothing. The hostile-upstream tests draw the scripts.
//! `GET` (the optional server stream, and the legacy-SSE fallback) answers 405.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, http::StatusCode, web};
use serde_json::{Value, json};

/// How the server answers one JSON-RPC request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// `{"jsonrpc":"2.0","id":<the request's>,"result":…}` as `application/json`.
    Result(Value),
    /// The same envelope as one SSE `message` event.
    SseResult(Value),
    /// A well-formed envelope answering another request id.
    WrongId(Value),
    /// Exactly this status, content type and body.
    Raw { status: u16, content_type: String, body: Vec<u8> },
    /// `202 Accepted` and no answer ever (the call's deadline must end it).
    Nothing,
}

/// The replies to `initialize`, `tools/list` and `tools/call`.
#[derive(Clone, Debug)]
pub struct Script {
    pub initialize: Reply,
    pub list: Reply,
    pub call: Reply,
}

/// A correct `initialize` result.
pub fn initialized() -> Value {
    json!({"protocolVersion": "2025-03-26", "capabilities": {"tools": {}},
           "serverInfo": {"name": "hostile", "version": "1.0.0"}})
}

/// A correct `tools/list` result offering `probe`.
pub fn listed() -> Value {
    json!({"tools": [{"name": "probe", "description": "Probes.", "inputSchema": {"type": "object"},
                      "annotations": {"readOnlyHint": true}}]})
}

#[derive(Clone)]
pub struct HostileMcp {
    /// `http://127.0.0.1:<port>/mcp`.
    pub url: String,
    script: Arc<Mutex<Script>>,
}

impl HostileMcp {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let script = Script {
            initialize: Reply::Result(initialized()),
            list: Reply::Result(listed()),
            call: Reply::Result(json!({"content": []})),
        };
        let peer = HostileMcp { url, script: Arc::new(Mutex::new(script)) };
        let data = web::Data::new(peer.clone());
        super::serve(listener, move |cfg| {
            cfg.app_data(data.clone())
                .route("/mcp", web::post().to(answer))
                .route("/mcp", web::get().to(HttpResponse::MethodNotAllowed))
                .route("/mcp", web::delete().to(HttpResponse::Ok));
        });
        peer
    }

    /// Answers from now on as `script` says.
    pub fn play(&self, script: Script) {
        *self.script.lock().unwrap() = script;
    }
}

async fn answer(body: web::Bytes, peer: web::Data<HostileMcp>) -> HttpResponse {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(id) = request.get("id").cloned() else {
        return HttpResponse::Accepted().finish(); // a notification
    };
    let script = peer.script.lock().unwrap().clone();
    let reply = match request["method"].as_str() {
        Some("initialize") => script.initialize,
        Some("tools/list") => script.list,
        Some("tools/call") => script.call,
        _ => Reply::Raw { status: 200, content_type: "application/json".into(), body: b"{}".to_vec() },
    };
    let envelope = |id: Value, result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
    match reply {
        Reply::Result(result) => HttpResponse::Ok().json(envelope(id, result)),
        Reply::SseResult(result) => HttpResponse::Ok()
            .content_type("text/event-stream")
            .body(format!("event: message\ndata: {}\n\n", envelope(id, result))),
        Reply::WrongId(result) => HttpResponse::Ok().json(envelope(json!(987_654), result)),
        Reply::Raw { status, content_type, body } => {
            HttpResponse::build(StatusCode::from_u16(status).unwrap()).content_type(content_type).body(body)
        }
        Reply::Nothing => HttpResponse::Accepted().finish(),
    }
}
