//! Conversation routes and hot storage (SPEC §2.5–§2.8, §11 items 40, 101–112, 118–119).

use serde_json::{Value, json};

use crate::server::TestServer;

fn user_turn(cid: &str, text: &str) -> Value {
    json!({"id": cid, "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]})
}

#[actix_web::test]
async fn creating_conversations_mints_or_adopts_ids_idempotently() {
    // SPEC §11 #101, #102, #103
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    let res = srv.browser.post(srv.url("/conversations")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let minted: Value = res.json().await.unwrap();
    let id = minted["conversation_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    for _ in 0..2 {
        let got = srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "abc"})).await;
        assert_eq!(got, (201, json!({"conversation_id": "abc"})));
    }
    for bad in [json!({"conversation_id": ""}), json!({"conversation_id": 5}), json!({"conversation_id": "../x"})] {
        let got = srv.post_with_jwt("/conversations", &jwt, &bad).await;
        assert_eq!(got, (400, json!({"error": "invalid_conversation_id"})), "{bad}");
    }
    // A JSON body that does not parse is ignored, like no body (SPEC §2.5).
    let res = srv
        .browser
        .post(srv.url("/conversations"))
        .bearer_auth(&jwt)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[actix_web::test]
async fn the_list_shows_titles_counts_and_newest_first() {
    // SPEC §11 #104, #105, #106
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await, (200, json!({"conversations": []})));
    let created_between = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "empty"})).await;
    let created_by = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    // The next conversation's write comes later, so an `updated_at` that followed it would show.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let long = "x".repeat(70);
    let (status, _, _) = srv.chat(&jwt, &user_turn("talk", &long)).await;
    assert_eq!(status, 200);
    let (_, listed) = srv.get_with_jwt("/conversations", &jwt).await;
    let list = listed["conversations"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let talk = &list[0];
    assert_eq!(talk["conversation_id"], "talk", "newest first: {listed}");
    assert_eq!(talk["title"], format!("{}…", "x".repeat(59)));
    assert_eq!(talk["message_count"], 2);
    assert_eq!(talk["model_id_override"], Value::Null);
    assert!(
        time::OffsetDateTime::parse(
            talk["updated_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    let empty = &list[1];
    assert_eq!(
        (&empty["conversation_id"], &empty["title"], &empty["message_count"], &empty["model_id_override"]),
        (&json!("empty"), &Value::Null, &json!(0), &Value::Null)
    );
    // No messages: updated_at is when it was created.
    let updated = time::OffsetDateTime::parse(
        empty["updated_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(created_between <= updated && updated <= created_by, "{updated} not at creation");
    assert!(empty["updated_at"].as_str() < talk["updated_at"].as_str(), "{listed}");
}

#[actix_web::test]
async fn messages_come_back_in_order_with_metadata() {
    // SPEC §11 #107, #51
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "c1"})).await;
    assert_eq!(srv.get_with_jwt("/conversations/c1/messages", &jwt).await, (200, json!({"messages": []})));
    srv.chat(&jwt, &user_turn("c1", "hello")).await;
    let (status, body) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(status, 200);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0],
        json!({"message_id": "u1", "ordinal": 0, "role": "user",
                                   "parts": [{"type": "text", "text": "hello"}], "metadata": null})
    );
    assert_eq!(messages[1]["ordinal"], 1);
    assert_eq!(messages[1]["role"], "assistant");
    let augchatd = &messages[1]["metadata"]["augchatd"];
    assert_eq!((&augchatd["model_id"], &augchatd["provider"]), (&json!("augchatd-offline-demo"), &json!("offline")));
    assert!(augchatd["usage"]["input_tokens"].as_u64().unwrap() > 0, "{augchatd}");
}

