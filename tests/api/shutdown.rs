//! Graceful shutdown of the real binary (issue 7 item 4): SIGTERM stops accepting, flushes every dirty
//! conversation to the bucket, logs one line per conversation, and exits 0; a stalled bucket cannot
//! hold the exit past `AUGCHATD_SHUTDOWN_FLUSH_MS`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::binary::{Daemon, ProdRig};
use crate::peers::llm::{GOOD_KEY, LlmPeer};
use crate::peers::s3::{BUCKET, Fault, S3_KEY_ID, S3_SECRET, S3Peer};
use crate::server::JWT_SECRET;

const METRICS_TOKEN: &str = "scrape-token-5d1e0b";

/// A prod daemon with an idle flush far away and JSON logs, and a session for user `u`; returns its JWT.
async fn daemon_with_a_session(rig: &ProdRig, llm: &LlmPeer, s3: &S3Peer, extra: &[(&str, &str)]) -> (Daemon, String) {
    let data = rig.dir.path().join("data");
    let mut env = vec![
        ("AUGCHATD_JWT_SECRET", JWT_SECRET),
        ("AUGCHATD_ANTHROPIC_BASE_URL", llm.base.as_str()),
        ("AUGCHATD_DATA_DIR", data.to_str().unwrap()),
        ("AUGCHATD_FLUSH_IDLE_MS", "600000"),
        ("AUGCHATD_LOG_FORMAT", "json"),
    ];
    env.extend_from_slice(extra);
    let daemon = rig.start(&env).await;
    let session = json!({
        "user_id": "u", "system_prompt": "s",
        "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": GOOD_KEY},
        "storage": {"s3": {"endpoint": s3.endpoint(), "region": "us-east-1", "bucket": BUCKET, "prefix": "p/",
                           "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}},
    });
    let minted: Value =
        rig.integrator.post(rig.url("/sessions")).json(&session).send().await.unwrap().json().await.unwrap();
    (daemon, minted["jwt"].as_str().unwrap().to_owned())
}

/// As `daemon_with_a_session`, plus one chat turn in conversation `c1` stored hot but not in the bucket.
async fn daemon_with_a_dirty_conversation(rig: &ProdRig, llm: &LlmPeer, s3: &S3Peer, extra: &[(&str, &str)]) -> Daemon {
    let (daemon, jwt) = daemon_with_a_session(rig, llm, s3, extra).await;
    let turn =
        json!({"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "keep"}]}]});
    let res = rig.browser.post(rig.url("/chat")).bearer_auth(&jwt).json(&turn).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap();
    let stored = rig.stored_messages(&jwt, "c1", 2).await;
    assert_eq!(stored["messages"].as_array().map(Vec::len), Some(2), "the turn was not stored: {stored}");
    assert!(s3.object("p/acme/u/c1.json").is_none(), "not flushed before the shutdown");
    daemon
}

/// The JSON log lines with `message`.
fn lines_with_message(stderr: &str, message: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == message)
        .collect()
}

fn timestamp(line: &Value) -> time::OffsetDateTime {
    let text = line["timestamp"].as_str().unwrap();
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

#[actix_web::test]
async fn sigterm_flushes_a_dirty_conversation_to_the_bucket_and_exits_0() {
    let rig = ProdRig::new();
    let llm = LlmPeer::start();
    let s3 = S3Peer::start(&rig.dir.path().join("s3"), S3_KEY_ID, S3_SECRET).await;
    let daemon = daemon_with_a_dirty_conversation(&rig, &llm, &s3, &[("AUGCHATD_METRICS_TOKEN", METRICS_TOKEN)]).await;
    let scrape = rig.browser.get(rig.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(scrape.status(), 200);

    let stopping = Instant::now();
    let out = daemon.stop().await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Nothing was running, so the idle connections (HTTP/2, kept alive) are not waited for.
    assert!(stopping.elapsed() < Duration::from_secs(5), "exit took {:?}", stopping.elapsed());
    let flushed: Value = serde_json::from_slice(&s3.object("p/acme/u/c1.json").expect("flushed at shutdown")).unwrap();
    assert_eq!(flushed["messages"][0]["parts"][0]["text"], "keep");
    let results = lines_with_message(&out.stderr, "shutdown flush");
    assert_eq!(results.len(), 1, "one line per conversation: {}", out.stderr);
    assert_eq!(results[0]["outcome"], "flushed");
    assert_eq!(
        (&results[0]["tenant"], &results[0]["user"], &results[0]["cid"]),
        (&json!("acme"), &json!("u"), &json!("c1"))
    );
    assert!(!out.stderr.contains(METRICS_TOKEN) && !out.stdout.contains(METRICS_TOKEN), "the token is never logged");
    assert!(!out.stderr.contains(S3_SECRET));
}

#[actix_web::test]
async fn a_stalled_bucket_at_shutdown_ends_at_the_deadline_with_a_deadline_line() {
    let rig = ProdRig::new();
    let llm = LlmPeer::start();
    let s3 = S3Peer::start(&rig.dir.path().join("s3"), S3_KEY_ID, S3_SECRET).await;
    let daemon = daemon_with_a_dirty_conversation(&rig, &llm, &s3, &[("AUGCHATD_SHUTDOWN_FLUSH_MS", "1500")]).await;
    s3.set_fault(Fault::Stall);

    let stopping = Instant::now();
    let out = daemon.stop().await;
    let took = stopping.elapsed();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let results = lines_with_message(&out.stderr, "shutdown flush");
    assert_eq!(results.len(), 1, "{}", out.stderr);
    assert_eq!(results[0]["outcome"], "deadline");
    assert_eq!(results[0]["cid"], "c1");
    let started = &lines_with_message(&out.stderr, "shutdown flush started")[0];
    let finished = &lines_with_message(&out.stderr, "shutdown flush finished")[0];
    assert_eq!(finished["deadline"], 1);
    // Without the deadline the upload would wait for the S3 client's own 15 s timeout.
    let flush_took = timestamp(finished) - timestamp(started);
    assert!(flush_took >= time::Duration::milliseconds(1400), "{flush_took}");
    assert!(flush_took < time::Duration::seconds(3), "the flush step ends at its deadline: {flush_took}");
    // The whole exit: closing idle connections (a few tenths of a second) plus the deadline.
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    assert!(s3.object("p/acme/u/c1.json").is_none());
}

#[actix_web::test]
async fn a_chat_stream_still_running_at_sigterm_is_ended_after_its_grace_stored_and_flushed() {
    let rig = ProdRig::new();
    let llm = LlmPeer::start();
    let s3 = S3Peer::start(&rig.dir.path().join("s3"), S3_KEY_ID, S3_SECRET).await;
    let (daemon, jwt) = daemon_with_a_session(&rig, &llm, &s3, &[]).await;
    // The scripted model sends some text, then nothing, for as long as the connection stays open.
    let turn = json!({"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text",
        "text": "please stall"}]}]});
    let mut res = rig.browser.post(rig.url("/chat")).bearer_auth(&jwt).json(&turn).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = String::new();
    while !body.contains("text-delta") {
        body.push_str(&String::from_utf8_lossy(&res.chunk().await.unwrap().expect("the stream is open")));
    }
    let reader = tokio::spawn(async move {
        while let Some(chunk) = res.chunk().await.unwrap() {
            body.push_str(&String::from_utf8_lossy(&chunk));
        }
        body
    });

    let stopping = Instant::now();
    let out = daemon.stop().await;
    let took = stopping.elapsed();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(took >= Duration::from_secs(5) && took < Duration::from_secs(9), "5 s of grace, then the end: {took:?}");
    let body = reader.await.unwrap();
    assert!(body.contains(r#""type":"error""#), "the stream ends with the masked error: {body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert_eq!(lines_with_message(&out.stderr, "chat turn ended early: daemon shutting down").len(), 1);
    let results = lines_with_message(&out.stderr, "shutdown flush");
    assert_eq!(results.len(), 1, "{}", out.stderr);
    assert_eq!(results[0]["outcome"], "flushed", "{}", out.stderr);
    let flushed: Value = serde_json::from_slice(&s3.object("p/acme/u/c1.json").expect("flushed")).unwrap();
    assert_eq!(flushed["messages"][0]["parts"][0]["text"], "please stall");
    assert_eq!(flushed["messages"][1]["role"], "assistant", "the partial reply is stored too: {flushed}");
}
