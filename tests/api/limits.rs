//! Limits that keep one client from holding the daemon (issue #7 item 3): streams per session, a
//! body that trickles in, oversized headers.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::TestServer;

fn turn(cid: &str, text: &str) -> Value {
    json!({"id": cid, "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]})
}

#[actix_web::test]
async fn a_session_streams_at_most_its_cap_and_gets_a_slot_back_when_a_stream_ends() {
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_MAX_STREAMS_PER_SESSION".into(), "2".into());
        env.insert("AUGCHATD_RESUME_WINDOW_MS".into(), "500".into());
    })
    .await;
    let (_, jwt) = srv.mint("alice").await;
    let open = |cid: &'static str| {
        srv.browser.post(srv.url("/chat")).bearer_auth(&jwt).json(&turn(cid, "please stall")).send()
    };
    let first = open("c1").await.unwrap();
    let second = open("c2").await.unwrap();
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));

    let (status, body) = srv.post_with_jwt("/chat", &jwt, &turn("c3", "hello")).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("too_many_streams")), "{body}");
    let (_, other) = srv.mint("alice").await;
    assert_eq!(srv.chat(&other, &turn("c4", "hello")).await.0, 200, "the cap is per session, not per user");

    // The browser leaves one stream: its turn runs on unattended, ends after the resume window, and
    // frees the slot. Stopping the other frees its slot at once.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = srv.chat(&jwt, &turn("c5", "hello")).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 429);
        assert!(Instant::now() < deadline, "the slot never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stop = srv.browser.post(srv.url("/chat/c2/stop")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(stop.status(), 204);
    assert_eq!(srv.chat(&jwt, &turn("c6", "hello")).await.0, 200, "the stopped turn's slot is free");
    drop(second);
}

#[actix_web::test]
async fn a_body_that_trickles_in_past_the_slow_client_bound_is_a_408() {
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_SLOW_CLIENT_MS".into(), "1000".into());
    })
    .await;
    let (_, jwt) = srv.mint("alice").await;
    // Half a body, then nothing, with the connection held open.
    let half = futures_util::stream::iter([Ok::<_, std::io::Error>(b"{\"id\": \"c1\", \"mess".to_vec())]);
    let body = reqwest::Body::wrap_stream(futures_util::StreamExt::chain(half, futures_util::stream::pending()));
    let started = Instant::now();
    let res = srv.browser.post(srv.url("/chat")).bearer_auth(&jwt).body(body).send().await.unwrap();
    assert_eq!(res.status(), 408);
    assert!(started.elapsed() < Duration::from_secs(5));
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["error"], "body_timeout");
    // A whole body in time is still fine, and nothing was created by the trickle.
    assert_eq!(srv.chat(&jwt, &turn("c2", "hello")).await.0, 200);
    assert_eq!(srv.get_with_jwt("/conversations/c1/messages", &jwt).await.0, 404);
}

#[actix_web::test]
async fn oversized_headers_are_refused_with_a_4xx_and_the_daemon_keeps_serving() {
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("alice").await;
    let huge = "x".repeat(256 * 1024);
    let res = srv.browser.get(srv.url("/conversations")).bearer_auth(&jwt).header("x-filler", huge).send().await;
    let res = res.unwrap();
    assert_eq!(res.status(), 431);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "headers_too_large"}));
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.0, 200);
}