#[actix_web::test]
async fn another_users_conversations_are_not_found_and_not_listed() {
    // SPEC §11 #108, #112
    let srv = TestServer::start(|_, _| {}).await;
    let (_, alice) = srv.mint("alice").await;
    let (_, alice_again) = srv.mint("alice").await;
    let (_, bob) = srv.mint("bob").await;
    let (status, globex_alice) = srv.post_session(&srv.globex, &srv.session_body("alice")).await;
    assert_eq!(status, 200);
    let globex_alice = globex_alice["jwt"].as_str().unwrap();
    srv.post_with_jwt("/conversations", &alice, &json!({"conversation_id": "secret-plans"})).await;

    assert_eq!(
        srv.get_with_jwt("/conversations", &alice_again).await.1["conversations"][0]["conversation_id"],
        "secret-plans"
    );
    let not_found = (404, json!({"error": "conversation_not_found"}));
    for other in [bob.as_str(), globex_alice] {
        assert_eq!(srv.get_with_jwt("/conversations/secret-plans/messages", other).await, not_found);
        assert_eq!(srv.get_with_jwt("/conversations", other).await.1, json!({"conversations": []}));
        assert_eq!(srv.delete_with_jwt("/conversations/secret-plans", other).await, 404);
    }
    assert_eq!(srv.get_with_jwt("/conversations/secret-plans/messages", &alice).await.0, 200);
    let data = srv.dir.path().join("data");
    for file in ["acme/alice.sqlite", "acme/bob.sqlite", "globex/alice.sqlite"] {
        assert!(data.join(file).exists(), "{file}");
    }
}

#[actix_web::test]
async fn a_deleted_conversation_is_gone_and_chat_recreates_it_empty() {
    // SPEC §11 #109, #110, #111
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    srv.chat(&jwt, &user_turn("c1", "first")).await;
    assert_eq!(srv.delete_with_jwt("/conversations/c1", &jwt).await, 204);
    assert_eq!(srv.get_with_jwt("/conversations/c1/messages", &jwt).await.0, 404);
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.1, json!({"conversations": []}));
    assert_eq!(srv.delete_with_jwt("/conversations/c1", &jwt).await, 404);
    for odd in ["a%00b", "x%2Fy", "a%20b", &"z".repeat(201)] {
        assert_eq!(srv.delete_with_jwt(&format!("/conversations/{odd}"), &jwt).await, 404, "{odd}");
        assert_eq!(srv.get_with_jwt(&format!("/conversations/{odd}/messages"), &jwt).await.0, 404, "{odd}");
    }
    let (status, _, _) = srv.chat(&jwt, &user_turn("c1", "again")).await;
    assert_eq!(status, 200);
    let (_, body) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(body["messages"][0]["parts"][0]["text"], "again");
    assert_eq!(body["messages"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn the_hot_file_is_created_with_the_first_session_in_wal_mode() {
    // SPEC §11 #118, #119
    let srv = TestServer::start(|_, _| {}).await;
    srv.mint("u1").await;
    let file = srv.dir.path().join("data/acme/u1.sqlite");
    // The writer creates the file on its own thread; wait until SQLite has written the header.
    let mut header = Vec::new();
    for _ in 0..250 {
        header = std::fs::read(&file).unwrap_or_default();
        if header.len() >= 100 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    assert!(header.starts_with(b"SQLite format 3\0"));
    assert_eq!(header[18..20], [2, 2], "WAL mode is recorded in the file header");
}

#[actix_web::test]
async fn auth_runs_before_body_validation() {
    // SPEC §11 #40
    let srv = TestServer::offline_demo().await;
    let res = srv.browser.post(srv.url("/chat")).bearer_auth("not-a-jwt").body("{bad").send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.json::<Value>().await.unwrap()), (401, json!({"error": "invalid_jwt"})));
    let res = srv.browser.post(srv.url("/conversations")).json(&json!({"conversation_id": 5})).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.json::<Value>().await.unwrap()), (401, json!({"error": "missing_jwt"})));
}

#[actix_web::test]
async fn an_unwritable_hot_store_answers_503_with_the_reason_header() {
    // SPEC §11 #60 (via POST /conversations and POST /chat)
    let srv = TestServer::start(|_, dir| {
        // A directory where the user's SQLite file should be: every open fails.
        std::fs::create_dir_all(dir.path().join("data/acme/broken.sqlite")).unwrap();
    })
    .await;
    let (_, jwt) = srv.mint("broken").await;
    let res = srv.browser.post(srv.url("/conversations")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["x-augchatd-reason"], "hot-write-failed");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "hot_write_failed");
    let res = srv.browser.post(srv.url("/chat")).bearer_auth(&jwt).json(&user_turn("c", "hi")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["x-augchatd-reason"], "hot-write-failed");
}
