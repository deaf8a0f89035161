//! Resumable streams and stop (issue #8 item 1): a client that loses its connection mid-reply comes back
//! with `GET /chat/{cid}/stream` and gets the same turn, which kept running meanwhile; `POST /chat/{cid}/stop`
//! ends a turn on purpose; a turn nobody reads ends after the resume window. The scripted model holds
//! the second half of a `gated` reply until the test releases it, so "mid-reply" is exact, not timed.

use std::time::Duration;

use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::server::TestServer;
use crate::tool_loop::{ask, chunks};

/// The last text delta the gated reply sends before the gate.
pub const BEFORE_GATE: &str = r#""delta":"from ""#;

pub async fn open(srv: &TestServer, jwt: &str, body: &Value) -> reqwest::Response {
    let res = srv.browser.post(srv.url("/chat")).bearer_auth(jwt).json(body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res
}

pub async fn resume(srv: &TestServer, jwt: &str, cid: &str) -> reqwest::Response {
    srv.browser.get(srv.url(&format!("/chat/{cid}/stream"))).bearer_auth(jwt).send().await.unwrap()
}

/// Reads until `needle` has arrived; returns the whole events read so far (a partial one is dropped,
/// as a client's parser drops it when the connection breaks).
pub async fn read_until(res: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        let piece = res.chunk().await.unwrap().unwrap_or_else(|| panic!("the stream ended early: {seen}"));
        seen.push_str(&String::from_utf8_lossy(&piece));
    }
    seen.truncate(seen.rfind("\n\n").map_or(0, |end| end + 2));
    seen
}

/// The data events of a stream body, keep-alive comments left out.
fn events(body: &str) -> Vec<&str> {
    body.split("\n\n").filter(|e| e.starts_with("data: ")).collect()
}

/// The assembled message without what differs between two runs of the same reply (message and part ids).
fn assembled(body: &str) -> Value {
    let mut checked = check_ui_stream(body);
    assert_eq!(checked["ok"], true, "{checked}");
    for part in checked["message"]["parts"].as_array_mut().unwrap() {
        part.as_object_mut().unwrap().remove("id");
    }
    json!({"parts": checked["message"]["parts"], "metadata": checked["message"]["metadata"]})
}

