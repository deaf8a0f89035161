//! A scripted LLM provider on 127.0.0.1:0 speaking the real list-models wire formats:
//! Anthropic `GET /v1/models` (`x-api-key`, `anthropic-version`) and OpenAI `GET /v1/models` (Bearer).
//! It records every request's path and credential header so tests can assert what was sent.

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

impl LlmPeer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let peer = LlmPeer { base, accepted: Arc::new(Mutex::new(vec![GOOD_KEY.to_owned()])), ..Default::default() };
        let data = web::Data::new(peer.clone());
        let server =
            HttpServer::new(move || App::new().app_data(data.clone()).route("/v1/models", web::get().to(models)))
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
}
