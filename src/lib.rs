//! augchatd: a multi-tenant chat daemon for tool-augmented LLMs.
//!
//! `Application::build(config, listener)` boots the daemon on an already bound listener, so `main`
//! and the integration tests start exactly the same server (tests bind `127.0.0.1:0`).
//!
//! # Layout
//! - [`config`]: environment + TOML, validated once; the only reader of the environment.
//! - [`logging`]: stderr `tracing` subscriber (text or JSON).
//! - [`http`]: routes, `AppState`, auth extractors, `ApiError`.
//! - [`provision`]: validation of session bodies into the actor crate's `SessionSpec`.
//! - [`probes`]: the S3 write probe and LLM credential probe every session must pass.
//! - [`demo`]: the demo session template (file, `DEMO_*` variables, or the built-in offline model).
//! - [`chat`]: one chat turn: the tool-use loop, the browser stream, persistence of the turn.
//! - [`stream`]: the AI SDK UI message stream v1 encoder.
//! - [`tools`]: what the model can call: MCP servers and OpenSearch retrieval, per session.
//! - [`trace`]: the optional per-conversation JSONL trace.
//! - [`audit`]: the optional audit log, one content-free JSON line per security-relevant event.
//! - [`metrics`]: the `/metrics` instruments and the Prometheus text format.
//! - [`shutdown`]: SIGTERM/SIGINT, ending chat streams after their grace, the final flush to cold storage.
//! - [`jwt`]: HS256 browser tokens.
//! - [`llm`]: the provider adapters (Anthropic Messages, OpenAI Responses), list-models, the offline model.
//! - [`cold`]: the integrator's S3 bucket.
//! - [`sse_events`]: upstream SSE bodies parsed into events, in linear time, bounded, allocation-free per event.
//! - Actors (sessions, per-user SQLite writers, their supervision) live in the `augchatd-actors` crate.

pub mod audit;
pub mod chat;
pub mod cold;
pub mod config;
pub mod demo;
pub mod http;
pub mod jwt;
pub mod llm;
pub mod logging;
pub mod metrics;
pub mod probes;
pub mod provision;
pub mod shutdown;
pub mod sse_events;
pub mod stream;
pub mod tools;
pub mod trace;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix::Arbiter;
use actix_web::dev::{Server, Service};
use actix_web::{App, HttpServer, web};
use augchatd_actors::audit::{Audit, AuditSink};
use augchatd_actors::flusher::{FlushSettings, Flushers};
use augchatd_actors::session::SessionRegistry;
use augchatd_actors::supervisor::Health;
use augchatd_actors::user_db::UserDbs;

use crate::config::{Config, ConfigError, Mode};
use crate::demo::{DemoSource, DemoTemplate};
use crate::http::AppState;
use crate::jwt::JwtKeys;
use crate::llm::ProviderBases;

/// Connect deadline for every upstream (LLM, S3, MCP, OpenSearch); request deadlines are per call.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the stopping daemon waits for the audit log to be written out.
const AUDIT_SYNC_TIMEOUT: Duration = Duration::from_secs(5);

/// A booted daemon, listening, not yet serving until its server is awaited.
pub struct Application {
    port: u16,
    server: Server,
    banner: Vec<String>,
    flushers: Flushers,
    draining: shutdown::Draining,
    metrics: Arc<metrics::Metrics>,
    shutdown_flush: Duration,
    audit_log: Option<Arc<audit::AuditLog>>,
    _sessions_arbiter: Arbiter,
}

