//! Storage benchmark: hot-write throughput (one user; 1,000 users at once), flush throughput to a local
//! SigV4 S3 server, and resident memory per idle user: with its writer thread open, and after the
//! writer was retired (`UserDbs::retire_idle`). Prints a table and writes JSON to
//! `target/bench-storage.json`. Run: `cargo bench --bench storage`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

#[path = "../tests/api/peers/s3.rs"]
#[allow(dead_code)]
mod s3_peer;

mod common;
use common::{rss_kb, trim_heap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Arbiter;
use augchatd::cold::s3::S3Store;
use augchatd_actors::flusher::{FlushSettings, Flushers};
use augchatd_actors::ids::{ConversationId, SessionId, TenantId, UserId};
use augchatd_actors::ports::ColdStore;
use augchatd_actors::record::S3Location;
use augchatd_actors::secret::Secret;
use augchatd_actors::user_db::{GetMessages, ReplaceThread, Role, StoredMessage, UserDbs};
use serde_json::json;

/// Messages per stored thread: a short conversation, like a typical turn persists.
const THREAD_LEN: usize = 10;

fn thread(turn: usize) -> Vec<StoredMessage> {
    (0..THREAD_LEN + turn % 2)
        .map(|i| StoredMessage {
            message_id: format!("m{i}"),
            ordinal: 0,
            role: if i % 2 == 0 { Role::User } else { Role::Assistant },
            parts_json: json!([{"type": "text", "text": "x".repeat(400)}]).to_string(),
            metadata_json: None,
        })
        .collect()
}

fn replace(cid: &ConversationId, turn: usize) -> ReplaceThread {
    ReplaceThread {
        cid: cid.clone(),
        session: SessionId::try_from("bench").unwrap(),
        defaults: vec![],
        messages: thread(turn),
    }
}

fn user(i: usize) -> UserId {
    UserId::try_from(format!("user{i}")).unwrap()
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    actix::System::new().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let dbs = UserDbs::new(dir.path().join("data"));
        let tenant = TenantId::try_from("bench").unwrap();
        let cid = ConversationId::try_from("c1").unwrap();
        let mut results = Vec::new();

        // 1. One user: sequential turns through its writer.
        let writer = dbs.writer(&tenant, &user(0));
        let n = 2_000;
        let start = Instant::now();
        for turn in 0..n {
            writer.send(replace(&cid, turn)).await.unwrap().unwrap();
        }
        let per_user = n as f64 / start.elapsed().as_secs_f64();
        results.push(("hot writes, one user (turns/s)", per_user));

        // 2. 1,000 users at once: one writer thread each, 5 turns per user in flight together.
        trim_heap();
        let rss_before = rss_kb();
        let writers: Vec<_> = (1..=1_000).map(|i| dbs.writer(&tenant, &user(i))).collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_per_writer = rss_kb().saturating_sub(rss_before) as f64 / 1_000.0;
        let start = Instant::now();
        let sends = writers
            .iter()
            .flat_map(|w| (0..5).map(move |turn| w.send(replace(&ConversationId::try_from("c1").unwrap(), turn))));
        for outcome in futures_util::future::join_all(sends).await {
            outcome.unwrap().unwrap();
        }
        let across = 5_000.0 / start.elapsed().as_secs_f64();
        results.push(("hot writes, 1,000 users (turns/s)", across));
        results.push(("RSS per idle user writer (KB)", rss_per_writer));

        // The same 1,000 users after their writers were retired, as the daemon's sweep does after
        // `WRITER_IDLE`: threads ended, connections closed, files kept (user 0's writer is still held).
        drop(writers);
        assert_eq!(dbs.retire_idle(Duration::ZERO), 1_000);
        while dbs.live_writers() > 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        trim_heap();
        let rss_per_retired = rss_kb().saturating_sub(rss_before) as f64 / 1_000.0;
        results.push(("RSS per idle user after retirement (KB)", rss_per_retired));

        // What a retired user's next request pays: a new thread opens the file and answers a read.
        let start = Instant::now();
        for i in 1..=100 {
            let reopened = dbs.writer(&tenant, &user(i));
            reopened.send(GetMessages { cid: cid.clone() }).await.unwrap().unwrap();
        }
        results.push(("reopen a retired writer and read (µs)", start.elapsed().as_secs_f64() * 1e6 / 100.0));

        // 3. Flushes to a local SigV4 S3 server: 1,000 users, one dirty conversation each.
        let s3 = s3_peer::S3Peer::start(&dir.path().join("s3"), s3_peer::S3_KEY_ID, s3_peer::S3_SECRET).await;
        let location = S3Location {
            endpoint: s3.endpoint(),
            region: "us-east-1".into(),
            bucket: s3_peer::BUCKET.into(),
            prefix: "bench/".into(),
            access_key_id: Secret::new(s3_peer::S3_KEY_ID),
            secret_access_key: Secret::new(s3_peer::S3_SECRET),
        };
        let cold: Arc<dyn ColdStore> = Arc::new(S3Store::new(&location, reqwest::Client::new()).unwrap());
        let settings = FlushSettings { idle: Duration::from_secs(3600), stalled: Duration::from_secs(900) };
        let flushers = Flushers::new(settings, dbs.clone(), Arbiter::current(), Arc::default());
        for i in 1..=1_000 {
            flushers.set_cold(&tenant, &user(i), Some(Arc::clone(&cold)));
        }
        let start = Instant::now();
        let flushes = (1..=1_000).map(|i| {
            let (flushers, tenant) = (flushers.clone(), tenant.clone());
            async move { flushers.flush_user(&tenant, &user(i)).await }
        });
        for outcome in futures_util::future::join_all(flushes).await {
            outcome.unwrap();
        }
        let flush_rate = 1_000.0 / start.elapsed().as_secs_f64();
        results.push(("flushes to local S3 (conversations/s)", flush_rate));

        println!("| measure | value |\n|---|---|");
        for (name, value) in &results {
            println!("| {name} | {value:.1} |");
        }
        let json: serde_json::Map<String, serde_json::Value> =
            results.iter().map(|(k, v)| ((*k).to_owned(), json!((v * 10.0).round() / 10.0))).collect();
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-storage.json");
        std::fs::write(&out, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        println!("\nwritten to {}", out.display());
        std::process::exit(0);
    });
}
