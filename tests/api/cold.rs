//! Flushing hot conversations to the integrator's bucket (SPEC §6.4, §6.5; §11 items 26, 31, 124–129, 133).
//! Timers are shortened through `AUGCHATD_FLUSH_IDLE_MS` / `AUGCHATD_FLUSH_STALLED_MS`; the backoff
//! sequence itself is unit-tested in `actors/src/backoff.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::server::TestServer;

/// A prod daemon with the given flush timers (milliseconds).
async fn server(idle_ms: u64, stalled_ms: u64) -> TestServer {
    TestServer::start(move |env, _| {
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), idle_ms.to_string());
        env.insert("AUGCHATD_FLUSH_STALLED_MS".into(), stalled_ms.to_string());
    })
    .await
}

fn user_turn(cid: &str, text: &str) -> Value {
    thread(cid, &[text])
}

/// A client thread of user messages `u1`, `u2`, … (the UI always sends the whole thread).
fn thread(cid: &str, texts: &[&str]) -> Value {
    let messages: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("u{}", i + 1), "role": "user", "parts": [{"type": "text", "text": t}]}))
        .collect();
    json!({"id": cid, "messages": messages})
}

/// Polls the bucket for `key` for up to `within`.
async fn cold_object(srv: &TestServer, key: &str, within: Duration) -> Option<Value> {
    cold_object_where(srv, key, within, |_| true).await
}

/// The object at `key` once it exists and satisfies `ready` (a later flush may replace an earlier one).
async fn cold_object_where(
    srv: &TestServer,
    key: &str,
    within: Duration,
    ready: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(object) = srv.s3.object(key).map(|bytes| serde_json::from_slice::<Value>(&bytes).unwrap())
            && ready(&object)
        {
            return Some(object);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn an_idle_conversation_is_flushed_in_the_spec_format() {
    // SPEC §11 #124, §6.4
    let srv = server(300, 60_000).await;
    let (_, jwt) = srv.mint("u").await;
    srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "c1"})).await;
    let (status, _, _) = srv.chat(&jwt, &user_turn("c1", "hello")).await;
    assert_eq!(status, 200);
    let flushed = cold_object(&srv, "chats/acme/u/c1.json", Duration::from_secs(5)).await.expect("flushed");
    assert_eq!(flushed["schema_version"], 1);
    assert_eq!(flushed["model_id_override"], Value::Null);
    assert_eq!(flushed["connector_state"], json!([]));
    let messages = flushed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{flushed}");
    assert_eq!(
        messages[0],
        json!({"id": "u1", "ordinal": 0, "role": "user",
                                   "parts": [{"type": "text", "text": "hello"}], "metadata": null})
    );
    assert_eq!(messages[1]["role"], "assistant");
    assert!(
        time::OffsetDateTime::parse(
            flushed["flushed_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
}

#[actix_web::test]
async fn connector_flags_are_part_of_the_flushed_object() {
    // SPEC §11 #125 (snapshots; toggles arrive with the connector routes)
    let srv = server(200, 60_000).await;
    let mut body = srv.session_body("u");
    body["connectors"] = json!([
        {"descriptive_id": "docs", "name": "Docs", "type": "rag", "default_active": false, "backend": "opensearch",
         "cluster": "https://os.example", "auth": {}, "indexes": ["docs"]}
    ]);
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200);
    let jwt = minted["jwt"].as_str().unwrap();
    srv.post_with_jwt("/conversations", jwt, &json!({"conversation_id": "c2"})).await;
    let flushed = cold_object(&srv, "chats/acme/u/c2.json", Duration::from_secs(5)).await.expect("flushed");
    assert_eq!(flushed["connector_state"], json!([{"descriptive_id": "docs", "active": false}]));
}

#[actix_web::test]
async fn deleting_a_session_flushes_first_and_fails_cleanly_when_s3_does() {
    // SPEC §11 #26, #31: 204 only after cold has the data; with S3 down, 5xx and the session is kept.
    let srv = server(600_000, 900_000).await;
    let (sid, jwt) = srv.mint("u").await;
    srv.chat(&jwt, &user_turn("c1", "keep me")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(srv.s3.object("chats/acme/u/c1.json").is_none(), "not flushed before the idle timer");

    srv.s3.set_failing(true);
    let res = srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "final_flush_failed");
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.0, 200, "the session is kept");

    srv.s3.set_failing(false);
    let res = srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let flushed: Value =
        serde_json::from_slice(&srv.s3.object("chats/acme/u/c1.json").expect("flushed before 204")).unwrap();
    assert_eq!(flushed["messages"][0]["parts"][0]["text"], "keep me");
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.1, json!({"error": "session_gone"}));
}

