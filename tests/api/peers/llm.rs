//! A scripted LLM provider on 127.0.0.1:0 speaking the real wire formats: list-models for Anthropic
//! (`x-api-key`, `anthropic-version`) and OpenAI (Bearer), Anthropic Messages streaming and OpenAI
//! Responses streaming, sent in 7-byte pieces so events split anywhere. The reply follows the last user
//! text: `overload` answers 529/503, `cut` ends the stream early, `mid-error` sends an error event after
//! some text, `status-NNN` answers that HTTP status, `stall` sends some text and then nothing with the
//! connection open, `gated` sends a normal reply up to `Hello from ` and the rest once the test
//! calls `release` (a model that is slow exactly where the test wants it), `markdown` answers `MARKDOWN`,
//! `call: <tool> <args>; …` makes tool calls (see `script`), anything else a normal reply
//! (with thinking / a reasoning summary when the request asked). A model id set with `fail_model` answers
//! its status whatever the text. Usage is reported like the real APIs: Anthropic counts 80 prompt tokens
//! as written to its cache on a conversation's first call and read from it later, but only when the
//! system prompt carries `cache_control`; OpenAI reports 64 cached tokens, and 3 reasoning tokens when
//! reasoning was asked for. `answer_raw` queues exact response bodies (in given pieces) for the next
//! streaming calls, whatever they ask: the hostile-upstream tests feed malformed streams through it.
//! Every request's path, credential and body are recorded for the tests' assertions.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
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
    failing_models: Arc<Mutex<Vec<(String, u16)>>>,
    /// Opened by `release`: the rest of every `gated` reply.
    gate: Arc<tokio::sync::watch::Sender<bool>>,
    /// `gated` replies whose connection closed while the gate was still shut.
    gated_dropped: Arc<std::sync::atomic::AtomicUsize>,
    raw: Arc<Mutex<VecDeque<Vec<Vec<u8>>>>>,
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

/// What `markdown` answers: every rich block the UI renders, and a script that must never run.
pub const MARKDOWN: &str = "| fruit | qty |\n|---|---|\n| apple | 3 |\n\nEuler: $e^{i\\pi}+1=0$\n\n\
```mermaid\ngraph TD; A-->B\n```\n\n```json\n{\"k\": {\"n\": [1, 2]}}\n```\n\n```csv\nname,qty\npear,5\n```\n\n\
<script>document.title = 'pwned'</script>\n\nDone.";

/// The text of the last user message that has text (tool results do not count).
fn last_user_text(anthropic: bool, body: &serde_json::Value) -> String {
    let messages = body[if anthropic { "messages" } else { "input" }].as_array().cloned().unwrap_or_default();
    for message in messages.iter().rev().filter(|m| m["role"] == "user") {
        if let Some(text) = message["content"].as_str() {
            return text.to_owned();
        }
        let blocks = message["content"].as_array().cloned().unwrap_or_default();
        if let Some(text) = blocks.iter().rev().find(|b| b["type"] == "text").and_then(|b| b["text"].as_str()) {
            return text.to_owned();
        }
    }
    String::new()
}

/// The outputs of the tool results that end the conversation, if it ends with some.
fn trailing_tool_results(anthropic: bool, body: &serde_json::Value) -> Vec<String> {
    if anthropic {
        let last = body["messages"].as_array().and_then(|m| m.last()).cloned().unwrap_or_default();
        let blocks = last["content"].as_array().cloned().unwrap_or_default();
        blocks
            .iter()
            .filter(|b| b["type"] == "tool_result")
            .map(|b| b["content"].as_str().unwrap_or("").to_owned())
            .collect()
    } else {
        let input = body["input"].as_array().cloned().unwrap_or_default();
        let mut outputs: Vec<String> = input
            .iter()
            .rev()
            .take_while(|i| i["type"] == "function_call_output")
            .map(|i| i["output"].as_str().unwrap_or("").to_owned())
            .collect();
        outputs.reverse();
        outputs
    }
}

/// `call: <name> <json args>; <name> <json args>` in the user's text: the tool calls to make. The
/// arguments are sent as written, so malformed JSON reaches the daemon as a model would send it.
fn requested_calls(text: &str) -> Vec<(String, String)> {
    let Some((_, calls)) = text.split_once("call:") else { return vec![] };
    calls
        .split(';')
        .filter_map(|call| {
            let call = call.trim();
            let (name, args) = call.split_once(' ').unwrap_or((call, ""));
            (!name.is_empty()).then(|| (name.to_owned(), args.trim().to_owned()))
        })
        .collect()
}