impl Application {
    /// Validates what the config points at (TLS files, demo session, probes), then calls `bind` and
    /// builds the server on the listener it returns, so a config error is reported even when the port
    /// is taken. Tests bind `127.0.0.1:0`. Must run inside an actix system.
    pub async fn build(
        config: Config,
        bind: impl FnOnce(SocketAddr) -> std::io::Result<TcpListener>,
    ) -> Result<Self, ConfigError> {
        // One crypto provider for the whole process; a second call (tests) finds it installed.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let traces = trace::TraceDir::open(config.trace_dir.as_deref()).map_err(|e| {
            let dir = config.trace_dir.as_deref().unwrap_or(std::path::Path::new("")).display();
            // SPEC §7.3's wording; the OS error says whether creating or writing failed.
            ConfigError(format!("AUGCHATD_TRACE_DIR could not be created at '{dir}': {e}"))
        })?;
        let audit_log = config
            .audit_log
            .as_ref()
            .map(|target| {
                audit::AuditLog::open(target).map_err(|e| {
                    let shown = match target {
                        audit::AuditTarget::File(path) => path.display().to_string(),
                        audit::AuditTarget::Stderr => "stderr".to_owned(),
                    };
                    ConfigError(format!("AUGCHATD_AUDIT_LOG: cannot append to '{shown}': {e}"))
                })
            })
            .transpose()?;
        let audit = audit_log.clone().map_or_else(Audit::default, |log| Audit::to(log as Arc<dyn AuditSink>));
        let http = upstream_client().map_err(|e| ConfigError(format!("HTTP client could not be built: {e}")))?;
        let bases = ProviderBases {
            anthropic: config.anthropic_base_url.clone(),
            openai: config.openai_base_url.clone(),
            stall: config.llm_stall_timeout,
        };
        let demo = match config.mode {
            Mode::Prod => None,
            Mode::Demo => {
                let template = demo::load(&config.demo)?;
                demo::probe(&template, &http, &bases).await?;
                Some(template)
            }
        };
        let jwt = match &config.jwt_secret {
            Some(secret) => JwtKeys::from_secret(secret.expose().as_bytes()),
            None => {
                tracing::warn!(
                    "AUGCHATD_JWT_SECRET is not set: using a random key, so a restart invalidates every JWT"
                );
                JwtKeys::random()
            }
        };
        let tls = config.tls.as_ref().map(|files| http::tls::server_config(files, &audit)).transpose()?;

        let listener =
            bind(config.listen).map_err(|e| ConfigError(format!("cannot listen on {}: {e}", config.listen)))?;
        let port = listener.local_addr().map_err(|e| ConfigError(format!("listener has no address: {e}")))?.port();
        let health = Arc::new(Health::default());
        let sessions_arbiter = Arbiter::new();
        let user_dbs = UserDbs::reporting_to(config.data_dir.clone(), Arc::clone(&health));
        // Idle sessions send nothing, so their users' writer threads are closed by a periodic sweep.
        sessions_arbiter.spawn(user_dbs.clone().retire_idle_forever());
        let flush_settings = FlushSettings { idle: config.flush_idle, stalled: config.flush_stalled };
        let mut flushers =
            Flushers::new(flush_settings, user_dbs.clone(), sessions_arbiter.handle(), Arc::clone(&health))
                .auditing_to(audit.clone());
        if traces.is_on() {
            flushers = flushers.tracing_flushes_to(Arc::new(traces.clone()));
        }
        let registry = SessionRegistry::new(Arc::clone(&health), Some(flushers.clone())).auditing_to(audit.clone());
        let banner = banner(&config, port, demo.as_ref());
        let mcp = tools::pool::McpPool::default();
        let draining = shutdown::Draining::default();
        let metrics = Arc::new(metrics::Metrics::default());
        let state = web::Data::new(AppState {
            mode: config.mode,
            registry: registry.clone(),
            user_dbs,
            flushers: flushers.clone(),
            jwt,
            http,
            bases,
            probes: Default::default(),
            sessions_arbiter: sessions_arbiter.handle(),
            demo,
            model_cache: Default::default(),
            ui_dir: config.ui_dir.clone(),
            csp: http::static_ui::csp(&config.allowed_parent_origins),
            traces,
            tool_timeout: config.tool_timeout,
            mcp: mcp.clone(),
            turns: Default::default(),
            live: crate::chat::live::LiveTurns::new(config.resume_window),
            streams: Default::default(),
            max_streams_per_session: config.max_streams_per_session,
            slow_client: config.slow_client_timeout,
            metrics: Arc::clone(&metrics),
            metrics_token: config.metrics_token.clone(),
            draining: draining.clone(),
            audit,
        });
        sessions_arbiter.spawn(log_health(registry, mcp, config.health_log_interval));

        let integrator_trust = web::Data::new(http::tls::IntegratorTrust {
            tenant_from: config.tenant_from,
            proxies: config.trusted_proxies.clone(),
            verifier: config
                .tls
                .as_ref()
                .and_then(|files| files.client_ca.as_deref())
                .map(http::tls::client_verifier)
                .transpose()?,
        });
        let mode = config.mode;
        let counted = Arc::clone(&metrics);
        let server = HttpServer::new(move || {
            // This closure runs on each worker thread as it starts.
            llm::prepare_worker_client();
            let counted = Arc::clone(&counted);
            App::new()
                .app_data(state.clone())
                .app_data(integrator_trust.clone())
                .configure(http::routes(mode))
                // Requests in flight, so a stopping server knows when only idle connections are left.
                .wrap_fn(move |req, service| {
                    let held = counted.request_started();
                    let response = service.call(req);
                    async move {
                        let response = response.await;
                        drop(held);
                        response
                    }
                })
                .wrap(actix_web::middleware::from_fn(http::limits::header_limit))
        })
        // For a graceful stop through the server's handle (tests); `run_until` does its own.
        .shutdown_timeout(shutdown::SHUTDOWN_GRACE.as_secs())
        // `run_until` handles SIGTERM and SIGINT itself: both stop gracefully (actix's own handler
        // stops at once on SIGINT), and the final flush must run after the server has stopped.
        .disable_signals()
        // The chat stream is many small writes paced by the model; with Nagle on, a write waits for the
        // client's (delayed) ACK of the previous one, up to 40 ms per token (benches/chat.rs measured it).
        .tcp_nodelay(true)
        .on_connect(http::tls::on_connect);
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        }
        .map_err(|e| ConfigError(format!("cannot serve on port {port}: {e}")))?
        .run();
        Ok(Self {
            port,
            server,
            banner,
            flushers,
            draining,
            metrics,
            shutdown_flush: config.shutdown_flush,
            audit_log,
            _sessions_arbiter: sessions_arbiter,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The stdout boot banner (SPEC §9.3), one entry per line.
    pub fn banner(&self) -> &[String] {
        &self.banner
    }

    /// Serves until SIGTERM or SIGINT, then shuts down as `run_until` does.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let signals = shutdown::signals()?;
        self.run_until(signals).await
    }

    /// Serves until `stop` resolves (with the name of what stopped it), then shuts down gracefully:
    /// no new connections, running requests and chat streams get their grace (`shutdown::stop_serving`),
    /// then every dirty conversation is flushed to cold storage within `AUGCHATD_SHUTDOWN_FLUSH_MS`.
    /// Also flushes when the server stops another way.
    pub async fn run_until(self, stop: impl Future<Output = &'static str>) -> std::io::Result<()> {
        let Self { server, flushers, draining, metrics, shutdown_flush, audit_log, _sessions_arbiter: arbiter, .. } =
            self;
        let handle = server.handle();
        tokio::pin!(server);
        let result = tokio::select! {
            result = &mut server => result,
            signal = stop => {
                tracing::info!(signal, grace_ms = shutdown::SHUTDOWN_GRACE.as_millis() as u64,
                    "shutdown: no longer accepting connections, waiting for running requests");
                shutdown::stop_serving(server, &handle, &draining, &metrics).await
            }
        };
        shutdown::flush_all(&flushers, shutdown_flush).await;
        if let Some(log) = audit_log {
            log.sync(AUDIT_SYNC_TIMEOUT).await;
        }
        arbiter.stop();
        result
    }

    /// Splits off the server, e.g. to spawn it in a test and keep its handle.
    pub fn into_server(self) -> Server {
        self.server
    }
}