#[actix_web::test]
async fn a_stalled_flush_makes_the_user_read_only_until_s3_recovers() {
    // SPEC §11 #126–#129
    let traces = tempfile::tempdir().unwrap();
    let trace_dir = traces.path().to_str().unwrap().to_owned();
    let srv = TestServer::start(move |env, _| {
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "100".into());
        env.insert("AUGCHATD_FLUSH_STALLED_MS".into(), "1500".into());
        env.insert("AUGCHATD_TRACE_DIR".into(), trace_dir);
    })
    .await;
    let (sid, jwt) = srv.mint("u").await;
    // A second session of the same user, minted while S3 still accepts the probe.
    let (_, second) = srv.mint("u").await;
    // Created while S3 works: a conversation absent from hot cannot be used while cold is unreadable.
    srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "c1"})).await;
    srv.s3.set_failing(true);

    srv.chat(&jwt, &user_turn("c1", "first")).await;
    // Attempts at ~0.1 s, +1 s, +2 s: the streak passes 1.5 s at the third attempt.
    let mut answer = (0, reqwest::header::HeaderMap::new(), String::new());
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = srv.chat(&jwt, &thread("c1", &["first", "again"])).await;
        if answer.0 == 503 {
            break;
        }
    }
    let (status, headers, body) = answer;
    assert_eq!(status, 503, "read-only after the stalled threshold");
    assert_eq!(headers["x-augchatd-reason"], "flush-stalled");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "flush_stalled");
    assert!(
        body["detail"].as_str().unwrap().starts_with("Cold-storage flush has stalled past the durability threshold")
    );
    assert_eq!(srv.post_with_jwt("/conversations", &jwt, &json!({})).await.0, 503, "every write waits");
    // Read-only comes before validation, so even a request that would write nothing sees the 503.
    let probe = json!({"conversation_id": "../probe"});
    assert_eq!(srv.post_with_jwt("/conversations", &jwt, &probe).await.0, 503);
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.0, 200, "reads keep working");
    assert_eq!(srv.get_with_jwt("/conversations/c1/messages", &jwt).await.0, 200);
    assert_eq!(srv.chat(&second, &user_turn("c1", "x")).await.0, 503, "another session of the user does not escape");

    srv.s3.set_failing(false);
    let mut recovered = false;
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if srv.chat(&jwt, &thread("c1", &["first", "again", "back"])).await.0 == 200 {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "the next successful flush lifts read-only by itself");
    assert_eq!(srv.post_with_jwt("/conversations", &jwt, &probe).await.0, 400, "writable again: validation answers");
    // The recovered turn is stored and flushed too: cold ends up with exactly what hot has.
    let (_, hot) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    let hot_ids: Vec<Value> = hot["messages"].as_array().unwrap().iter().map(|m| m["message_id"].clone()).collect();
    let mut cold_ids = Vec::new();
    for _ in 0..100 {
        let flushed = cold_object(&srv, "chats/acme/u/c1.json", Duration::from_secs(5)).await.expect("flushed");
        cold_ids = flushed["messages"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
        if cold_ids == hot_ids {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cold_ids, hot_ids, "nothing was lost while S3 was down");
    assert_eq!(hot["messages"][0]["parts"][0]["text"], "first");

    // The trace has each attempt, numbered, the stall once, and the recovery, for the writing session.
    let text = std::fs::read_to_string(traces.path().join("c1.jsonl")).unwrap();
    let flushes: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["type"].as_str().unwrap().starts_with("flush."))
        .collect();
    let kinds: Vec<&str> = flushes.iter().map(|event| event["type"].as_str().unwrap()).collect();
    assert!(flushes.iter().all(|event| event["session_id"] == sid.as_str()), "{flushes:?}");
    // The failure streak: from its first error to the success that ends it.
    let start = kinds.iter().position(|kind| *kind == "flush.error").expect("the failures are traced");
    let end = start + kinds[start..].iter().position(|kind| *kind == "flush.success").expect("the recovery is traced");
    let streak = &flushes[start..end];
    let errors: Vec<&Value> = streak.iter().filter(|event| event["type"] == "flush.error").collect();
    assert!(errors.len() >= 2, "{kinds:?}");
    for (i, error) in errors.iter().enumerate() {
        assert_eq!(error["attempt"], i + 1, "{kinds:?}");
        assert!(error["message"].as_str().unwrap().starts_with("cold storage failed"), "{error}");
    }
    assert_eq!(errors.len() + 1, streak.len(), "the rest is the one stall: {kinds:?}");
    assert_eq!(kinds.iter().filter(|kind| **kind == "flush.stalled").count(), 1, "{kinds:?}");
    let stalled = streak.iter().find(|event| event["type"] == "flush.stalled").unwrap();
    assert!(stalled["failing_for_ms"].as_u64().unwrap() >= 1_500, "{stalled}");
}

