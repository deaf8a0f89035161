//! What `GET /metrics` reports: the daemon-side instruments (`Metrics`: chat streams, upstream model
//! latency) and the scrape that reads them together with the actors' own counters (`Health`, the
//! registry, the writers, the flushers) into the Prometheus text format.
//! Invariant: recording is lock-free (atomics only) and happens once per turn or model call, never per
//! token; the locks a scrape takes (registry, writer and flusher maps) are the ones every mint takes.
//!
//! # Layout
//! - `text`: the exposition format writer.

pub mod text;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use augchatd_actors::flusher::Flushers;
use augchatd_actors::metrics::{Gauge, Held, Histogram};
use augchatd_actors::record::Provider;
use augchatd_actors::session::SessionRegistry;
use augchatd_actors::supervisor::ActorKind;
use augchatd_actors::user_db::UserDbs;

use text::Exposition;

/// Bucket bounds for the time a provider takes to answer with response headers, in seconds: a
/// healthy API answers in tens to hundreds of milliseconds, an overloaded one in seconds.
const UPSTREAM_BUCKETS: &[f64] = &[0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The daemon-side instruments, shared by every worker.
#[derive(Debug)]
pub struct Metrics {
    requests_in_flight: Gauge,
    streams_open: Gauge,
    streams_started: AtomicU64,
    upstream_anthropic: Histogram,
    upstream_openai: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests_in_flight: Gauge::default(),
            streams_open: Gauge::default(),
            streams_started: AtomicU64::new(0),
            upstream_anthropic: Histogram::new(UPSTREAM_BUCKETS),
            upstream_openai: Histogram::new(UPSTREAM_BUCKETS),
        }
    }
}

impl Metrics {
    /// Counts a request whose handler is running (a streamed body counts through `stream_started`).
    pub fn request_started(&self) -> Held {
        self.requests_in_flight.hold()
    }

    /// True when no handler runs and no chat stream is open: a stopping server may close what is
    /// left (idle keep-alive connections) without cutting anyone off.
    pub fn is_idle(&self) -> bool {
        self.requests_in_flight.get() == 0 && self.streams_open.get() == 0
    }

    /// Counts a chat stream that starts now; it counts as open until the returned guard drops.
    pub fn stream_started(&self) -> Held {
        self.streams_started.fetch_add(1, Ordering::Relaxed);
        self.streams_open.hold()
    }

    /// Records how long `provider` took to answer a model call with response headers. The offline demo
    /// model has no upstream and is not recorded.
    pub fn upstream_answered(&self, provider: Provider, elapsed: Duration) {
        if let Some(histogram) = self.upstream(provider) {
            histogram.observe(elapsed);
        }
    }

    fn upstream(&self, provider: Provider) -> Option<&Histogram> {
        match provider {
            Provider::Anthropic => Some(&self.upstream_anthropic),
            Provider::OpenAi => Some(&self.upstream_openai),
            Provider::Offline => None,
        }
    }
}

/// Everything a scrape reads.
pub struct Sources<'a> {
    /// The daemon-side instruments.
    pub metrics: &'a Metrics,
    /// Live sessions and the shared `Health` counters.
    pub registry: &'a SessionRegistry,
    /// The per-user writers.
    pub user_dbs: &'a UserDbs,
    /// The flushers and each user's read-only state.
    pub flushers: &'a Flushers,
}

/// One scrape, in the text exposition format.
pub fn render(sources: &Sources<'_>) -> String {
    let Sources { metrics, registry, user_dbs, flushers } = sources;
    let health = registry.health();
    let counters = health.snapshot();
    let mut out = Exposition::default();

    out.gauge("augchatd_sessions", "Live sessions.", registry.live_sessions() as u64);
    out.gauge("augchatd_users", "Users with at least one live session.", registry.live_users() as u64);
    out.counter("augchatd_sessions_minted_total", "Sessions minted since boot.", counters.sessions_minted);
    out.counters(
        "augchatd_sessions_ended_total",
        "Sessions ended since boot, by reason.",
        &[(&[("reason", "deleted")], counters.sessions_ended), (&[("reason", "expired")], counters.sessions_expired)],
    );

    // Flusher states are exclusive: flushing (upload in flight), backing_off (waiting to retry after a
    // failure) and idle (the rest, clean or waiting for the idle timer).
    let flushers_running = flushers.live_flushers() as u64;
    let flushing = health.flushes_in_flight.get();
    let backing_off = health.flushers_backing_off.get();
    let flushers_idle = flushers_running.saturating_sub(flushing).saturating_sub(backing_off);
    out.gauges(
        "augchatd_actors",
        "Live actors by kind and state.",
        &[
            (&[("kind", "session"), ("state", "running")], registry.live_sessions() as u64),
            (&[("kind", "user_db"), ("state", "running")], user_dbs.live_writers() as u64),
            (&[("kind", "flusher"), ("state", "idle")], flushers_idle),
            (&[("kind", "flusher"), ("state", "flushing")], flushing),
            (&[("kind", "flusher"), ("state", "backing_off")], backing_off),
        ],
    );
    let kind_labels = ActorKind::ALL.map(|kind| [("kind", kind.as_str())]);
    let restart_samples: Vec<(text::Labels<'_>, u64)> =
        kind_labels.iter().zip(ActorKind::ALL).map(|(labels, kind)| (&labels[..], health.restarts_of(kind))).collect();
    out.counters("augchatd_actor_restarts_total", "Actor restarts after a contained panic.", &restart_samples);

    out.counter(
        "augchatd_flush_attempts_total",
        "Uploads of a conversation to cold storage that finished, failed ones included.",
        counters.flush_attempts,
    );
    out.counter("augchatd_flush_failures_total", "Uploads to cold storage that failed.", counters.flush_failures);
    out.histograms(
        "augchatd_flush_duration_seconds",
        "Time one upload to cold storage took, failed ones included.",
        &[(&[], health.flush_latency())],
    );
    out.gauge(
        "augchatd_read_only_users",
        "Users refused writes because their flushes have failed past AUGCHATD_FLUSH_STALLED_MS.",
        flushers.read_only_users() as u64,
    );

    // The scrape itself is one of them.
    out.gauge(
        "augchatd_http_requests_in_flight",
        "Requests whose handler is running.",
        metrics.requests_in_flight.get(),
    );
    out.gauge("augchatd_chat_streams_open", "Chat streams running now.", metrics.streams_open.get());
    out.counter(
        "augchatd_chat_streams_started_total",
        "Chat streams started since boot.",
        metrics.streams_started.load(Ordering::Relaxed),
    );
    out.histograms(
        "augchatd_upstream_response_seconds",
        "Time from sending a model call to the provider's successful response headers, by provider.",
        &[
            (&[("provider", "anthropic")], metrics.upstream_anthropic.snapshot()),
            (&[("provider", "openai")], metrics.upstream_openai.snapshot()),
        ],
    );
    out.finish()
}
