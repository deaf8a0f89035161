//! A scripted LLM provider on 127.0.0.1:0 speaking the real wire formats: list-models for Anthropic
//! (`x-api-key`, `anthropic-version`) and OpenAI (Bearer), Anthropic Messages streaming and OpenAI
//! Responses streaming, sent in 7-byte pieces so events split anywhere. The reply follows the last user
//! text: `overload` answers 529/503, `cut` ends the stream early, `mid-error` sends an error event after
//! some text, anything else a normal reply (with thinking / a reasoning summary when the request asked).
//! Every request's path, credential and body are recorded for the tests' assertions.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::json;

/// The keys this provider accepts.
pub const GOOD_KEY: &str = "sk-good-key";

#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub credential: Option<String>,
    pub anthropic_version: Option<String>,
    pub body: Option<serde_json::Value>,
}

#[derive(Clone, Default)]
pub struct LlmPeer {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    accepted: Arc<Mutex<Vec<String>>>,
    failing_status: Arc<Mutex<Option<u16>>>,
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn models(req: HttpRequest, peer: web::Data<LlmPeer>) -> HttpResponse {
    let anthropic = header(&req, "x-api-key");
    let bearer = header(&req, "authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned));
    let credential = anthropic.clone().or(bearer);
    peer.seen.lock().unwrap().push(Seen {
        path: req.path().to_owned(),
        credential: credential.clone(),
        anthropic_version: header(&req, "anthropic-version"),
        body: None,
    });
    if let Some(status) = *peer.failing_status.lock().unwrap() {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .json(json!({"error": {"message": "upstream exploded at https://internal.example/secret-path"}}));
    }
    let ok = credential.is_some_and(|k| peer.accepted.lock().unwrap().contains(&k));
    if !ok {
        return HttpResponse::Unauthorized()
            .json(json!({"error": {"type": "authentication_error", "message": "invalid x-api-key"}}));
    }
    if anthropic.is_some() {
        HttpResponse::Ok().json(json!({"data": [
            {"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5"},
            {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5"}
        ], "has_more": false}))
    } else {
        HttpResponse::Ok().json(json!({"object": "list", "data": [
            {"id": "gpt-4o", "object": "model"}, {"id": "gpt-4o-2024-08-06", "object": "model"},
            {"id": "o3", "object": "model"}, {"id": "gpt-image-1", "object": "model"},
            {"id": "text-embedding-3-small", "object": "model"}, {"id": "gpt-4o-audio-preview", "object": "model"}
        ]}))
    }
}

/// The reply's SSE events for a streaming call, in the provider's format.
fn script(anthropic: bool, body: &serde_json::Value) -> (u16, Vec<String>) {
    let last_user = body[if anthropic { "messages" } else { "input" }]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    let thinking = body.get("thinking").is_some() || body.get("reasoning").is_some();
    let ev = |name: &str, data: serde_json::Value| {
        if anthropic { format!("event: {name}\ndata: {data}\n\n") } else { format!("data: {data}\n\n") }
    };
    if last_user.contains("overload") {
        return (if anthropic { 529 } else { 503 }, vec![]);
    }
    let mut events = Vec::new();
    if anthropic {
        events.push(ev("message_start", json!({"type": "message_start", "message": {"id": "msg_1", "content": []}})));
        if thinking {
            events.push(ev("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}})));
            events.push(ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me think."}})));
            events.push(ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}})));
            events.push(ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})));
        }
        events.push(ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ));
        for word in ["Hello ", "from ", "the ", "scripted ", "model."] {
            events.push(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": word}}),
            ));
            events.push(ev("ping", json!({"type": "ping"})));
        }
        if last_user.contains("mid-error") {
            events.push(ev(
                "error",
                json!({"type": "error", "error": {"type": "api_error", "message": "boom at https://internal.example"}}),
            ));
            return (200, events);
        }
        if last_user.contains("cut") {
            return (200, events);
        }
        events.push(ev("content_block_stop", json!({"type": "content_block_stop", "index": 1})));
        events.push(ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}})));
        events.push(ev("message_stop", json!({"type": "message_stop"})));
    } else {
        events.push(ev("", json!({"type": "response.created", "response": {"id": "resp_1"}})));
        if thinking {
            events.push(ev(
                "",
                json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "delta": "Let me think."}),
            ));
        }
        for word in ["Hello ", "from ", "the ", "scripted ", "model."] {
            events.push(ev("", json!({"type": "response.output_text.delta", "item_id": "msg_1", "delta": word})));
        }
        if last_user.contains("mid-error") {
            events.push(ev("", json!({"type": "error", "code": "server_error", "message": "boom"})));
            return (200, events);
        }
        if last_user.contains("cut") {
            return (200, events);
        }
        events.push(ev("", json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed"}})));
    }
    (200, events)
}

async fn stream_reply(req: HttpRequest, body: web::Json<serde_json::Value>, peer: web::Data<LlmPeer>) -> HttpResponse {
    let anthropic = req.path() == "/v1/messages";
    let credential = if anthropic {
        header(&req, "x-api-key")
    } else {
        header(&req, "authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned))
    };
    peer.seen.lock().unwrap().push(Seen {
        path: req.path().to_owned(),
        credential: credential.clone(),
        anthropic_version: header(&req, "anthropic-version"),
        body: Some(body.0.clone()),
    });
    if !credential.is_some_and(|k| peer.accepted.lock().unwrap().contains(&k)) {
        return HttpResponse::Unauthorized().json(json!({"error": {"type": "authentication_error"}}));
    }
    let (status, events) = script(anthropic, &body);
    if status != 200 {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .json(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));
    }
    let bytes = events.concat().into_bytes();
    let pieces: Vec<Result<actix_web::web::Bytes, actix_web::Error>> =
        bytes.chunks(7).map(|c| Ok(actix_web::web::Bytes::copy_from_slice(c))).collect();
    HttpResponse::Ok().content_type("text/event-stream").streaming(futures_util::stream::iter(pieces))
}

impl LlmPeer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let peer = LlmPeer { base, accepted: Arc::new(Mutex::new(vec![GOOD_KEY.to_owned()])), ..Default::default() };
        let data = web::Data::new(peer.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/v1/models", web::get().to(models))
                .route("/v1/messages", web::post().to(stream_reply))
                .route("/v1/responses", web::post().to(stream_reply))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        peer
    }

    /// Accepts one more key (e.g. a marker secret).
    pub fn accept(&self, key: &str) {
        self.accepted.lock().unwrap().push(key.to_owned());
    }

    /// Answers every request with this status until cleared.
    pub fn fail_with(&self, status: Option<u16>) {
        *self.failing_status.lock().unwrap() = status;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The body of the last streaming model call.
    pub fn last_call(&self) -> serde_json::Value {
        self.seen.lock().unwrap().iter().rev().find_map(|s| s.body.clone()).unwrap()
    }
}
