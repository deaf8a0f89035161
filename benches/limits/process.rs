//! The daemon as operators run it: the release binary in production mode (TLS, client CA, info logs to
//! a file), as its own process, so its RSS and CPU are its own.
//!
//! # Method
//! - **Idle RSS**: VmRSS of the daemon 1 s after it accepts connections, before any request.
//! - **`POST /sessions` per second**: `MINT_CLIENTS` integrator tasks (mTLS) mint back to back for
//!   distinct users until `SESSIONS` sessions exist, reading each answer whole: first over HTTP/1.1 (a kept-alive
//!   connection each), then for `SESSIONS` more users over HTTP/2 (one connection, as a pooling client
//!   keeps, so one daemon worker serves it). Both probes run against
//!   peers in this process on loopback: the S3 write probe against a SigV4 S3 server (s3s-fs, the test
//!   suite's), the LLM key probe against the scripted model. The rate is sessions over wall time; the
//!   daemon's CPU per mint (`/proc/<pid>/stat`) is reported too, and so is this process's (the client
//!   and the peers), because they share the same cores.
//! - **RSS per idle session**: once every session is minted and the per-user writers of these idle users
//!   have been retired (`augchatd_actors{kind="user_db"}` on `GET /metrics` back to 0, at most
//!   `SETTLE`), (VmRSS − idle VmRSS) / sessions, measured between the two runs of mints. The sessions
//!   stay live (TTL one hour) while measured.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::child::spawn_daemon;
use crate::common::rss_kb_of;
use crate::pki::Pki;
use crate::s3_peer::{BUCKET, S3_KEY_ID, S3_SECRET, S3Peer};

/// Live sessions to reach, one user each.
const SESSIONS: usize = 10_000;
/// Integrator connections minting at once.
const MINT_CLIENTS: usize = 16;
/// How long to wait for idle writers to be retired.
const SETTLE: Duration = Duration::from_secs(150);

/// The daemon's `augchatd_actors` gauge for `kind`, from `GET /metrics`.
async fn actors_of(client: &reqwest::Client, base: &str, kind: &str) -> Option<u64> {
    let text = client.get(format!("{base}/metrics")).send().await.ok()?.text().await.ok()?;
    let needle = format!("augchatd_actors{{kind=\"{kind}\"");
    Some(
        text.lines().filter(|l| l.starts_with(&needle)).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum(),
    )
}

