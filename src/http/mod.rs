//! The HTTP layer: routes, the shared `AppState`, and the extractors that authenticate callers.
//! Invariant: handlers validate input into typed values and hand work to actors or adapters; they
//! never touch SQLite or S3 directly, and every failure leaves through `ApiError`.
//!
//! # Layout
//! - `sessions`: `POST /sessions`, `DELETE /sessions/:id` (mTLS) and session minting.
//! - `data_subject`: `POST /users/:user_id/export` and `…/erase` (mTLS), for data-subject requests.
//! - `demo`: the demo wrapper page and demo session routes.
//! - `conversations`: conversation list, create, delete and history (JWT).
//! - `connectors`: per-conversation connector toggles and the model override (JWT).
//! - `chat`: `POST /chat`, the streamed turn (JWT).
//! - `turn`: `GET /chat/:cid/stream` and `POST /chat/:cid/stop`, a running turn reached again (JWT).
//! - `hydrate`: reading conversations back from cold storage.
//! - `models`: `GET /session/models`.
//! - `health`: `GET /healthz`; `openapi`: `GET /openapi.json`, the document of every route in `ROUTES`.
//! - `metrics`: `GET /metrics` (Prometheus text, optional bearer token).
//! - `static_ui`: the bundled UI and the fallback for unknown paths.
//! - `auth`: the JWT extractor; `tls`: optional client auth and the tenant extractor (direct, or forwarded
//!   by a trusted proxy); `routing`: the scale-out routing key and its header check.
//! - `body`: size-limited JSON bodies; `error`: `ApiError`.

pub mod auth;
pub mod body;
pub mod chat;
pub mod connectors;
pub mod conversations;
pub mod data_subject;
pub mod demo;
pub mod error;
pub mod health;
pub mod hydrate;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod openapi;
pub mod routing;
pub mod sessions;
pub mod static_ui;
pub mod tls;
pub mod turn;

use std::path::PathBuf;

use actix::ArbiterHandle;
use actix_web::http::Method;
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
    /// Probes of `POST /sessions` that passed lately.
    pub probes: crate::probes::Passed,
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
    /// Each conversation's latest turn, for resume and stop.
    pub live: crate::chat::live::LiveTurns,
    /// Streams open per session, and how many one may hold.
    pub streams: crate::chat::SessionStreams,
    pub max_streams_per_session: usize,
    /// Bound on a client sending its body.
    pub slow_client: std::time::Duration,
    /// The daemon-side `/metrics` instruments.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// The bearer token `/metrics` demands (`AUGCHATD_METRICS_TOKEN`); `None`: open.
    pub metrics_token: Option<augchatd_actors::secret::Secret>,
    /// Set when the shutdown grace for chat streams has run out: running turns end and store.
    pub draining: crate::shutdown::Draining,
    /// The audit log (off unless `AUGCHATD_AUDIT_LOG` is set).
    pub audit: augchatd_actors::audit::Audit,
}

/// A resource for `path` whose other methods answer 405 with `Allow: <allowed>`.
fn resource(path: &str, allowed: &[Verb]) -> actix_web::Resource {
    let allow: Vec<&str> = allowed.iter().map(|verb| verb.name()).collect();
    let allow = allow.join(", ");
    web::resource(path).default_service(web::to(move || {
        let error = ApiError::MethodNotAllowed(allow.clone());
        async move { Err::<actix_web::HttpResponse, _>(error) }
    }))
}

/// The HTTP methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

impl Verb {
    /// The method as actix matches it.
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Delete => Method::DELETE,
        }
    }

    /// The method's name, as an `Allow` header lists it.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    /// The lowercase name an OpenAPI path item uses for it.
    pub fn openapi_key(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Put => "put",
            Verb::Delete => "delete",
        }
    }
}

/// Which modes mount a route (SPEC §2.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mounted {
    /// Production and demo.
    Always,
    /// Production only: the integrator API.
    Prod,
    /// Demo only.
    Demo,
}

impl Mounted {
    /// True when `mode` mounts the route.
    pub fn in_mode(self, mode: Mode) -> bool {
        match self {
            Mounted::Always => true,
            Mounted::Prod => mode == Mode::Prod,
            Mounted::Demo => mode == Mode::Demo,
        }
    }
}

/// The handler behind a route; `Route::to` binds it.
#[derive(Clone, Copy, Debug)]
enum Handler {
    Healthz,
    OpenApi,
    Metrics,
    SessionModels,
    ListConversations,
    CreateConversation,
    DeleteConversation,
    Messages,
    ListConnectors,
    SetConnectorActive,
    SetModel,
    Chat,
    ResumeStream,
    StopTurn,
    CreateSession,
    DeleteSession,
    ExportUser,
    EraseUser,
    DemoSession,
    DemoJwt,
    DemoWrapper,
}

/// One row of the route table: what `routes()` mounts and what `openapi/openapi.json` must describe.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The method.
    pub verb: Verb,
    /// The actix path pattern (`{name}` segments, `{name:regex}` for a tail).
    pub path: &'static str,
    /// The modes that mount it.
    pub mounted: Mounted,
    handler: Handler,
}

impl Route {
    const fn new(verb: Verb, path: &'static str, mounted: Mounted, handler: Handler) -> Self {
        Self { verb, path, mounted, handler }
    }

