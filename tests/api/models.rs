//! `GET /session/models` (SPEC §2.11, §11 items 113–115).

use serde_json::json;

use crate::peers::llm::GOOD_KEY;
use crate::server::TestServer;

#[actix_web::test]
async fn openai_models_are_filtered_sorted_and_cached() {
    // SPEC §11 #113, #114
    let srv = TestServer::start(|_, _| {}).await;
    let mut body = srv.session_body("u");
    body["model"] = json!({"provider": "openai", "model_id": "gpt-4o", "api_key": GOOD_KEY});
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200);
    let jwt = minted["jwt"].as_str().unwrap();
    let (status, listed) = srv.get_with_jwt("/session/models", jwt).await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        json!({"models": [
            {"id": "gpt-4o", "display_name": "gpt-4o", "provider": "openai"},
            {"id": "o3", "display_name": "o3", "provider": "openai"}
        ], "current_model_id": "gpt-4o", "provider": "openai", "cached": false})
    );
    let (_, again) = srv.get_with_jwt("/session/models", jwt).await;
    assert_eq!(again["cached"], true);
    assert_eq!(again["models"], listed["models"]);
}

#[actix_web::test]
async fn anthropic_models_keep_their_display_names() {
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    let (status, listed) = srv.get_with_jwt("/session/models", &jwt).await;
    assert_eq!(status, 200);
    assert_eq!(listed["provider"], "anthropic");
    assert_eq!(
        listed["models"][0],
        json!({"id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5", "provider": "anthropic"})
    );
}

#[actix_web::test]
async fn a_provider_failure_is_502_and_never_cached() {
    // SPEC §11 #115
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    srv.llm.fail_with(Some(503));
    let (status, body) = srv.get_with_jwt("/session/models", &jwt).await;
    assert_eq!((status, body["error"].as_str()), (502, Some("provider_list_failed")));
    assert!(!body.to_string().contains("internal.example"), "{body}");
    srv.llm.fail_with(None);
    let (status, body) = srv.get_with_jwt("/session/models", &jwt).await;
    assert_eq!((status, body["cached"].as_bool()), (200, Some(false)));
}
