//! Streaming from the hosted providers through the scripted peer (SPEC §4, §5.2, §5.7; §11 items 43,
//! 49, 50, 55, 57, 58, 59): what is sent upstream, and what the browser's own parser assembles.

use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::peers::llm::GOOD_KEY;
use crate::server::TestServer;

fn turn(text: &str) -> Value {
    json!({"id": "c1", "messages": [
        {"id": "u0", "role": "user", "parts": [{"type": "text", "text": "earlier"}]},
        {"id": "a0", "role": "assistant", "parts": [{"type": "step-start"}, {"type": "text", "text": "reply"}]},
        {"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}
    ]})
}

async fn session(srv: &TestServer, provider: &str, model_id: &str) -> String {
    let mut body = srv.session_body("u");
    body["system_prompt"] = json!("Answer like a pirate.");
    body["model"] = json!({"provider": provider, "model_id": model_id, "api_key": GOOD_KEY});
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{minted}");
    minted["jwt"].as_str().unwrap().to_owned()
}

fn parts(message: &Value) -> Vec<(String, String)> {
    message["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "text" || p["type"] == "reasoning")
        .map(|p| (p["type"].as_str().unwrap().to_owned(), p["text"].as_str().unwrap().to_owned()))
        .collect()
}

#[actix_web::test]
async fn anthropic_streams_thinking_and_text_the_ai_sdk_accepts() {
    // SPEC §11 #43, #49, #58
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "anthropic", "claude-sonnet-4-5").await;
    let (status, _, body) = srv.chat(&jwt, &turn("hello")).await;
    assert_eq!(status, 200);
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    let expected = vec![
        ("reasoning".to_owned(), "Let me think.".to_owned()),
        ("text".to_owned(), "Hello from the scripted model.".to_owned()),
    ];
    assert_eq!(parts(&checked["message"]), expected);
    let sent = srv.llm.last_call();
    assert_eq!(
        sent["system"],
        json!([{"type": "text", "text": "Answer like a pirate.", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 2048}));
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "earlier"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "reply"}]},
               {"role": "user", "content": [{"type": "text", "text": "hello"}]}])
    );
    let call = srv.llm.seen().into_iter().rfind(|s| s.path == "/v1/messages").unwrap();
    assert_eq!(call.credential.as_deref(), Some(GOOD_KEY));
    assert_eq!(call.anthropic_version.as_deref(), Some("2023-06-01"));
    // The stored reply has the same parts as the browser saw.
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(parts(&stored["messages"][3]), expected);
}

#[actix_web::test]
async fn openai_uses_the_responses_api_with_reasoning_only_for_reasoning_models() {
    // SPEC §11 #57, #59, decision 28
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "openai", "o3").await;
    let (status, _, body) = srv.chat(&jwt, &turn("hello")).await;
    assert_eq!(status, 200);
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(parts(&checked["message"])[0], ("reasoning".to_owned(), "Let me think.".to_owned()));
    let sent = srv.llm.last_call();
    assert_eq!(sent["reasoning"], json!({"summary": "auto"}));
    assert_eq!(sent["instructions"], "Answer like a pirate.");
    assert_eq!(sent["input"][2], json!({"role": "user", "content": "hello"}));

    let jwt = session(&srv, "openai", "gpt-4o").await;
    let (_, _, body) = srv.chat(&jwt, &turn("hello")).await;
    assert!(srv.llm.last_call().get("reasoning").is_none());
    assert_eq!(
        parts(&check_ui_stream(&body)["message"]),
        vec![("text".to_owned(), "Hello from the scripted model.".to_owned())]
    );
}

#[actix_web::test]
async fn provider_failures_become_a_masked_in_stream_error() {
    // SPEC §11 #55, issue #5 item 2: overloaded, 401, 429 and 500 before streaming, an error event
    // mid-way, a stream cut short, a stream that stalls past the timeout.
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_LLM_STALL_MS".into(), "300".into());
    })
    .await;
    for provider in [("anthropic", "claude-haiku-4-5"), ("openai", "gpt-4o")] {
        let jwt = session(&srv, provider.0, provider.1).await;
        for trigger in ["overload", "status-401", "status-429", "status-500", "mid-error", "cut", "stall"] {
            let (status, _, body) = srv.chat(&jwt, &turn(trigger)).await;
            assert_eq!(status, 200, "{provider:?} {trigger}");
            let checked = check_ui_stream(&body);
            assert_eq!(checked["ok"], true, "{provider:?} {trigger}: {checked}");
            assert_eq!(checked["inBandErrors"][0], "An error occurred.", "{provider:?} {trigger}");
            assert!(!body.contains("internal.example") && !body.contains(GOOD_KEY), "{body}");
        }
    }
}

#[actix_web::test]
async fn the_conversation_model_override_goes_upstream() {
    // SPEC §11 #50
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "anthropic", "claude-sonnet-4-5").await;
    srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "c1"})).await;
    let res = srv
        .browser
        .put(srv.url("/conversations/c1/model"))
        .bearer_auth(&jwt)
        .json(&json!({"model_id": "claude-haiku-4-5"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    srv.chat(&jwt, &turn("hello")).await;
    let sent = srv.llm.last_call();
    assert_eq!(sent["model"], "claude-haiku-4-5");
    assert!(sent.get("thinking").is_none(), "haiku is not a thinking model");
}

#[actix_web::test]
async fn a_reply_silent_for_over_30_seconds_is_not_cut() {
    // SPEC §11 #54, §4.6: nothing between augchatd and the browser (or the model) times an idle stream out.
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    let body = turn("gated hello");
    let released = async {
        tokio::time::sleep(std::time::Duration::from_secs(31)).await;
        srv.llm.release();
    };
    let ((status, _, stream), ()) = futures_util::join!(srv.chat(&jwt, &body), released);
    assert_eq!(status, 200);
    let gap = stream.find(r#""delta":"from ""#).unwrap()..stream.find(r#""delta":"the ""#).unwrap();
    assert!(stream[gap].matches(": keepalive\n\n").count() >= 25, "a comment per quiet second: {stream}");
    assert!(stream.ends_with("data: [DONE]\n\n") && stream.contains(r#""type":"finish""#), "{stream}");
    assert_eq!(srv.get_with_jwt("/conversations/c1/messages", &jwt).await.1["messages"].as_array().unwrap().len(), 4);
}
