//! Per-conversation connector toggles and the model override (SPEC §2.9, §2.10, §2.12; §11 items 50,
//! 87–93, 95–98, 100, 115–117, 125; §12 decisions 8, 9, 13).

use std::time::Duration;

use serde_json::{Value, json};

use crate::server::TestServer;

/// An MCP connector as the integrator sends it, credentials included.
fn mcp(id: &str, default_active: bool) -> Value {
    json!({"descriptive_id": id, "name": format!("MCP {id}"), "type": "mcp", "default_active": default_active,
           "url": "https://mcp.example/mcp", "auth": {"bearer": "mcp-token-never-shown"}})
}

/// A RAG connector as the integrator sends it, credentials included.
fn rag(id: &str, default_active: bool) -> Value {
    json!({"descriptive_id": id, "name": format!("RAG {id}"), "type": "rag", "default_active": default_active,
           "backend": "opensearch", "cluster": "https://os.example", "auth": {"bearer": "rag-token-never-shown"},
           "indexes": ["public-docs"]})
}

/// Mints a session of tenant acme for `user` with `connectors` as its scope; returns the JWT.
async fn session_with(srv: &TestServer, user: &str, connectors: Value) -> String {
    let mut body = srv.session_body(user);
    body["connectors"] = connectors;
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{minted}");
    minted["jwt"].as_str().unwrap().to_owned()
}

/// `PUT path` with a raw JSON body; returns status and body (`Null` when empty).
async fn put(srv: &TestServer, path: &str, jwt: &str, body: &str) -> (u16, Value) {
    let res = srv
        .browser
        .put(srv.url(path))
        .bearer_auth(jwt)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

/// Sets `did`'s flag in `cid`.
async fn toggle(srv: &TestServer, jwt: &str, cid: &str, did: &str, active: bool) -> (u16, Value) {
    put(srv, &format!("/conversations/{cid}/connectors/{did}"), jwt, &json!({"active": active}).to_string()).await
}

/// `(descriptive_id, active)` pairs of `GET /conversations/:cid/connectors`.
async fn flags(srv: &TestServer, jwt: &str, cid: &str) -> Vec<(String, bool)> {
    let (status, body) = srv.get_with_jwt(&format!("/conversations/{cid}/connectors"), jwt).await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|c| (c["descriptive_id"].as_str().unwrap().to_owned(), c["active"].as_bool().unwrap()))
        .collect()
}

fn pairs(expected: &[(&str, bool)]) -> Vec<(String, bool)> {
    expected.iter().map(|(id, active)| ((*id).to_owned(), *active)).collect()
}

async fn create(srv: &TestServer, jwt: &str, cid: &str) {
    assert_eq!(srv.post_with_jwt("/conversations", jwt, &json!({"conversation_id": cid})).await.0, 201);
}

fn user_turn(cid: &str, text: &str) -> Value {
    json!({"id": cid, "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]})
}

/// The `start` chunk of a UI message stream: the first `data:` event.
fn start_chunk(sse: &str) -> Value {
    let first = sse.lines().find_map(|line| line.strip_prefix("data: ")).unwrap();
    let chunk: Value = serde_json::from_str(first).unwrap();
    assert_eq!(chunk["type"], "start", "{sse}");
    chunk
}

#[actix_web::test]
async fn a_new_conversation_lists_every_connector_in_scope_with_its_default_and_nothing_else() {
    // SPEC §11 #87, §2.9
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true), rag("docs", false), mcp("jira", false)])).await;
    create(&srv, &jwt, "c1").await;
    let res = srv.browser.get(srv.url("/conversations/c1/connectors")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!([
            {"descriptive_id": "gh", "name": "MCP gh", "type": "mcp", "active": true},
            {"descriptive_id": "docs", "name": "RAG docs", "type": "rag", "active": false},
            {"descriptive_id": "jira", "name": "MCP jira", "type": "mcp", "active": false},
        ])
    );
    for secret in ["mcp.example", "os.example", "public-docs", "never-shown", "sk-good-key"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    // A session without connectors sees an empty scope.
    let (_, plain) = srv.mint("u").await;
    assert_eq!(srv.get_with_jwt("/conversations/c1/connectors", &plain).await, (200, json!([])));
}