/// An outbound client with the daemon's settings: the shared one in `AppState`, and the per-worker model
/// clients of `llm::worker_client`.
pub(crate) fn upstream_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(UPSTREAM_CONNECT_TIMEOUT)
        // A connection per request in flight, as the providers' own SDKs do. Over HTTP/2 (which TLS
        // providers offer) every model stream and MCP event stream of a worker would share one
        // connection, and past the server's cap on concurrent streams (about a hundred at an edge) the
        // next turn waits, silently, for another to end (tests/api/upstream_http.rs).
        .http1_only()
        // No upstream we call redirects, and a redirect would carry credentials that reqwest does not
        // strip (x-api-key, MCP `auth.headers`) to whatever host it names.
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

fn banner(config: &Config, port: u16, demo: Option<&DemoTemplate>) -> Vec<String> {
    let mut lines = vec![format!("augchatd up on :{port} (mode={})", config.mode.as_str())];
    if let Some(demo) = demo {
        let spec = &demo.spec;
        let host = if config.listen.ip().is_loopback() || config.listen.ip().is_unspecified() {
            "localhost".to_owned()
        } else {
            config.listen.ip().to_string()
        };
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        lines.push(format!("  demo: open {scheme}://{host}:{port}/demo/"));
        lines.push(format!("  demo: ttl_seconds={}", demo.ttl_seconds));
        lines.push(format!("  demo: model={}/{}", spec.model.provider.as_str(), spec.model.model_id));
        lines.push(format!("  demo: cold storage={}", if spec.storage.is_some() { "configured" } else { "hot-only" }));
        lines.push(format!("  demo: theme={}", spec.theme.as_str()));
        if demo.source == DemoSource::Builtin {
            lines.push("  demo: built-in offline model (no provider configured; see README to add one)".to_owned());
        }
    }
    if let Some(dir) = &config.trace_dir {
        lines.push(format!("  trace: appending per-conversation JSONL to {}", dir.display()));
    }
    lines
}

/// The periodic health summary SREs read in stderr; expired sessions' MCP clients are dropped on the
/// same tick.
async fn log_health(registry: SessionRegistry, mcp: tools::pool::McpPool, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        mcp.prune_expired();
        let counters = registry.health().snapshot();
        tracing::info!(
            sessions = registry.live_sessions(),
            users = registry.live_users(),
            minted = counters.sessions_minted,
            ended = counters.sessions_ended,
            expired = counters.sessions_expired,
            actor_restarts = counters.actor_restarts,
            mcp_sessions = mcp.sessions(),
            "health summary"
        );
    }
}