#[actix_web::test]
async fn an_expired_session_flushes_its_users_conversations() {
    // SPEC §11 #133
    let srv = server(600_000, 900_000).await;
    let mut body = srv.session_body("u");
    body["ttl_seconds"] = json!(2); // 1-2 s: exp is whole seconds
    let (_, minted) = srv.post_session(&srv.acme, &body).await;
    let jwt = minted["jwt"].as_str().unwrap();
    srv.chat(jwt, &user_turn("c1", "before expiry")).await;
    let flushed = cold_object(&srv, "chats/acme/u/c1.json", Duration::from_secs(5)).await.expect("flushed at expiry");
    assert_eq!(flushed["messages"][0]["parts"][0]["text"], "before expiry");
}

#[actix_web::test]
async fn a_hot_only_demo_never_calls_s3() {
    // SPEC §11 #134
    let srv = TestServer::offline_demo().await;
    let before = srv.s3.requests();
    let jwt = srv.demo_jwt().await;
    srv.chat(&jwt, &user_turn("c1", "hi")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.s3.requests(), before);
}

/// Waits until `path` stops existing (up to 5 s).
pub async fn gone(path: &std::path::Path) -> bool {
    for _ in 0..100 {
        if !path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[actix_web::test]
async fn the_hot_file_goes_after_the_last_session_and_history_comes_back_from_cold() {
    // SPEC §11 #120, #122, #130, #131
    let srv = server(600_000, 900_000).await;
    let (first, jwt) = srv.mint("u").await;
    let (second, other) = srv.mint("u").await;
    srv.chat(&jwt, &thread("c1", &["remember the tulips"])).await;
    let hot = srv.dir.path().join("data/acme/u.sqlite");
    assert!(hot.exists());

    let delete = |sid: String| srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send();
    assert_eq!(delete(first).await.unwrap().status(), 204);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(hot.exists(), "another session of the user is still live");
    assert_eq!(srv.get_with_jwt("/conversations", &other).await.0, 200);
    assert_eq!(delete(second).await.unwrap().status(), 204);
    assert!(gone(&hot).await, "evicted once every session ended and cold has everything");
    for suffix in ["-wal", "-shm"] {
        assert!(!srv.dir.path().join(format!("data/acme/u.sqlite{suffix}")).exists());
    }
    assert!(!srv.dir.path().join("data/acme").exists(), "the empty tenant directory goes too");

    let (_, jwt) = srv.mint("u").await;
    let (_, listed) = srv.get_with_jwt("/conversations", &jwt).await;
    assert_eq!(listed["conversations"][0]["conversation_id"], "c1", "{listed}");
    assert_eq!(listed["conversations"][0]["title"], "remember the tulips");
    let (status, history) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(status, 200);
    assert_eq!(history["messages"][0]["parts"][0]["text"], "remember the tulips");
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);

    let mut next = thread("c1", &["remember the tulips"]);
    next["messages"].as_array_mut().unwrap().push(history["messages"][1].clone());
    next["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "u2", "role": "user", "parts": [{"type": "text", "text": "and now?"}]}));
    // Stored messages carry message_id; a client thread carries id.
    next["messages"][1]["id"] = history["messages"][1]["message_id"].clone();
    assert_eq!(srv.chat(&jwt, &next).await.0, 200);
    let (_, after) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(after["messages"].as_array().unwrap().len(), 4, "the chat continued the cold history: {after}");
}

#[actix_web::test]
async fn the_hot_file_stays_while_a_conversation_is_unflushed() {
    // SPEC §11 #123
    let srv = server(600_000, 900_000).await;
    let mut body = srv.session_body("u");
    body["ttl_seconds"] = json!(2); // 1-2 s: exp is whole seconds
    let (_, minted) = srv.post_session(&srv.acme, &body).await;
    srv.chat(minted["jwt"].as_str().unwrap(), &thread("c1", &["hi"])).await;
    srv.s3.set_failing(true);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(srv.dir.path().join("data/acme/u.sqlite").exists(), "expired, but cold does not have it");
}

#[actix_web::test]
async fn a_cold_read_failure_never_becomes_an_empty_conversation() {
    // SPEC §11 #132, §12 decision 11
    let srv = server(600_000, 900_000).await;
    let (sid, jwt) = srv.mint("u").await;
    srv.chat(&jwt, &thread("c1", &["precious"])).await;
    srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert!(gone(&srv.dir.path().join("data/acme/u.sqlite")).await);
    let (_, jwt) = srv.mint("u").await;

    srv.s3.set_failing(true);
    let res = srv.browser.get(srv.url("/conversations/c1/messages")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["x-augchatd-reason"], "cold-read-failed");
    let (status, headers, _) = srv.chat(&jwt, &thread("c1", &["overwrite?"])).await;
    assert_eq!((status, headers["x-augchatd-reason"].to_str().unwrap()), (503, "cold-read-failed"));

    srv.s3.set_failing(false);
    let (status, history) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(status, 200);
    assert_eq!(history["messages"][0]["parts"][0]["text"], "precious");
    assert_eq!(srv.get_with_jwt("/conversations/nope/messages", &jwt).await.0, 404, "missing in cold is 404");
}

#[actix_web::test]
async fn deleting_a_conversation_deletes_its_cold_copy_and_it_never_comes_back() {
    // SPEC §12 decision 10
    let srv = server(100, 900_000).await;
    let (sid, jwt) = srv.mint("u").await;
    for cid in ["c1", "c2"] {
        srv.chat(&jwt, &thread(cid, &["hello"])).await;
        assert!(cold_object(&srv, &format!("chats/acme/u/{cid}.json"), Duration::from_secs(5)).await.is_some());
    }
    assert_eq!(srv.delete_with_jwt("/conversations/c1", &jwt).await, 204);
    assert!(srv.s3.object("chats/acme/u/c1.json").is_none(), "deleted from cold at once");

    srv.s3.set_failing(true);
    assert_eq!(srv.delete_with_jwt("/conversations/c2", &jwt).await, 204, "the hot delete does not wait for S3");
    srv.s3.set_failing(false);
    assert!(srv.s3.object("chats/acme/u/c2.json").is_some());
    assert_eq!(srv.get_with_jwt("/conversations/c2/messages", &jwt).await.0, 404, "not resurrected by hydrate");
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.1, json!({"conversations": []}));
    // The session's final flush retries the cold delete.
    assert_eq!(srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap().status(), 204);
    assert!(srv.s3.object("chats/acme/u/c2.json").is_none());
}

#[actix_web::test]
async fn a_new_conversation_starts_while_the_bucket_is_down_and_a_chosen_id_waits_for_it() {
    // An id minted by augchatd is in no bucket: no read, so a new chat starts during an S3 outage. An id the
    // client chose may name a conversation only the bucket has: that one still needs the bucket (SPEC §6.6).
    let srv = server(600_000, 900_000).await;
    let (_, jwt) = srv.mint("u").await;
    srv.s3.set_failing(true);
    let (status, created) = srv.post_with_jwt("/conversations", &jwt, &json!({})).await;
    assert_eq!(status, 201, "{created}");
    let cid = created["conversation_id"].as_str().unwrap();
    assert_eq!(srv.chat(&jwt, &thread(cid, &["hello"])).await.0, 200);
    let (status, refused) = srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "chosen"})).await;
    assert_eq!((status, &refused["error"]), (503, &json!("cold_read_failed")));
}