    /// The path as an OpenAPI template: `{name:regex}` becomes `{name}`.
    pub fn openapi_path(&self) -> String {
        let mut out = String::with_capacity(self.path.len());
        let mut in_regex = false;
        for c in self.path.chars() {
            match c {
                ':' if !in_regex && out.rfind('{') > out.rfind('}') => in_regex = true,
                '}' => {
                    in_regex = false;
                    out.push(c);
                }
                _ if in_regex => {}
                _ => out.push(c),
            }
        }
        out
    }

    fn to(self) -> actix_web::Route {
        let route = web::method(self.verb.method());
        match self.handler {
            Handler::Healthz => route.to(health::healthz),
            Handler::OpenApi => route.to(openapi::document),
            Handler::Metrics => route.to(metrics::scrape),
            Handler::SessionModels => route.to(models::list),
            Handler::ListConversations => route.to(conversations::list),
            Handler::CreateConversation => route.to(conversations::create),
            Handler::DeleteConversation => route.to(conversations::delete),
            Handler::Messages => route.to(conversations::messages),
            Handler::ListConnectors => route.to(connectors::list),
            Handler::SetConnectorActive => route.to(connectors::set_active),
            Handler::SetModel => route.to(connectors::set_model),
            Handler::Chat => route.to(chat::chat),
            Handler::ResumeStream => route.to(turn::resume),
            Handler::StopTurn => route.to(turn::stop),
            Handler::CreateSession => route.to(sessions::create),
            Handler::DeleteSession => route.to(sessions::delete),
            Handler::ExportUser => route.to(|who, req, state, path, body| {
                data_subject::handle(data_subject::Request::Export, who, req, state, path, body)
            }),
            Handler::EraseUser => route.to(|who, req, state, path, body| {
                data_subject::handle(data_subject::Request::Erase, who, req, state, path, body)
            }),
            Handler::DemoSession => route.to(demo::create_session),
            Handler::DemoJwt => route.to(demo::jwt),
            Handler::DemoWrapper => route.to(demo::wrapper),
        }
    }
}

/// Every route the daemon answers, in matching order (a `{tail:.*}` pattern comes after the paths it
/// would swallow). `POST /chat` is first: it carries every turn, and each pattern with a variable tried
/// before it is a regex match on the way to the first token (at one stream, routing it fell from 40 to
/// 25 µs p50 when it moved up from behind five of them). Anything else falls through to
/// `static_ui::fallback`. The OpenAPI test compares this table with `openapi/openapi.json`, so a route
/// added here without its document fails the tests.
pub const ROUTES: &[Route] = {
    use Handler as H;
    use Mounted::{Always, Demo, Prod};
    use Verb::{Delete, Get, Post, Put};
    &[
        Route::new(Post, "/chat", Always, H::Chat),
        Route::new(Get, "/healthz", Always, H::Healthz),
        Route::new(Get, "/openapi.json", Always, H::OpenApi),
        Route::new(Get, "/metrics", Always, H::Metrics),
        Route::new(Get, "/session/models", Always, H::SessionModels),
        Route::new(Get, "/conversations", Always, H::ListConversations),
        Route::new(Post, "/conversations", Always, H::CreateConversation),
        Route::new(Delete, "/conversations/{cid}", Always, H::DeleteConversation),
        Route::new(Get, "/conversations/{cid}/messages", Always, H::Messages),
        Route::new(Get, "/conversations/{cid}/connectors", Always, H::ListConnectors),
        Route::new(Put, "/conversations/{cid}/connectors/{did}", Always, H::SetConnectorActive),
        Route::new(Put, "/conversations/{cid}/model", Always, H::SetModel),
        Route::new(Get, "/chat/{cid}/stream", Always, H::ResumeStream),
        Route::new(Post, "/chat/{cid}/stop", Always, H::StopTurn),
        Route::new(Post, "/sessions", Prod, H::CreateSession),
        Route::new(Delete, "/sessions/{session_id}", Prod, H::DeleteSession),
        Route::new(Post, "/users/{user_id}/export", Prod, H::ExportUser),
        Route::new(Post, "/users/{user_id}/erase", Prod, H::EraseUser),
        Route::new(Post, "/demo/sessions", Demo, H::DemoSession),
        Route::new(Get, "/demo/jwt", Demo, H::DemoJwt),
        Route::new(Get, "/demo", Demo, H::DemoWrapper),
        Route::new(Get, "/demo/{tail:.*}", Demo, H::DemoWrapper),
    ]
};

/// Mounts every route of `mode` from `ROUTES`: one resource per path, so a known path called with
/// another method answers 405.
pub fn routes(mode: Mode) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let mounted: Vec<&Route> = ROUTES.iter().filter(|r| r.mounted.in_mode(mode)).collect();
        let mut paths: Vec<&str> = Vec::new();
        for route in &mounted {
            if !paths.contains(&route.path) {
                paths.push(route.path);
            }
        }
        for path in paths {
            let here: Vec<&Route> = mounted.iter().copied().filter(|r| r.path == path).collect();
            let verbs: Vec<Verb> = here.iter().map(|r| r.verb).collect();
            cfg.service(here.iter().fold(resource(path, &verbs), |resource, r| resource.route(r.to())));
        }
        cfg.default_service(web::to(static_ui::fallback));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_paths_drop_the_regex_of_a_segment() {
        let tail = ROUTES.iter().find(|r| r.path == "/demo/{tail:.*}").map(Route::openapi_path);
        assert_eq!(tail.as_deref(), Some("/demo/{tail}"));
        let toggle = Route::new(Verb::Put, "/conversations/{cid}/connectors/{did}", Mounted::Always, Handler::Chat);
        assert_eq!(toggle.openapi_path(), "/conversations/{cid}/connectors/{did}");
    }
}