/// The reply's SSE events for a streaming call, in the provider's format. A user text with
/// `call: …` makes the model call those tools; once their results come back it answers
/// `Tool results: <outputs>` (unless the text also says `loop`, then it calls again, forever).
fn script(anthropic: bool, body: &serde_json::Value) -> (u16, Vec<String>) {
    let last_user = last_user_text(anthropic, body);
    let thinking = body.get("thinking").is_some() || body.get("reasoning").is_some();
    let ev = |name: &str, data: serde_json::Value| {
        if anthropic { format!("event: {name}\ndata: {data}\n\n") } else { format!("data: {data}\n\n") }
    };
    if last_user.contains("overload") {
        return (if anthropic { 529 } else { 503 }, vec![]);
    }
    if let Some(status) = last_user.split_once("status-").and_then(|(_, s)| s.get(..3)?.parse().ok()) {
        return (status, vec![]);
    }
    let results = trailing_tool_results(anthropic, body);
    let calls = requested_calls(&last_user);
    let step = body[if anthropic { "messages" } else { "input" }].as_array().map_or(0, Vec::len);
    // The prompt's 100 tokens: with a cache breakpoint, 80 of them go to the cache on the first call and
    // come from it afterwards.
    let cached = body["system"][0].get("cache_control").is_some();
    let prompt_usage = match (cached, step) {
        (false, _) => json!({"input_tokens": 100, "output_tokens": 1}),
        (true, 1) => json!({"input_tokens": 20, "cache_creation_input_tokens": 80, "output_tokens": 1}),
        (true, _) => json!({"input_tokens": 20, "cache_read_input_tokens": 80, "output_tokens": 1}),
    };
    let words: Vec<String> = if !results.is_empty() && !last_user.contains("loop") {
        vec!["Tool results: ".to_owned(), results.join(" | ")]
    } else if !calls.is_empty() {
        vec![]
    } else if last_user.contains("markdown") {
        MARKDOWN.split_inclusive('\n').map(str::to_owned).collect()
    } else {
        ["Hello ", "from ", "the ", "scripted ", "model."].map(str::to_owned).to_vec()
    };
    let mut events = Vec::new();
    if anthropic {
        events.push(ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "content": [], "usage": prompt_usage}}),
        ));
        if thinking {
            events.push(ev("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}})));
            events.push(ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me think."}})));
            events.push(ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}})));
            events.push(ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})));
        }
        if words.is_empty() {
            for (i, (name, args)) in calls.iter().enumerate() {
                let index = i + 1;
                let id = format!("toolu_{step}_{i}");
                events.push(ev(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index,
                    "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
                ));
                let cut = args.len() / 2;
                for piece in [&args[..cut], &args[cut..]] {
                    events.push(ev(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece}}),
                    ));
                }
                events.push(ev("content_block_stop", json!({"type": "content_block_stop", "index": index})));
            }
            events.push(ev(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 12}}),
            ));
            events.push(ev("message_stop", json!({"type": "message_stop"})));
            return (200, events);
        }
        events.push(ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ));
        for word in &words {
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
        if last_user.contains("cut") || last_user.contains("stall") {
            return (200, events);
        }
        events.push(ev("content_block_stop", json!({"type": "content_block_stop", "index": 1})));
        events.push(ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 5}}),
        ));
        events.push(ev("message_stop", json!({"type": "message_stop"})));
    } else {
        events.push(ev("", json!({"type": "response.created", "response": {"id": "resp_1"}})));
        if thinking {
            events.push(ev(
                "",
                json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "delta": "Let me think."}),
            ));
        }
        for (i, (name, args)) in calls.iter().enumerate().filter(|_| words.is_empty()) {
            let (item, call) = (format!("fc_{step}_{i}"), format!("call_{step}_{i}"));
            events.push(ev(
                "",
                json!({"type": "response.output_item.added", "output_index": i,
                "item": {"type": "function_call", "id": item, "call_id": call, "name": name, "arguments": ""}}),
            ));
            let cut = args.len() / 2;
            for piece in [&args[..cut], &args[cut..]] {
                events.push(ev(
                    "",
                    json!({"type": "response.function_call_arguments.delta", "item_id": item,
                    "output_index": i, "delta": piece}),
                ));
            }
            events.push(ev(
                "",
                json!({"type": "response.output_item.done", "output_index": i,
                "item": {"type": "function_call", "id": item, "call_id": call, "name": name, "arguments": args}}),
            ));
        }
        for word in &words {
            events.push(ev("", json!({"type": "response.output_text.delta", "item_id": "msg_1", "delta": word})));
        }
        if last_user.contains("mid-error") {
            events.push(ev("", json!({"type": "error", "code": "server_error", "message": "boom"})));
            return (200, events);
        }
        if last_user.contains("cut") || last_user.contains("stall") {
            return (200, events);
        }
        events.push(ev(
            "",
            json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed",
            "usage": {"input_tokens": 100, "output_tokens": 5, "input_tokens_details": {"cached_tokens": 64},
                      "output_tokens_details": {"reasoning_tokens": if thinking { 3 } else { 0 }}}}}),
        ));
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
    if let Some(pieces) = peer.raw.lock().unwrap().pop_front() {
        let pieces = pieces.into_iter().map(|p| Ok::<_, actix_web::Error>(actix_web::web::Bytes::from(p)));
        return HttpResponse::Ok().content_type("text/event-stream").streaming(futures_util::stream::iter(pieces));
    }
    let failing = peer.failing_models.lock().unwrap().iter().find(|(model, _)| body["model"] == *model).map(|f| f.1);
    let (status, events) = match failing {
        Some(status) => (status, vec![]),
        None => script(anthropic, &body),
    };
    if status != 200 {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .json(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));
    }
    let pieces = |events: &[String]| -> Vec<Result<actix_web::web::Bytes, actix_web::Error>> {
        let bytes = events.concat().into_bytes();
        bytes.chunks(7).map(|c| Ok(actix_web::web::Bytes::copy_from_slice(c))).collect()
    };
    if last_user_text(anthropic, &body).contains("gated") {
        let gate = events.iter().position(|e| e.contains(r#""from ""#)).map_or(events.len() / 2, |i| i + 1);
        let (head, tail) = events.split_at(gate);
        let (head, tail) = (pieces(head), pieces(tail));
        let mut opened = peer.gate.subscribe();
        let held = HeldAtGate { gate: peer.gate.subscribe(), dropped: Arc::clone(&peer.gated_dropped) };
        // SSE comments while the gate is shut: actix notices a client that hung up only when a write fails.
        let pings = futures_util::stream::unfold(held, |held| async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            Some((Ok(actix_web::web::Bytes::from_static(b": ping\n\n")), held))
        });
        let released = async move {
            let _ = opened.wait_for(|open| *open).await;
        };
        let gated =
            futures_util::stream::iter(head).chain(pings.take_until(released)).chain(futures_util::stream::iter(tail));
        return HttpResponse::Ok().content_type("text/event-stream").streaming(gated);
    }
    let stream = futures_util::stream::iter(pieces(&events));
    if last_user_text(anthropic, &body).contains("stall") {
        // Some text, then silence with the connection open.
        let stalled = futures_util::StreamExt::chain(stream, futures_util::stream::pending());
        return HttpResponse::Ok().content_type("text/event-stream").streaming(stalled);
    }
    HttpResponse::Ok().content_type("text/event-stream").streaming(stream)
}