#[actix_web::test]
async fn every_kind_of_s3_failure_keeps_the_session_and_the_data_until_s3_returns() {
    // Fault injection: refused connections, 500, wrong credentials (403), a stall past the request timeout.
    use crate::peers::s3::Fault;
    let srv = server(600_000, 900_000).await;
    for (i, fault) in [Fault::Refuse, Fault::Status(500), Fault::Status(403), Fault::Stall].into_iter().enumerate() {
        let user = format!("u{i}");
        let (sid, jwt) = srv.mint(&user).await;
        srv.chat(&jwt, &thread("c1", &["keep"])).await;
        srv.s3.set_fault(fault);
        let res = srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
        assert_eq!(res.status(), 503, "{fault:?}");
        // The list answers from hot without waiting out the bucket's 15 s request timeout.
        let asked = std::time::Instant::now();
        let (status, listed) = srv.get_with_jwt("/conversations", &jwt).await;
        assert_eq!(status, 200, "{fault:?}: the session is kept");
        assert_eq!(listed["conversations"][0]["conversation_id"], "c1", "{fault:?}");
        assert!(asked.elapsed() < Duration::from_secs(10), "{fault:?}: {:?}", asked.elapsed());
        srv.s3.set_fault(Fault::None);
        // The integrator retries the DELETE; a retry may first meet an attempt still in flight.
        let mut status = 0;
        for _ in 0..5 {
            status = srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap().status().as_u16();
            if status == 204 {
                break;
            }
        }
        assert_eq!(status, 204, "{fault:?}");
        let flushed: Value =
            serde_json::from_slice(&srv.s3.object(&format!("chats/acme/{user}/c1.json")).unwrap()).unwrap();
        assert_eq!(flushed["messages"][0]["parts"][0]["text"], "keep", "{fault:?}");
    }
}

