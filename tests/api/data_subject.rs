//! Data-subject requests (issue #8 item 7): `POST /users/:user_id/export` and `…/erase` over mTLS,
//! against the real S3 peer. Every answer is also checked against `openapi.json`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::openapi::{check, document};
use crate::server::TestServer;

const EXPORT: &str = "/users/{user_id}/export";
const ERASE: &str = "/users/{user_id}/erase";

/// A prod daemon whose idle flush runs after 100 ms.
async fn server() -> TestServer {
    TestServer::start(|env, _| {
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "100".into());
    })
    .await
}

fn turn(cid: &str, text: &str) -> Value {
    json!({"id": cid, "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]})
}

/// Waits (up to 5 s) until the bucket has `key`, or no longer has it.
async fn in_bucket(srv: &TestServer, key: &str, wanted: bool) {
    for _ in 0..100 {
        if srv.s3.object(key).is_some() == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{key} in the bucket: expected {wanted}");
}

async fn ask(srv: &TestServer, client: &reqwest::Client, template: &str, user: &str, body: &Value) -> (u16, Value) {
    let path = template.replace("{user_id}", user);
    check(&document(), "post", template, client.post(srv.url(&path)).json(body)).await
}

fn texts(export: &Value) -> Vec<(String, String)> {
    export["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let first = &c["messages"][0]["parts"][0]["text"];
            (c["conversation_id"].as_str().unwrap().to_owned(), first.as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// A session of acme's alice whose conversation `c1` (one turn asking `text`) is in the bucket.
async fn alice_with_c1(srv: &TestServer, text: &str) -> (String, String) {
    let (sid, jwt) = srv.mint("alice").await;
    assert_eq!(srv.chat(&jwt, &turn("c1", text)).await.0, 200);
    in_bucket(srv, "chats/acme/alice/c1.json", true).await;
    (sid, jwt)
}

#[actix_web::test]
async fn a_users_hot_and_cold_only_conversations_are_exported_and_then_erased_everywhere() {
    let srv = server().await;
    // c1 reaches the bucket, then the session ends and the hot file goes: c1 is cold-only.
    let (first, _) = alice_with_c1(&srv, "the tulip bulbs").await;
    assert_eq!(srv.acme.delete(srv.url(&format!("/sessions/{first}"))).send().await.unwrap().status(), 204);
    let hot = srv.dir.path().join("data/acme/alice.sqlite");
    for _ in 0..100 {
        if !hot.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!hot.exists(), "c1 lives only in the bucket now");
    // c2 is hot (and flushed after 100 ms); c3 was deleted by the user.
    let (_, jwt) = srv.mint("alice").await;
    assert_eq!(srv.chat(&jwt, &turn("c2", "the garden plan")).await.0, 200);
    assert_eq!(srv.chat(&jwt, &turn("c3", "never mind")).await.0, 200);
    assert_eq!(srv.delete_with_jwt("/conversations/c3", &jwt).await, 204);
    // Another user of the same tenant is not part of alice's request.
    let (_, bob) = srv.mint("bob").await;
    assert_eq!(srv.chat(&bob, &turn("b1", "bob's own")).await.0, 200);

    let request = json!({"storage": srv.storage()});
    let (status, export) = ask(&srv, &srv.acme, EXPORT, "alice", &request).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["user_id"], "alice");
    assert_eq!(
        texts(&export),
        [("c1".to_owned(), "the tulip bulbs".to_owned()), ("c2".to_owned(), "the garden plan".to_owned())]
    );
    let c1 = &export["conversations"][0];
    assert_eq!(c1["messages"].as_array().unwrap().len(), 2, "the question and the stored reply");
    assert_eq!(c1["messages"][1]["role"], "assistant");

    in_bucket(&srv, "chats/acme/alice/c2.json", true).await;
    let (status, erased) = ask(&srv, &srv.acme, ERASE, "alice", &request).await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["sessions_ended"], 1);
    assert_eq!(erased["hot_conversations_erased"], 1, "c2; c1 was not in hot storage");
    assert!(erased["cold_objects_erased"].as_u64().unwrap() >= 2, "{erased}");

    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await, (401, json!({"error": "session_gone"})));
    assert!(!hot.exists(), "the hot file is gone");
    for cid in ["c1", "c2", "c3"] {
        assert!(srv.s3.object(&format!("chats/acme/alice/{cid}.json")).is_none(), "{cid} is still in the bucket");
    }
    let (status, export) = ask(&srv, &srv.acme, EXPORT, "alice", &request).await;
    assert_eq!((status, export), (200, json!({"user_id": "alice", "conversations": []})));
    // Nothing comes back through a new session either.
    let (_, jwt) = srv.mint("alice").await;
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.1, json!({"conversations": []}));
    assert_eq!(srv.get_with_jwt("/conversations/c1/messages", &jwt).await.0, 404);
    // Bob is untouched.
    assert_eq!(srv.get_with_jwt("/conversations/b1/messages", &bob).await.0, 200);
    // An erasure of what is already gone is a no-op answer, not an error.
    let (status, again) = ask(&srv, &srv.acme, ERASE, "alice", &request).await;
    assert_eq!(status, 200);
    assert_eq!((&again["hot_conversations_erased"], &again["cold_objects_erased"]), (&json!(0), &json!(0)));
}

#[actix_web::test]
async fn a_tenant_can_never_export_or_erase_another_tenants_user() {
    let srv = server().await;
    let (_, jwt) = alice_with_c1(&srv, "acme's alice").await;

    // globex names the same user id and even the same bucket with acme's credentials.
    let request = json!({"storage": srv.storage()});
    let (status, export) = ask(&srv, &srv.globex, EXPORT, "alice", &request).await;
    assert_eq!((status, export), (200, json!({"user_id": "alice", "conversations": []})));
    let (status, erased) = ask(&srv, &srv.globex, ERASE, "alice", &request).await;
    assert_eq!(status, 200);
    assert_eq!(
        erased,
        json!({"user_id": "alice", "sessions_ended": 0, "hot_conversations_erased": 0, "cold_objects_erased": 0})
    );

    assert_eq!(srv.get_with_jwt("/conversations/c1/messages", &jwt).await.0, 200, "acme's session lives on");
    assert!(srv.s3.object("chats/acme/alice/c1.json").is_some());
    assert!(srv.dir.path().join("data/acme/alice.sqlite").exists());
    let (_, export) = ask(&srv, &srv.acme, EXPORT, "alice", &request).await;
    assert_eq!(texts(&export), [("c1".to_owned(), "acme's alice".to_owned())]);
}

#[actix_web::test]
async fn bad_data_subject_requests_are_refused_with_the_documented_errors() {
    let srv = server().await;
    let request = json!({"storage": srv.storage()});
    for template in [EXPORT, ERASE] {
        let (status, body) = ask(&srv, &srv.browser, template, "alice", &request).await;
        assert_eq!((status, body), (401, json!({"error": "client_certificate_required"})), "{template}");
        let (status, body) = ask(&srv, &srv.acme, template, "a%20b", &request).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_user_id")), "{template}");
        for bad in [
            json!({}),
            json!({"storage": {}}),
            json!({"storage": {"s3": "not-a-uri"}}),
            json!({"storage": {"s3": {"endpoint": srv.s3.endpoint(), "region": "us-east-1", "bucket": "Bad_Bucket",
                                      "access_key_id": "k", "secret_access_key": "s"}}}),
        ] {
            let (status, body) = ask(&srv, &srv.acme, template, "alice", &bad).await;
            assert_eq!((status, body["error"].as_str()), (400, Some("invalid_field")), "{template} {bad}");
        }
        let path = template.replace("{user_id}", "alice");
        let (status, body) = check(&document(), "post", template, srv.acme.post(srv.url(&path)).body("{nope")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_json")));
        let (status, body) = check(&document(), "post", template, srv.acme.post(srv.url(&path)).json(&json!([]))).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("body_must_be_object")));
        let res = srv.acme.get(srv.url(&path)).send().await.unwrap();
        assert_eq!((res.status().as_u16(), res.headers()["allow"].to_str().unwrap()), (405, "POST"));
    }
    // A user never seen is an empty export.
    let (status, export) = ask(&srv, &srv.acme, EXPORT, "nobody", &request).await;
    assert_eq!((status, export), (200, json!({"user_id": "nobody", "conversations": []})));
    assert!(!srv.dir.path().join("data/acme/nobody.sqlite").exists(), "asking created no hot file");
    // A bucket that refuses is a 503, never a partial answer.
    srv.s3.set_failing(true);
    let (status, body) = ask(&srv, &srv.acme, EXPORT, "nobody", &request).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("cold_read_failed")));
    let (status, body) = ask(&srv, &srv.acme, ERASE, "nobody", &request).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("cold_delete_failed")));
}