/// Lives while a `gated` reply waits at its gate: dropped with the response when the client hangs up.
struct HeldAtGate {
    gate: tokio::sync::watch::Receiver<bool>,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for HeldAtGate {
    fn drop(&mut self) {
        if !*self.gate.borrow() {
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl LlmPeer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let peer = LlmPeer { base, accepted: Arc::new(Mutex::new(vec![GOOD_KEY.to_owned()])), ..Default::default() };
        let data = web::Data::new(peer.clone());
        super::serve(listener, move |cfg| {
            cfg.app_data(data.clone())
                .route("/v1/models", web::get().to(models))
                .route("/v1/messages", web::post().to(stream_reply))
                .route("/v1/responses", web::post().to(stream_reply));
        });
        peer
    }

    /// Accepts one more key (e.g. a marker secret).
    pub fn accept(&self, key: &str) {
        self.accepted.lock().unwrap().push(key.to_owned());
    }

    /// How many `gated` replies the client hung up on before `release`.
    pub fn gated_dropped(&self) -> usize {
        self.gated_dropped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sends the rest of every `gated` reply, now and from now on.
    pub fn release(&self) {
        self.gate.send_replace(true);
    }

    /// Answers every request with this status until cleared.
    pub fn fail_with(&self, status: Option<u16>) {
        *self.failing_status.lock().unwrap() = status;
    }

    /// Answers every streaming call for `model_id` with `status` (list-models still works, so the
    /// session's probe passes).
    pub fn fail_model(&self, model_id: &str, status: u16) {
        self.failing_models.lock().unwrap().push((model_id.to_owned(), status));
    }

    /// Answers the next streaming call with exactly these bytes, sent as these pieces.
    pub fn answer_raw(&self, pieces: Vec<Vec<u8>>) {
        self.raw.lock().unwrap().push_back(pieces);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The body of the last streaming model call.
    pub fn last_call(&self) -> serde_json::Value {
        self.seen.lock().unwrap().iter().rev().find_map(|s| s.body.clone()).unwrap()
    }
}