#[actix_web::test]
async fn two_sessions_of_one_user_writing_at_once_see_one_store() {
    // Issue 4: concurrent sessions of the same user share one consistent hot store.
    let srv = server(100, 900_000).await;
    let (_, a) = srv.mint("u").await;
    let (_, b) = srv.mint("u").await;
    let turns = (0..8).map(|i| {
        let jwt = if i % 2 == 0 { a.clone() } else { b.clone() };
        let srv = &srv;
        async move { srv.chat(&jwt, &thread(&format!("c{i}"), &[&format!("message {i}")])).await.0 }
    });
    let statuses = futures_util::future::join_all(turns).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for jwt in [&a, &b] {
        let (_, listed) = srv.get_with_jwt("/conversations", jwt).await;
        assert_eq!(listed["conversations"].as_array().unwrap().len(), 8);
    }
    for i in 0..8 {
        // The conversation is created, and may be flushed empty, before its turn is stored.
        let key = format!("chats/acme/u/c{i}.json");
        let has_turn = |object: &Value| object["messages"].as_array().is_some_and(|m| m.len() == 2);
        let flushed = cold_object_where(&srv, &key, Duration::from_secs(5), has_turn).await.unwrap();
        assert_eq!(flushed["messages"][0]["parts"][0]["text"], format!("message {i}"));
    }
}

/// A `POST /sessions` body for `u` with one RAG connector, on by default.
fn with_internal_rag(srv: &TestServer) -> Value {
    let mut body = srv.session_body("u");
    body["connectors"] = json!([{"descriptive_id": "rag_internal", "name": "Internal", "type": "rag", "default_active": true,
                                 "backend": "opensearch", "cluster": "https://os.example", "auth": {}, "indexes": ["internal"]}]);
    body
}

