//! Tenant and user isolation on every browser route (issue 4: IDOR and cross-tenant attempts, malformed
//! ids): another party's conversation id behaves exactly like a missing one, and nothing of the owner's
//! changes.

use serde_json::{Value, json};

use crate::server::TestServer;

#[actix_web::test]
async fn no_route_reaches_another_users_or_tenants_conversation() {
    let srv = TestServer::start(|_, _| {}).await;
    let mut alice_body = srv.session_body("alice");
    alice_body["connectors"] = json!([{"descriptive_id": "gh", "name": "GitHub", "type": "mcp", "default_active": true,
                                       "url": "https://mcp.example/mcp", "auth": {}}]);
    let (_, alice) = srv.post_session(&srv.acme, &alice_body).await;
    let alice = alice["jwt"].as_str().unwrap().to_owned();
    let turn = json!({"id": "secret", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "mine"}]}]});
    assert_eq!(srv.chat(&alice, &turn).await.0, 200);
    let (_, before) = srv.get_with_jwt("/conversations/secret/messages", &alice).await;

    let (_, bob) = srv.mint("bob").await;
    let (_, globex_alice) = srv.post_session(&srv.globex, &alice_body).await;
    let globex_alice = globex_alice["jwt"].as_str().unwrap().to_owned();
    for intruder in [&bob, &globex_alice] {
        let not_found = (404, json!({"error": "conversation_not_found"}));
        assert_eq!(srv.get_with_jwt("/conversations/secret/messages", intruder).await, not_found);
        assert_eq!(srv.get_with_jwt("/conversations/secret/connectors", intruder).await, not_found);
        let put = |path: &str, body: Value| srv.browser.put(srv.url(path)).bearer_auth(intruder).json(&body).send();
        let res = put("/conversations/secret/connectors/gh", json!({"active": false})).await.unwrap();
        assert_eq!(res.status(), 404);
        let res = put("/conversations/secret/model", json!({"model_id": "claude-haiku-4-5"})).await.unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(srv.delete_with_jwt("/conversations/secret", intruder).await, 404);
        assert_eq!(srv.get_with_jwt("/conversations", intruder).await.1, json!({"conversations": []}));
        // Posting to the same id makes the intruder's own conversation, in their own storage.
        assert_eq!(srv.chat(intruder, &turn).await.0, 200);
    }
    let (_, after) = srv.get_with_jwt("/conversations/secret/messages", &alice).await;
    assert_eq!(after, before, "nothing of alice's changed");
    let (_, flags) = srv.get_with_jwt("/conversations/secret/connectors", &alice).await;
    assert_eq!(flags[0]["active"], true);
}

#[actix_web::test]
async fn malformed_ids_on_every_route_are_4xx_and_change_nothing() {
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "keep"})).await;
    let long = "x".repeat(201);
    for bad in ["a%00b", "a%20b", "a%2Fb", "%F0%9F%98%80", long.as_str()] {
        for path in [format!("/conversations/{bad}/messages"), format!("/conversations/{bad}/connectors")] {
            let (status, _) = srv.get_with_jwt(&path, &jwt).await;
            assert_eq!(status, 404, "{path}");
        }
        assert_eq!(srv.delete_with_jwt(&format!("/conversations/{bad}"), &jwt).await, 404, "{bad}");
        for (path, body) in [
            (format!("/conversations/{bad}/connectors/x"), json!({"active": true})),
            (format!("/conversations/keep/connectors/{bad}"), json!({"active": true})),
            (format!("/conversations/{bad}/model"), json!({"model_id": "claude-haiku-4-5"})),
        ] {
            let res = srv.browser.put(srv.url(&path)).bearer_auth(&jwt).json(&body).send().await.unwrap();
            assert!(res.status().is_client_error(), "{path}: {}", res.status());
        }
        let raw = percent_decode(bad);
        let (status, body) = srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": raw})).await;
        assert_eq!((status, body), (400, json!({"error": "invalid_conversation_id"})), "{bad}");
        let turn = json!({"id": raw, "messages": [{"id": "u", "role": "user", "parts": []}]});
        assert_eq!(srv.chat(&jwt, &turn).await.0, 400, "{bad}");
    }
    let (_, listed) = srv.get_with_jwt("/conversations", &jwt).await;
    let ids: Vec<&Value> = listed["conversations"].as_array().unwrap().iter().map(|c| &c["conversation_id"]).collect();
    assert_eq!(ids, [&json!("keep")]);
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}