#[actix_web::test]
async fn a_toggle_is_saved_repeatable_and_shown_by_later_gets() {
    // SPEC §11 #88 (saved state), #93
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true), rag("docs", true)])).await;
    create(&srv, &jwt, "c1").await;
    assert_eq!(toggle(&srv, &jwt, "c1", "gh", false).await, (204, Value::Null));
    assert_eq!(flags(&srv, &jwt, "c1").await, pairs(&[("gh", false), ("docs", true)]));
    assert_eq!(toggle(&srv, &jwt, "c1", "gh", false).await, (204, Value::Null), "the same value again is a no-op");
    assert_eq!(flags(&srv, &jwt, "c1").await, pairs(&[("gh", false), ("docs", true)]));
    assert_eq!(toggle(&srv, &jwt, "c1", "gh", true).await.0, 204);
    assert_eq!(flags(&srv, &jwt, "c1").await, pairs(&[("gh", true), ("docs", true)]));
}

#[actix_web::test]
async fn a_toggle_in_one_conversation_leaves_another_unchanged() {
    // SPEC §11 #89
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    create(&srv, &jwt, "a").await;
    create(&srv, &jwt, "b").await;
    assert_eq!(toggle(&srv, &jwt, "a", "gh", false).await.0, 204);
    assert_eq!(flags(&srv, &jwt, "a").await, pairs(&[("gh", false)]));
    assert_eq!(flags(&srv, &jwt, "b").await, pairs(&[("gh", true)]));
}