/// Mints a session from `body`, chats in `c1`, switches its connector off and picks claude-haiku-4-5 there,
/// then ends the session and waits until the hot file is gone: from here on only cold has `c1`.
async fn choose_then_evict(srv: &TestServer, body: &Value) {
    let (_, minted) = srv.post_session(&srv.acme, body).await;
    let (sid, jwt) = (minted["session_id"].as_str().unwrap(), minted["jwt"].as_str().unwrap());
    assert_eq!(srv.chat(jwt, &thread("c1", &["hi"])).await.0, 200);
    let put = |path: &str, body: Value| srv.browser.put(srv.url(path)).bearer_auth(jwt).json(&body).send();
    assert_eq!(put("/conversations/c1/connectors/rag_internal", json!({"active": false})).await.unwrap().status(), 204);
    assert_eq!(put("/conversations/c1/model", json!({"model_id": "claude-haiku-4-5"})).await.unwrap().status(), 204);
    assert_eq!(srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap().status(), 204);
    assert!(gone(&srv.dir.path().join("data/acme/u.sqlite")).await);
}

#[actix_web::test]
async fn connector_flags_and_the_model_choice_survive_eviction() {
    // SPEC §11 #130: after hydration, connector states (e.g. a RAG connector switched off) are intact.
    let srv = server(600_000, 900_000).await;
    let body = with_internal_rag(&srv);
    choose_then_evict(&srv, &body).await;

    let (_, minted) = srv.post_session(&srv.acme, &body).await;
    let jwt = minted["jwt"].as_str().unwrap();
    let (status, flags) = srv.get_with_jwt("/conversations/c1/connectors", jwt).await;
    assert_eq!(status, 200);
    assert_eq!(flags, json!([{"descriptive_id": "rag_internal", "name": "Internal", "type": "rag", "active": false}]));
    let (_, listed) = srv.get_with_jwt("/conversations", jwt).await;
    assert_eq!(listed["conversations"][0]["model_id_override"], "claude-haiku-4-5");
}

#[actix_web::test]
async fn posting_a_known_conversation_id_after_eviction_keeps_its_history() {
    // Review finding: POST /conversations with a client id that only cold has must not start it empty.
    let srv = server(100, 900_000).await;
    let (sid, jwt) = srv.mint("u").await;
    srv.chat(&jwt, &thread("ticket-42", &["the history"])).await;
    srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert!(gone(&srv.dir.path().join("data/acme/u.sqlite")).await);

    let (_, jwt) = srv.mint("u").await;
    let (status, _) = srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "ticket-42"})).await;
    assert_eq!(status, 201);
    let (_, history) = srv.get_with_jwt("/conversations/ticket-42/messages", &jwt).await;
    assert_eq!(history["messages"][0]["parts"][0]["text"], "the history");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flushed = cold_object(&srv, "chats/acme/u/ticket-42.json", Duration::from_secs(5)).await.unwrap();
    assert_eq!(flushed["messages"].as_array().unwrap().len(), 2, "cold was not overwritten by an empty conversation");
}

#[actix_web::test]
async fn a_chat_straight_after_eviction_starts_from_the_cold_conversation() {
    // SPEC §11 #131: no GET first, so only POST /chat's own hydration can bring back the model choice
    // and the flags; an empty conversation would use the session default and offer every connector.
    let srv = server(600_000, 900_000).await;
    let body = with_internal_rag(&srv);
    choose_then_evict(&srv, &body).await;
    let offered =
        |call: &Value| call["tools"].as_array().map(|t| t.iter().any(|t| t["name"] == "rag_internal__retrieve"));
    let first = srv.llm.seen().into_iter().find_map(|seen| seen.body).unwrap();
    assert_eq!(offered(&first), Some(true), "on by default");

    let (_, minted) = srv.post_session(&srv.acme, &body).await;
    let jwt = minted["jwt"].as_str().unwrap();
    let (status, _, stream) = srv.chat(jwt, &thread("c1", &["hi", "and now?"])).await;
    assert_eq!(status, 200, "{stream}");
    let call = srv.llm.last_call();
    assert_eq!(call["model"], "claude-haiku-4-5", "the choice stored in cold");
    assert_ne!(offered(&call), Some(true), "the connector switched off in cold stays off: {call}");
    assert!(stream.contains(r#""model_id":"claude-haiku-4-5""#), "{stream}");
    let (_, listed) = srv.get_with_jwt("/conversations", jwt).await;
    assert_eq!(listed["conversations"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["conversations"][0]["message_count"], 3, "{listed}");
}
