//! The open-streams phase (issue #7: at least 10,000 concurrent open streams on 2 cores with no stall):
//! `SLOW` replies held open at once, direct then through, with the sweep's stall rule. The daemon (the
//! release binary in demo mode with TLS, info logs to a file) and the scripted model (this bench binary
//! started with `MODEL_ROLE` set) each run as a process of their own, so each open-file limit covers one
//! side. The browser side of the through route is `H2_CONNECTIONS` HTTP/2 connections carrying every
//! stream, as an HTTP/2 proxy in front of the daemon carries its users' streams (and as one browser
//! carries its tabs'); the daemon's side to the model is a connection per stream, as it always is
//! (README, Design). So the daemon holds one socket per stream, not two, and this VM's open-file limit
//! of 20,000 leaves room for 10,000. The daemon's CPU and RSS come from `/proc/<pid>`; RSS per stream is
//! sampled halfway through the hold, like the sweep's.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use crate::child::{Killed, spawn_daemon};
use crate::common::rss_kb_of;
use crate::pki::Pki;
use crate::{FD_RESERVE, HOLD, OPEN_STREAMS, Route, SLOW, Target};

/// Set in the environment of the model's process.
pub const MODEL_ROLE: &str = "AUGCHATD_BENCH_MODEL_PROCESS";
/// HTTP/2 connections the through route's streams share.
const H2_CONNECTIONS: usize = 16;

/// A TLS client that trusts `ca_pem` and asks for HTTP/2.
fn h2_connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let mut tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(tls))
}

/// An HTTP/2 connection to the daemon over TLS.
async fn dial_h2(addr: SocketAddr, tls: &tokio_rustls::TlsConnector) -> http2::SendRequest<Full<Bytes>> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let server_name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tls.connect(server_name, tcp).await.unwrap();
    let (send, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    send
}

/// The model's process: serves the scripted model on 127.0.0.1:0, prints the port, runs until killed.
pub fn serve_model_process() {
    crate::raise_nofile();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(crate::HARNESS_THREADS)
        .thread_name("bench-llm")
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        crate::serve_model(listener).await;
    });
}

fn spawn_model() -> (Killed, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(MODEL_ROLE, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().unwrap();
    (Killed(child), SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Runs the phase; prints one line, returns its JSON.
pub async fn run(nofile: u64) -> Value {
    let wanted = std::env::var("AUGCHATD_BENCH_OPEN_STREAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(OPEN_STREAMS);
    // Each process holds one socket per stream.
    let streams = wanted.min(usize::try_from(nofile.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX));
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::create(dir.path());
    let (_model, model_addr) = spawn_model();
    let mut env = crate::demo_env(&format!("http://{model_addr}"), dir.path());
    env.insert("AUGCHATD_TLS_CERT".to_owned(), pki.server_cert.to_str().unwrap().to_owned());
    env.insert("AUGCHATD_TLS_KEY".to_owned(), pki.server_key.to_str().unwrap().to_owned());
    let (daemon, port) = spawn_daemon(dir.path(), env);
    let daemon_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while crate::connect(daemon_addr).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the daemon did not start: see its log");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let tls = h2_connector(&pki.ca_pem);
    let mut daemon_h2 = Vec::new();
    for _ in 0..H2_CONNECTIONS {
        daemon_h2.push(dial_h2(daemon_addr, &tls).await);
    }
    let mut jwts = Vec::new();
    crate::mint_until(crate::Conn::H2(daemon_h2[0].clone()), &mut jwts, streams).await;
    let target = Arc::new(Target { model: model_addr, bare: None, daemon: daemon_addr, jwts, daemon_h2 });

    let direct = crate::phase(&target, Route::Direct, streams, SLOW).await;
    let pid = daemon.pid();
    let (cpu_before, rss_before) = (crate::cpu_ns_of(&pid), rss_kb_of(&pid));
    // `phase` starts its ramp 300 ms after it is called; this samples where it samples its own RSS.
    let mid_hold = Duration::from_millis(300) + SLOW.length() + HOLD / 2;
    let sampler = tokio::spawn({
        let pid = pid.clone();
        async move {
            tokio::time::sleep(mid_hold).await;
            rss_kb_of(&pid)
        }
    });
    let through = crate::phase(&target, Route::Through, streams, SLOW).await;
    let daemon_cpu_ns = crate::cpu_ns_of(&pid) - cpu_before;
    let rss_mid = sampler.await.unwrap();

    let (d, t) = (&direct.stats, &through.stats);
    let held = !d.stalled() && !t.stalled();
    let open_at_once = t.max_open.load(Ordering::Relaxed);
    let cpu_per_reply = through.per_reply_ms(daemon_cpu_ns).map(crate::round3);
    let rss_per_stream = (through.open_at_rss > 0)
        .then(|| crate::round1(rss_mid.saturating_sub(rss_before) as f64 / through.open_at_rss as f64));
    println!(
        "open streams: {streams} slow replies at once ({wanted} wanted, open-file limit {nofile}): {} | open at once through {open_at_once} | max delta latency direct/through {:.1}/{:.1} ms | daemon CPU/reply {} ms | daemon RSS/stream {} KB",
        if held { "held" } else { "STALLED" },
        d.max_latency_ns.load(Ordering::Relaxed) as f64 / 1e6,
        t.max_latency_ns.load(Ordering::Relaxed) as f64 / 1e6,
        crate::show(cpu_per_reply),
        crate::show(rss_per_stream),
    );
    json!({
        "streams": streams, "wanted": wanted, "browser_side": format!("HTTP/2 over TLS, {H2_CONNECTIONS} connections"), "pace": SLOW.json(), "held": if held { streams } else { 0 },
        "open_at_once_through": open_at_once, "daemon_cpu_ms_per_reply": cpu_per_reply,
        "daemon_rss_kb": {"before": rss_before, "mid_hold": rss_mid, "per_open_stream": rss_per_stream},
        "direct": direct.json(), "through": through.json(),
    })
}