#[actix_web::test]
async fn bad_toggle_bodies_get_400s_in_spec_order() {
    // SPEC §11 #90, #40; §2.10 steps 1–4 come before the conversation lookup.
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    create(&srv, &jwt, "c1").await;
    let cases = [
        ("{not json", "invalid_json"),
        ("", "invalid_json"),
        ("[]", "body_must_be_object"),
        ("null", "body_must_be_object"),
        ("true", "body_must_be_object"),
        ("\"active\"", "body_must_be_object"),
        ("{}", "only_active_field_allowed"),
        (r#"{"active":true,"x":1}"#, "only_active_field_allowed"),
        (r#"{"Active":true}"#, "only_active_field_allowed"),
        (r#"{"x":1,"active":"yes"}"#, "only_active_field_allowed"),
        (r#"{"active":"yes"}"#, "active_must_be_boolean"),
        (r#"{"active":1}"#, "active_must_be_boolean"),
        (r#"{"active":null}"#, "active_must_be_boolean"),
    ];
    for (body, code) in cases {
        for path in ["/conversations/c1/connectors/gh", "/conversations/nope/connectors/nope"] {
            let (status, answer) = put(&srv, path, &jwt, body).await;
            assert_eq!((status, answer["error"].as_str()), (400, Some(code)), "{path} {body:?}: {answer}");
        }
    }
    assert_eq!(flags(&srv, &jwt, "c1").await, pairs(&[("gh", true)]), "nothing changed");
    // Authentication runs before the body is looked at.
    let res = srv.browser.put(srv.url("/conversations/c1/connectors/gh")).body("{bad").send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.json::<Value>().await.unwrap()), (401, json!({"error": "missing_jwt"})));
}

#[actix_web::test]
async fn an_unknown_conversation_is_not_found_and_is_not_created() {
    // SPEC §11 #91, §12 decision 8 (GET too), §2.10 step 5 before step 6
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    let not_found = (404, json!({"error": "conversation_not_found"}));
    assert_eq!(toggle(&srv, &jwt, "ghost", "gh", false).await, not_found);
    assert_eq!(toggle(&srv, &jwt, "ghost", "not-in-scope", false).await, not_found);
    assert_eq!(toggle(&srv, &jwt, "a%20b", "gh", false).await, not_found, "an id that cannot exist");
    assert_eq!(srv.get_with_jwt("/conversations/ghost/connectors", &jwt).await, not_found);
    assert_eq!(put(&srv, "/conversations/ghost/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await, not_found);
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await, (200, json!({"conversations": []})));
    assert_eq!(srv.get_with_jwt("/conversations/ghost/messages", &jwt).await, not_found);
    // Another user's conversation looks the same as no conversation.
    create(&srv, &jwt, "mine").await;
    let other = session_with(&srv, "someone-else", json!([mcp("gh", true)])).await;
    assert_eq!(toggle(&srv, &other, "mine", "gh", false).await, not_found);
    assert_eq!(srv.get_with_jwt("/conversations/mine/connectors", &other).await, not_found);
    assert_eq!(flags(&srv, &jwt, "mine").await, pairs(&[("gh", true)]));
}

#[actix_web::test]
async fn a_connector_outside_the_scope_cannot_be_toggled() {
    // SPEC §11 #92
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    create(&srv, &jwt, "c1").await;
    let answer = toggle(&srv, &jwt, "c1", "jira", true).await;
    assert_eq!(answer, (404, json!({"error": "connector_not_in_scope"})));
    assert_eq!(flags(&srv, &jwt, "c1").await, pairs(&[("gh", true)]));
}

#[actix_web::test]
async fn a_toggle_survives_a_new_session_for_the_same_user() {
    // SPEC §11 #95
    let srv = TestServer::start(|_, _| {}).await;
    let scope = json!([mcp("gh", true), rag("docs", true)]);
    let first = session_with(&srv, "u", scope.clone()).await;
    create(&srv, &first, "c1").await;
    assert_eq!(toggle(&srv, &first, "c1", "docs", false).await.0, 204);
    let second = session_with(&srv, "u", scope).await;
    assert_eq!(flags(&srv, &second, "c1").await, pairs(&[("gh", true), ("docs", false)]));
}

#[actix_web::test]
async fn a_changed_default_keeps_existing_snapshots_and_applies_to_new_conversations() {
    // SPEC §11 #96
    let srv = TestServer::start(|_, _| {}).await;
    let first = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    create(&srv, &first, "old").await;
    let second = session_with(&srv, "u", json!([mcp("gh", false)])).await;
    assert_eq!(flags(&srv, &second, "old").await, pairs(&[("gh", true)]));
    create(&srv, &second, "new").await;
    assert_eq!(flags(&srv, &second, "new").await, pairs(&[("gh", false)]));
}

#[actix_web::test]
async fn a_connector_dropped_from_scope_loses_its_saved_flag() {
    // SPEC §11 #97, §12 decision 9: dropped at the next observation, so a re-added id starts from its default.
    let srv = TestServer::start(|_, _| {}).await;
    let first = session_with(&srv, "u", json!([mcp("gh", true), rag("docs", true)])).await;
    create(&srv, &first, "c1").await;
    assert_eq!(toggle(&srv, &first, "c1", "gh", false).await.0, 204);
    let narrowed = session_with(&srv, "u", json!([rag("docs", true)])).await;
    assert_eq!(flags(&srv, &narrowed, "c1").await, pairs(&[("docs", true)]));
    let widened = session_with(&srv, "u", json!([mcp("gh", true), rag("docs", true)])).await;
    assert_eq!(flags(&srv, &widened, "c1").await, pairs(&[("gh", true), ("docs", true)]));
}

#[actix_web::test]
async fn a_connector_new_in_scope_is_snapshotted_on_the_first_get() {
    // SPEC §11 #98: the snapshot is taken once; a later default does not move it.
    let srv = TestServer::start(|_, _| {}).await;
    let first = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    create(&srv, &first, "c1").await;
    let second = session_with(&srv, "u", json!([mcp("gh", true), rag("docs", false)])).await;
    assert_eq!(flags(&srv, &second, "c1").await, pairs(&[("gh", true), ("docs", false)]));
    let third = session_with(&srv, "u", json!([mcp("gh", true), rag("docs", true)])).await;
    assert_eq!(flags(&srv, &third, "c1").await, pairs(&[("gh", true), ("docs", false)]));
}

#[actix_web::test]
async fn a_chosen_model_is_listed_and_used_by_the_next_turn() {
    // SPEC §11 #116, #50 (metadata chip), #51
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    create(&srv, &jwt, "c1").await;
    create(&srv, &jwt, "c2").await;
    let answer = put(&srv, "/conversations/c1/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await;
    assert_eq!(answer, (204, Value::Null));
    let (_, listed) = srv.get_with_jwt("/conversations", &jwt).await;
    let override_of = |cid: &str| {
        listed["conversations"].as_array().unwrap().iter().find(|c| c["conversation_id"] == cid).unwrap()
            ["model_id_override"]
            .clone()
    };
    assert_eq!(override_of("c1"), "claude-haiku-4-5");
    assert_eq!(override_of("c2"), Value::Null);

    let (status, _, sse) = srv.chat(&jwt, &user_turn("c1", "hello")).await;
    assert_eq!(status, 200);
    let chip = json!({"augchatd": {"model_id": "claude-haiku-4-5", "provider": "anthropic"}});
    assert_eq!(start_chunk(&sse)["messageMetadata"], chip);
    let (_, _, sse) = srv.chat(&jwt, &user_turn("c2", "hello")).await;
    assert_eq!(
        start_chunk(&sse)["messageMetadata"],
        json!({"augchatd": {"model_id": "claude-sonnet-4-5", "provider": "anthropic"}}),
        "no override: the session default"
    );
    // The stored assistant message carries the same chip, and the turn's usage beside it.
    let mut stored = Value::Null;
    for _ in 0..100 {
        stored = srv.get_with_jwt("/conversations/c1/messages", &jwt).await.1;
        if stored["messages"].as_array().is_some_and(|m| m.len() == 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut metadata = stored["messages"][1]["metadata"].clone();
    assert!(metadata["augchatd"].as_object_mut().unwrap().remove("usage").is_some(), "{stored}");
    assert_eq!(metadata, chip, "{stored}");

    // The daemon knows c2's turn context from its last turn; a model chosen since is the next turn's.
    let answer = put(&srv, "/conversations/c2/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await;
    assert_eq!(answer, (204, Value::Null));
    let (_, _, sse) = srv.chat(&jwt, &user_turn("c2", "again")).await;
    assert_eq!(start_chunk(&sse)["messageMetadata"], chip, "the turn after the choice");
}

#[actix_web::test]
async fn bad_model_choices_get_errors_in_spec_order() {
    // SPEC §11 #117, §2.12
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    create(&srv, &jwt, "c1").await;
    let cases = [
        ("{not json", 400, "invalid_json"),
        ("[]", 400, "body_must_be_object"),
        ("7", 400, "body_must_be_object"),
        ("{}", 400, "only_model_id_field_allowed"),
        (r#"{"model_id":"claude-haiku-4-5","provider":"openai"}"#, 400, "only_model_id_field_allowed"),
        (r#"{"model_id":""}"#, 400, "model_id_must_be_non_empty_string"),
        (r#"{"model_id":5}"#, 400, "model_id_must_be_non_empty_string"),
        (r#"{"model_id":null}"#, 400, "model_id_must_be_non_empty_string"),
        (r#"{"model_id":"gpt-4o"}"#, 400, "unknown_model_id"),
        (r#"{"model_id":"claude-haiku"}"#, 400, "unknown_model_id"),
    ];
    for (body, status, code) in cases {
        let answer = put(&srv, "/conversations/c1/model", &jwt, body).await;
        assert_eq!((answer.0, answer.1["error"].as_str()), (status, Some(code)), "{body}: {}", answer.1);
    }
    // An unknown conversation is answered before the provider is asked (a fresh session has no cached list).
    let (_, fresh) = srv.mint("v").await;
    let calls = srv.llm.seen().len();
    let answer = put(&srv, "/conversations/nope/model", &fresh, r#"{"model_id":"gpt-4o"}"#).await;
    assert_eq!(answer, (404, json!({"error": "conversation_not_found"})));
    assert_eq!(srv.llm.seen().len(), calls, "no list-models call for an unknown conversation");
    let (_, listed) = srv.get_with_jwt("/conversations", &jwt).await;
    assert_eq!(listed["conversations"][0]["model_id_override"], Value::Null, "nothing was stored");
}

#[actix_web::test]
async fn a_failing_model_list_answers_502_and_is_retried_next_time() {
    // SPEC §2.12 (provider_list_failed), §11 #115 through the PUT
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    create(&srv, &jwt, "c1").await;
    srv.llm.fail_with(Some(500));
    let (status, answer) = put(&srv, "/conversations/c1/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await;
    assert_eq!((status, answer["error"].as_str()), (502, Some("provider_list_failed")), "{answer}");
    assert!(!answer["detail"].as_str().unwrap_or_default().contains("internal.example"), "{answer}");
    srv.llm.fail_with(None);
    assert_eq!(put(&srv, "/conversations/c1/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await.0, 204);
}

#[actix_web::test]
async fn toggles_and_model_choices_reach_cold_storage() {
    // SPEC §11 #125, §12 decision 14: every hot write arms the idle flush.
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "200".into());
    })
    .await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true), rag("docs", false)])).await;
    create(&srv, &jwt, "c1").await;
    assert_eq!(toggle(&srv, &jwt, "c1", "gh", false).await.0, 204);
    assert_eq!(put(&srv, "/conversations/c1/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await.0, 204);
    let expected = json!([{"descriptive_id": "docs", "active": false}, {"descriptive_id": "gh", "active": false}]);
    let mut flushed = Value::Null;
    for _ in 0..100 {
        if let Some(bytes) = srv.s3.object("chats/acme/u/c1.json") {
            flushed = serde_json::from_slice(&bytes).unwrap();
            if flushed["connector_state"] == expected && flushed["model_id_override"] == "claude-haiku-4-5" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(flushed["connector_state"], expected, "{flushed}");
    assert_eq!(flushed["model_id_override"], "claude-haiku-4-5", "{flushed}");
}

#[actix_web::test]
async fn writes_wait_while_flushes_are_stalled_but_the_connector_list_still_answers() {
    // SPEC §6.5, §11 #128, §12 decision 13
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "100".into());
        env.insert("AUGCHATD_FLUSH_STALLED_MS".into(), "1500".into());
    })
    .await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    // Minted while S3 still accepts the probe: its scope adds a connector the conversation has not seen.
    let wider = session_with(&srv, "u", json!([mcp("gh", true), rag("docs", true)])).await;
    create(&srv, &jwt, "c1").await;
    srv.s3.set_failing(true);
    let mut answer = (0, Value::Null);
    for _ in 0..100 {
        answer = toggle(&srv, &jwt, "c1", "gh", false).await;
        if answer.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer.0, 503, "read-only after the stalled threshold: {}", answer.1);
    assert_eq!(answer.1["error"], "flush_stalled");
    let res = srv
        .browser
        .put(srv.url("/conversations/c1/model"))
        .bearer_auth(&wider)
        .body("not even json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "read-only is checked before the body");
    assert_eq!(res.headers()["x-augchatd-reason"], "flush-stalled");
    assert_eq!(flags(&srv, &jwt, "c1").await, pairs(&[("gh", false)]));
    assert_eq!(flags(&srv, &wider, "c1").await, pairs(&[("gh", false), ("docs", true)]), "defaults fill in");
}

#[actix_web::test]
async fn an_unwritable_hot_store_answers_503_on_the_connector_routes() {
    // SPEC §11 #100 (no state can change when nothing can be written), §2.9
    let srv = TestServer::start(|_, dir| {
        // A directory where the user's SQLite file should be: every open fails.
        std::fs::create_dir_all(dir.path().join("data/acme/broken.sqlite")).unwrap();
    })
    .await;
    let jwt = session_with(&srv, "broken", json!([mcp("gh", true)])).await;
    let answers = [
        toggle(&srv, &jwt, "c1", "gh", false).await,
        put(&srv, "/conversations/c1/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await,
        srv.get_with_jwt("/conversations/c1/connectors", &jwt).await,
    ];
    for (status, body) in answers {
        assert_eq!((status, body["error"].as_str()), (503, Some("hot_write_failed")), "{body}");
    }
    let res = srv.browser.put(srv.url("/conversations/c1/connectors/gh")).bearer_auth(&jwt).body(r#"{"active":true}"#);
    let res = res.send().await.unwrap();
    assert_eq!(res.headers()["x-augchatd-reason"], "hot-write-failed");
}

#[actix_web::test]
async fn a_deleted_conversation_takes_no_toggle_or_model_choice() {
    // SPEC §11 #109 (the PUTs)
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    create(&srv, &jwt, "c1").await;
    assert_eq!(srv.delete_with_jwt("/conversations/c1", &jwt).await, 204);
    let not_found = (404, json!({"error": "conversation_not_found"}));
    assert_eq!(put(&srv, "/conversations/c1/connectors/gh", &jwt, r#"{"active":false}"#).await, not_found);
    assert_eq!(put(&srv, "/conversations/c1/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await, not_found);
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await.1, json!({"conversations": []}), "nor brings it back");
}

#[actix_web::test]
async fn creating_a_conversation_again_leaves_its_toggles_model_and_messages_as_they_were() {
    // SPEC §11 #102 (a repeat → 201 with the row untouched)
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session_with(&srv, "u", json!([mcp("gh", true)])).await;
    assert_eq!(srv.chat(&jwt, &user_turn("c1", "hi")).await.0, 200);
    assert_eq!(put(&srv, "/conversations/c1/connectors/gh", &jwt, r#"{"active":false}"#).await.0, 204);
    assert_eq!(put(&srv, "/conversations/c1/model", &jwt, r#"{"model_id":"claude-haiku-4-5"}"#).await.0, 204);
    let before = srv.get_with_jwt("/conversations", &jwt).await;
    let messages = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;

    let again = srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "c1"})).await;
    assert_eq!(again, (201, json!({"conversation_id": "c1"})));
    assert_eq!(srv.get_with_jwt("/conversations", &jwt).await, before);
    assert_eq!(before.1["conversations"][0]["model_id_override"], "claude-haiku-4-5");
    assert_eq!(srv.get_with_jwt("/conversations/c1/messages", &jwt).await, messages);
    let (_, flags) = srv.get_with_jwt("/conversations/c1/connectors", &jwt).await;
    assert_eq!(flags[0]["active"], false, "{flags}");
}
