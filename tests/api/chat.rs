//! `POST /chat` with the built-in offline model (SPEC §2.4, §4; §11 items 41–47, 51, 53; issue 3 item 9).

use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::server::TestServer;

fn turn(cid: &str, messages: Value) -> Value {
    json!({"id": cid, "messages": messages, "trigger": "submit-message"})
}

fn user(id: &str, text: &str) -> Value {
    json!({"id": id, "role": "user", "parts": [{"type": "text", "text": text}]})
}

#[actix_web::test]
async fn the_offline_model_streams_a_reply_the_ai_sdk_client_accepts() {
    // SPEC §11 #41, #42, #43, #47; issue 3 item 9
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    let (status, headers, body) = srv.chat(&jwt, &turn("new-conversation", json!([user("u1", "hello")]))).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["x-vercel-ai-ui-message-stream"], "v1");
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(body.starts_with(r#"data: {"type":"start","messageId":"#), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"));

    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    let message = &checked["message"];
    assert_eq!(message["role"], "assistant");
    let augchatd = &message["metadata"]["augchatd"];
    assert_eq!((&augchatd["model_id"], &augchatd["provider"]), (&json!("augchatd-offline-demo"), &json!("offline")));
    assert!(augchatd["usage"]["output_tokens"].as_u64().unwrap() > 0, "{augchatd}");
    let text = message["parts"].as_array().unwrap().iter().find(|p| p["type"] == "text").unwrap();
    assert!(text["text"].as_str().unwrap().contains("built-in offline demo model"), "{text}");
    assert!(text["text"].as_str().unwrap().contains("local/demo_session.json"), "it says how to configure a provider");
    assert_eq!(text["state"], "done");
    // The conversation was created on the fly.
    assert_eq!(srv.get_with_jwt("/conversations/new-conversation/messages", &jwt).await.0, 200);
}

#[actix_web::test]
async fn bad_chat_bodies_get_400s_in_spec_order() {
    // SPEC §11 #44, #45, #46
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    let post = |body: Vec<u8>| srv.browser.post(srv.url("/chat")).bearer_auth(&jwt).body(body).send();
    let cases: [(&str, &str); 10] = [
        ("{not json", "invalid_json"),
        (r#"{"id":"c"}"#, "missing_messages"),
        (r#"{"id":"c","messages":[]}"#, "missing_messages"),
        (r#"{"id":"c","messages":"hi"}"#, "missing_messages"),
        (r#"{"messages":[{"id":"u","role":"user","parts":[]}]}"#, "missing_conversation_id"),
        (r#"{"id":"","messages":[{"id":"u","role":"user","parts":[]}]}"#, "missing_conversation_id"),
        (r#"{"id":"a/b","messages":[{"id":"u","role":"user","parts":[]}]}"#, "invalid_conversation_id"),
        (r#"{"id":"c","messages":[{"id":"u","role":"robot","parts":[]}]}"#, "invalid_messages"),
        // Found by schemathesis: parts that are not `{type, …}` objects used to be stored as sent (200).
        (r#"{"id":"c","messages":[{"id":"u","role":"user","parts":[[null,null]]}]}"#, "invalid_messages"),
        (r#"{"id":"c","messages":[{"id":"u","role":"user","parts":[{"text":"no type"}]}]}"#, "invalid_messages"),
    ];
    for (body, code) in cases {
        let res = post(body.as_bytes().to_vec()).await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"], code, "{body}");
    }
    let res = post(vec![b' '; 9 * 1024 * 1024]).await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.1, json!({"conversations": []}), "nothing was created");
}

#[actix_web::test]
async fn message_ids_are_limited_to_200_characters_not_bytes() {
    // Found by schemathesis: the OpenAPI document's maxLength counts characters, the check counted bytes,
    // so a 200-character id in a multi-byte script was refused.
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    let turn = |id: String| json!({"id": "c", "messages": [{"id": id, "role": "user", "parts": [{"type": "text", "text": "hi"}]}]});
    let (status, _, _) = srv.chat(&jwt, &turn("é".repeat(200))).await;
    assert_eq!(status, 200);
    let (status, _, body) = srv.chat(&jwt, &turn("é".repeat(201))).await;
    assert_eq!(status, 400);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "invalid_messages");
}

#[actix_web::test]
async fn a_regenerated_reply_replaces_the_old_one() {
    // SPEC §12 decision 16: the stored thread becomes the incoming one plus the new reply.
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    srv.chat(&jwt, &turn("c", json!([user("u1", "hello")]))).await;
    let (_, first) = srv.get_with_jwt("/conversations/c/messages", &jwt).await;
    let first_reply = first["messages"][1]["message_id"].clone();
    srv.chat(&jwt, &json!({"id": "c", "messages": [user("u1", "hello")], "trigger": "regenerate-message"})).await;
    let (_, second) = srv.get_with_jwt("/conversations/c/messages", &jwt).await;
    let ids: Vec<&Value> = second["messages"].as_array().unwrap().iter().map(|m| &m["message_id"]).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[1], &first_reply);
}

#[actix_web::test]
async fn a_client_that_disconnects_mid_reply_leaves_the_turn_running_and_the_whole_reply_stored() {
    // SPEC §11 #53 (storage part); issue #8 item 1: a disconnect no longer ends the turn.
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    let mut res = srv
        .browser
        .post(srv.url("/chat"))
        .bearer_auth(&jwt)
        .json(&turn("c", json!([user("u1", "hello")])))
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    while !seen.contains("text-delta") {
        seen.push_str(&String::from_utf8_lossy(&res.chunk().await.unwrap().unwrap()));
    }
    drop(res);
    let mut stored = Value::Null;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        stored = srv.get_with_jwt("/conversations/c/messages", &jwt).await.1;
        if stored["messages"].as_array().is_some_and(|m| m.len() == 2) {
            break;
        }
    }
    let reply = &stored["messages"][1];
    assert_eq!(reply["role"], "assistant", "{stored}");
    let text = reply["parts"][1]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("Hello") && text.contains("cargo run"), "the whole reply: {text:?}");
}