/// The daemon in production mode: TLS with client auth, the scripted model, files under `dir`.
fn production_env(dir: &Path, pki: &Pki, model_base: &str) -> [(&'static str, OsString); 6] {
    [
        ("AUGCHATD_TLS_CERT", pki.server_cert.clone().into()),
        ("AUGCHATD_TLS_KEY", pki.server_key.clone().into()),
        ("AUGCHATD_CLIENT_CA", pki.client_ca.clone().into()),
        ("AUGCHATD_JWT_SECRET", crate::JWT_SECRET.into()),
        ("AUGCHATD_ANTHROPIC_BASE_URL", model_base.into()),
        ("AUGCHATD_DATA_DIR", dir.join("data").into()),
    ]
}

fn session_body(user: usize, s3: &S3Peer) -> Value {
    json!({
        "user_id": format!("user{user}"), "system_prompt": "You are a benchmark.", "ttl_seconds": 3600,
        "model": {"provider": "anthropic", "model_id": crate::MODEL, "api_key": crate::API_KEY},
        "storage": {"s3": {"endpoint": s3.endpoint(), "region": "us-east-1", "bucket": BUCKET, "prefix": "p/",
                           "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}},
    })
}

/// What one run of `SESSIONS` mints measured.
struct Minting {
    minted: usize,
    failed: usize,
    wall: Duration,
    per_second: f64,
    daemon_us_per_mint: f64,
    harness_us_per_mint: f64,
    rss_kb_after: u64,
}

impl Minting {
    fn json(&self) -> Value {
        json!({"minted": self.minted, "failed": self.failed, "clients": MINT_CLIENTS, "wall_s": self.wall.as_secs_f64(),
               "per_second": self.per_second, "daemon_cpu_us_per_mint": self.daemon_us_per_mint,
               "client_and_peers_cpu_us_per_mint": self.harness_us_per_mint, "rss_kb_right_after": self.rss_kb_after})
    }
}

/// `MINT_CLIENTS` tasks mint back to back through `integrator` for users `first..first + SESSIONS`.
async fn mint(
    base: &str,
    pid: &str,
    integrator: &reqwest::Client,
    s3: &Arc<S3Peer>,
    first: usize,
    over: &str,
) -> Minting {
    let next = Arc::new(AtomicUsize::new(first));
    let failed = Arc::new(AtomicUsize::new(0));
    let (cpu_before, harness_before) = (crate::cpu_ns_of(pid), crate::cpu_ns_of("self"));
    let started = Instant::now();
    let clients: Vec<_> = (0..MINT_CLIENTS)
        .map(|_| {
            let (integrator, next, failed, s3, url) =
                (integrator.clone(), next.clone(), failed.clone(), s3.clone(), format!("{base}/sessions"));
            tokio::spawn(async move {
                loop {
                    let user = next.fetch_add(1, Ordering::Relaxed);
                    if user >= first + SESSIONS {
                        break;
                    }
                    // The answer is read whole, as an integrator would: a client that drops it unread resets
                    // the stream, and over HTTP/2 h2's rapid-reset guard ends the connection after ~1,000 of them.
                    let outcome = match integrator.post(&url).json(&session_body(user, &s3)).send().await {
                        Ok(res) => match (res.status(), res.json::<Value>().await) {
                            (status, Ok(minted)) if status.is_success() && minted["jwt"].is_string() => continue,
                            (status, answer) => format!("{status} {answer:?}"),
                        },
                        Err(e) => format!("{e:?}"),
                    };
                    if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                        println!("  first failed mint: {outcome}");
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let wall = started.elapsed();
    let (daemon_ns, harness_ns) = (crate::cpu_ns_of(pid) - cpu_before, crate::cpu_ns_of("self") - harness_before);
    let failed = failed.load(Ordering::Relaxed);
    let minted = SESSIONS - failed;
    let per_mint_us = |ns: u64| (ns as f64 / minted.max(1) as f64 / 1e3).round();
    let run = Minting {
        minted,
        failed,
        wall,
        per_second: (minted as f64 / wall.as_secs_f64()).round(),
        daemon_us_per_mint: per_mint_us(daemon_ns),
        harness_us_per_mint: per_mint_us(harness_ns),
        rss_kb_after: rss_kb_of(pid),
    };
    println!(
        "POST /sessions over {over}: {minted} minted ({failed} failed) in {:.1} s: {}/s, CPU per mint: daemon {} µs, client and peers {} µs; RSS {} KB",
        wall.as_secs_f64(),
        run.per_second,
        run.daemon_us_per_mint,
        run.harness_us_per_mint,
        run.rss_kb_after
    );
    run
}

/// Runs the measures; returns their JSON.
pub async fn run(model_base: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::create(dir.path());
    let s3 = Arc::new(S3Peer::start(&dir.path().join("s3"), S3_KEY_ID, S3_SECRET).await);
    let (daemon, port) = spawn_daemon(dir.path(), production_env(dir.path(), &pki, model_base));
    let (pid, base) = (daemon.pid(), format!("https://127.0.0.1:{port}"));
    let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap();
    let identity = pki.integrator("bench");
    let integrator = || {
        let identity = reqwest::Identity::from_pem(identity.as_bytes()).unwrap();
        reqwest::Client::builder().tls_certs_only([ca.clone()]).identity(identity)
    };
    // HTTP/1.1: one connection per minting client. HTTP/2 (ALPN): one connection, its streams multiplexed.
    let http1_integrator = integrator().http1_only().pool_max_idle_per_host(MINT_CLIENTS).build().unwrap();
    let http2_integrator = integrator().build().unwrap();
    let metrics = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();

    let started = Instant::now();
    while metrics.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the daemon did not start: see its log");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss_kb = rss_kb_of(&pid);
    println!("idle daemon: {idle_rss_kb} KB resident");

    let http1 = mint(&base, &pid, &http1_integrator, &s3, 0, "HTTP/1.1").await;
    let minted = http1.minted;

    let settle_started = Instant::now();
    let mut writers = actors_of(&metrics, &base, "user_db").await;
    while writers != Some(0) && settle_started.elapsed() < SETTLE {
        tokio::time::sleep(Duration::from_secs(1)).await;
        writers = actors_of(&metrics, &base, "user_db").await;
    }
    let sessions_rss_kb = rss_kb_of(&pid);
    let growth = (sessions_rss_kb.saturating_sub(idle_rss_kb) as f64 / minted.max(1) as f64 * 10.0).round() / 10.0;
    println!(
        "{minted} idle sessions, {} live writers after {} s: RSS {sessions_rss_kb} KB, {growth} KB per session",
        writers.map_or_else(|| "?".to_owned(), |w| w.to_string()),
        settle_started.elapsed().as_secs()
    );
    let http2 = mint(&base, &pid, &http2_integrator, &s3, SESSIONS, "HTTP/2").await;
    json!({
        "idle_rss_kb": idle_rss_kb,
        "sessions": http1.json(),
        "sessions_http2": http2.json(),
        "idle_sessions": {"sessions": minted, "live_writers": writers, "settle_s": settle_started.elapsed().as_secs(),
                          "rss_kb": sessions_rss_kb, "rss_growth_kb_per_session": growth},
    })
}