async fn stored_reply(srv: &TestServer, jwt: &str, cid: &str) -> Value {
    for _ in 0..200 {
        let (_, stored) = srv.get_with_jwt(&format!("/conversations/{cid}/messages"), jwt).await;
        if stored["messages"].as_array().is_some_and(|m| m.len() == 2) {
            return stored["messages"][1].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the turn of {cid} was never stored");
}

fn text_of(message: &Value) -> String {
    message["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "text")
        .filter_map(|p| p["text"].as_str())
        .collect()
}

#[actix_web::test]
async fn a_client_that_drops_mid_reply_resumes_the_same_turn_with_nothing_missing_or_repeated() {
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("alice").await;
    // The same reply, uninterrupted.
    let reference = assembled(&srv.chat(&jwt, &ask("c0", "hello")).await.2);
    let mut first = open(&srv, &jwt, &ask("c1", "gated hello")).await;
    let before = read_until(&mut first, BEFORE_GATE).await;
    drop(first);

    // The page reloads: a new session of the same user, a fresh JWT.
    let (_, reloaded) = srv.mint("alice").await;
    let mut again = resume(&srv, &reloaded, "c1").await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["content-type"], "text/event-stream");
    assert_eq!(again.headers()["x-vercel-ai-ui-message-stream"], "v1");
    let replayed_so_far = read_until(&mut again, BEFORE_GATE).await;
    srv.llm.release();
    let replay = replayed_so_far + &again.text().await.unwrap();

    // The replay starts where the turn started, so the AI SDK client (`resume`) rebuilds the message
    // from it; a client that counts what it already had skips exactly that.
    let (had, replayed) = (events(&before), events(&replay));
    assert_eq!(replayed[..had.len()], had[..], "the replay begins with what the client had");
    assert_eq!(assembled(&replay), reference);
    let stitched = format!("{before}{}\n\n", replayed[had.len()..].join("\n\n"));
    assert_eq!(assembled(&stitched), reference, "what was had plus the rest is the uninterrupted message");
    assert_eq!(text_of(&stored_reply(&srv, &jwt, "c1").await), "Hello from the scripted model.");
}

#[actix_web::test]
async fn a_turn_that_ended_while_nobody_listened_is_replayed_whole() {
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("alice").await;
    let mut first = open(&srv, &jwt, &ask("c1", "gated hello")).await;
    read_until(&mut first, BEFORE_GATE).await;
    drop(first);
    srv.llm.release();
    // The turn goes on without a client and is stored complete.
    assert_eq!(text_of(&stored_reply(&srv, &jwt, "c1").await), "Hello from the scripted model.");

    let replay = resume(&srv, &jwt, "c1").await.text().await.unwrap();
    assert!(replay.ends_with("data: [DONE]\n\n"), "{replay}");
    let reference = assembled(&srv.chat(&jwt, &ask("c0", "hello")).await.2);
    assert_eq!(assembled(&replay), reference);
}

#[actix_web::test]
async fn resume_and_stop_answer_204_without_a_turn_and_404_for_a_conversation_that_is_not_the_callers() {
    let srv = TestServer::start(|_, _| {}).await;
    let (_, alice) = srv.mint("alice").await;
    let (_, bob) = srv.mint("bob").await;
    assert_eq!(srv.post_with_jwt("/conversations", &alice, &json!({"conversation_id": "quiet"})).await.0, 201);
    assert_eq!(resume(&srv, &alice, "quiet").await.status(), 204);
    let stop = |jwt: &str, cid: &str| {
        srv.browser.post(srv.url(&format!("/chat/{cid}/stop"))).bearer_auth(jwt.to_owned()).send()
    };
    assert_eq!(stop(&alice, "quiet").await.unwrap().status(), 204, "stopping nothing is fine");

    let _running = open(&srv, &alice, &ask("c1", "gated hello")).await;
    for res in [resume(&srv, &bob, "c1").await, stop(&bob, "c1").await.unwrap()] {
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "conversation_not_found"}));
    }
    for cid in ["nowhere", "a%20b"] {
        let res = resume(&srv, &alice, cid).await;
        assert_eq!(res.status(), 404, "{cid}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "conversation_not_found", "{cid}");
    }
    let unauthenticated = srv.browser.get(srv.url("/chat/c1/stream")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let wrong_method = srv.browser.delete(srv.url("/chat/c1/stop")).bearer_auth(&alice).send().await.unwrap();
    assert_eq!((wrong_method.status().as_u16(), wrong_method.headers()["allow"].to_str().unwrap()), (405, "POST"));
    srv.llm.release();
}

#[actix_web::test]
async fn stop_ends_the_turn_with_a_clear_finish_for_every_reader_and_stores_what_was_produced() {
    let srv = TestServer::start(|env, dir| {
        env.insert("AUGCHATD_TRACE_DIR".into(), dir.path().join("traces").to_str().unwrap().into());
    })
    .await;
    let (_, jwt) = srv.mint("alice").await;
    let mut first = open(&srv, &jwt, &ask("c1", "gated hello")).await;
    let second = resume(&srv, &jwt, "c1").await;
    let head = read_until(&mut first, BEFORE_GATE).await;
    let res = srv.browser.post(srv.url("/chat/c1/stop")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 204);
    // Answered once stored: the partial reply is there at once.
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(text_of(&stored["messages"][1]), "Hello from ");

    let body = head + &first.text().await.unwrap();
    assert_eq!(body, second.text().await.unwrap(), "both readers saw the same turn");
    let all = chunks(&body);
    let tail: Vec<&Value> = all.iter().rev().take(3).rev().collect();
    assert_eq!(tail[0]["type"], "finish-step");
    assert_eq!(tail[1], &json!({"type": "abort", "reason": "stopped"}));
    assert_eq!((tail[2]["type"].as_str(), tail[2]["finishReason"].as_str()), (Some("finish"), Some("other")));
    assert!(body.ends_with("data: [DONE]\n\n"));
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(text_of(&checked["message"]), "Hello from ");
    let trace = std::fs::read_to_string(srv.dir.path().join("traces/c1.jsonl")).unwrap();
    assert!(trace.contains(r#""message":"stopped""#) && !trace.contains(r#""type":"response.finish""#), "{trace}");
    // The model call was dropped: releasing the gate now changes nothing stored.
    srv.llm.release();
    assert_eq!(resume(&srv, &jwt, "c1").await.text().await.unwrap(), body, "a late reader replays the stopped turn");
}

#[actix_web::test]
async fn a_turn_nobody_reads_ends_after_the_resume_window_and_keeps_what_it_had() {
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_RESUME_WINDOW_MS".into(), "300".into());
    })
    .await;
    let (_, jwt) = srv.mint("alice").await;
    let mut first = open(&srv, &jwt, &ask("c1", "gated hello")).await;
    read_until(&mut first, BEFORE_GATE).await;
    drop(first);
    // Never released: only the window can end this turn.
    let reply = stored_reply(&srv, &jwt, "c1").await;
    assert_eq!(text_of(&reply), "Hello from ");
    let (status, _, _) = srv.chat(&jwt, &ask("c2", "hello")).await;
    assert_eq!(status, 200, "the session's stream slot came back");
}
