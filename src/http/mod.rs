//! The HTTP layer: routes, the shared `AppState`, and the extractors that authenticate callers.
//! Invariant: handlers validate input into typed values and hand work to actors or adapters; they
//! never touch SQLite or S3 directly, and every failure leaves through `ApiError`.
//!
//! # Layout
//! - `sessions`: `POST /sessions`, `DELETE /sessions/:id` (mTLS) and session minting.
//! - `demo`: the demo wrapper page and demo session routes.
//! - `conversations`: conversation list, create, delete and history (JWT).
//! - `connectors`: per-conversation connector toggles and the model override (JWT).
//! - `chat`: `POST /chat`, the streamed turn (JWT).
//! - `hydrate`: reading conversations back from cold storage.
//! - `models`: `GET /session/models`.
//! - `health`: `GET /healthz`.
//! - `metrics`: `GET /metrics` (Prometheus text, optional bearer token).
//! - `static_ui`: the bundled UI and the fallback for unknown paths.
//! - `auth`: the JWT extractor; `tls`: optional client auth and the tenant extractor.
//! - `body`: size-limited JSON bodies; `error`: `ApiError`.

pub mod auth;
pub mod body;
pub mod chat;
pub mod connectors;
pub mod conversations;
pub mod demo;
pub mod error;
pub mod health;
pub mod hydrate;
pub mod metrics;
pub mod models;
pub mod sessions;
pub mod static_ui;
pub mod tls;

use std::path::PathBuf;

use actix::ArbiterHandle;
use actix_web::web;
use augchatd_actors::flusher::Flushers;
use augchatd_actors::session::SessionRegistry;
use augchatd_actors::user_db::UserDbs;

use crate::config::Mode;
use crate::demo::DemoTemplate;
use crate::jwt::JwtKeys;
use crate::llm::ProviderBases;
use error::ApiError;

/// What every handler can reach. Built once at boot; shared by all workers.
pub struct AppState {
    /// Prod or demo.
    pub mode: Mode,
    /// The live sessions.
    pub registry: SessionRegistry,
    /// The per-user SQLite writers.
    pub user_dbs: UserDbs,
    /// The per-conversation flushers and each user's read-only state.
    pub flushers: Flushers,
    /// Signs and checks browser JWTs.
    pub jwt: JwtKeys,
    /// The shared outbound HTTP client (S3, MCP, OpenSearch, LLM probes and model lists); chat turns call
    /// the model through their worker thread's own client (`llm::worker_client`).
    pub http: reqwest::Client,
    /// Default provider API roots.
    pub bases: ProviderBases,
    /// The arbiter session actors run on.
    pub sessions_arbiter: ArbiterHandle,
    /// The demo session template (demo mode only).
    pub demo: Option<DemoTemplate>,
    /// Provider model lists per session.
    pub model_cache: models::ModelCache,
    /// Serve the UI from disk instead of the embedded copy.
    pub ui_dir: Option<PathBuf>,
    /// The UI pages' `Content-Security-Policy`.
    pub csp: String,
    /// Per-conversation JSONL traces (off unless configured).
    pub traces: crate::trace::TraceDir,
    /// Bound on one MCP connect and one tool call.
    pub tool_timeout: std::time::Duration,
    /// Each session's connected MCP servers.
    pub mcp: crate::tools::pool::McpPool,
    /// Conversations with a turn streaming right now.
    pub turns: crate::chat::ActiveTurns,
    /// The daemon-side `/metrics` instruments.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// The bearer token `/metrics` demands (`AUGCHATD_METRICS_TOKEN`); `None`: open.
    pub metrics_token: Option<augchatd_actors::secret::Secret>,
    /// Set when the shutdown grace for chat streams has run out: running turns end and store.
    pub draining: crate::shutdown::Draining,
}

/// Answers a known path called with the wrong method.
async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Mounts every route of `mode`.
pub fn routes(mode: Mode) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.service(resource("/healthz").route(web::get().to(health::healthz)))
            .service(resource("/metrics").route(web::get().to(metrics::scrape)))
            .service(resource("/session/models").route(web::get().to(models::list)))
            .service(
                resource("/conversations")
                    .route(web::get().to(conversations::list))
                    .route(web::post().to(conversations::create)),
            )
            .service(resource("/conversations/{cid}").route(web::delete().to(conversations::delete)))
            .service(resource("/conversations/{cid}/messages").route(web::get().to(conversations::messages)))
            .service(resource("/conversations/{cid}/connectors").route(web::get().to(connectors::list)))
            .service(resource("/conversations/{cid}/connectors/{did}").route(web::put().to(connectors::set_active)))
            .service(resource("/conversations/{cid}/model").route(web::put().to(connectors::set_model)))
            .service(resource("/chat").route(web::post().to(chat::chat)));
        match mode {
            Mode::Prod => {
                cfg.service(resource("/sessions").route(web::post().to(sessions::create)))
                    .service(resource("/sessions/{session_id}").route(web::delete().to(sessions::delete)));
            }
            Mode::Demo => {
                cfg.service(resource("/demo/sessions").route(web::post().to(demo::create_session)))
                    .service(resource("/demo/jwt").route(web::get().to(demo::jwt)))
                    .service(resource("/demo").route(web::get().to(demo::wrapper)))
                    .service(resource("/demo/{tail:.*}").route(web::get().to(demo::wrapper)));
            }
        }
        cfg.default_service(web::to(static_ui::fallback));
    }
}
