//! Model fallback (issue #8 item 6): `fallback_models` at `POST /sessions`, validated and probed like the
//! model; a turn whose model call fails with 429, 5xx or overloaded before anything was streamed is
//! answered by the next model, which the `finish` metadata and the stored message name.

use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::peers::llm::GOOD_KEY;
use crate::server::TestServer;
use crate::tool_loop::{ask, chunks, of_type};
use crate::usage::finish_metadata;

const FALLBACK_KEY: &str = "sk-fallback-key";

/// A Sonnet session falling back to Haiku, then to gpt-4o (each with its own key); returns the JWT.
async fn session(srv: &TestServer) -> String {
    srv.llm.accept(FALLBACK_KEY);
    let mut body = srv.session_body("u");
    body["fallback_models"] = json!([
        {"provider": "anthropic", "model_id": "claude-haiku-4-5", "api_key": FALLBACK_KEY},
        {"provider": "openai", "model_id": "gpt-4o", "api_key": GOOD_KEY}
    ]);
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{minted}");
    minted["jwt"].as_str().unwrap().to_owned()
}

/// The model id and key of every model call, in order.
fn calls(srv: &TestServer) -> Vec<(String, String)> {
    srv.llm
        .seen()
        .into_iter()
        .filter_map(|s| Some((s.body?["model"].as_str()?.to_owned(), s.credential.unwrap_or_default())))
        .collect()
}

#[actix_web::test]
async fn an_overloaded_model_is_replaced_by_the_first_fallback_for_the_whole_turn() {
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv).await;
    srv.llm.fail_model("claude-sonnet-4-5", 529);
    let (status, _, body) = srv.chat(&jwt, &ask("c1", "call: ghost__x {}")).await;
    assert_eq!(status, 200);
    // The tool loop's second call stays on the model that answered the first, with that model's key.
    let haiku = ("claude-haiku-4-5".to_owned(), FALLBACK_KEY.to_owned());
    assert_eq!(calls(&srv), [("claude-sonnet-4-5".to_owned(), GOOD_KEY.to_owned()), haiku.clone(), haiku]);

    let chunks = chunks(&body);
    let start = &of_type(&chunks, "start")[0]["messageMetadata"]["augchatd"];
    assert_eq!(start["model_id"], "claude-sonnet-4-5", "the model asked first");
    let finish = &of_type(&chunks, "finish")[0]["messageMetadata"]["augchatd"];
    let fallback_from = json!({"model_id": "claude-sonnet-4-5", "provider": "anthropic"});
    assert_eq!((&finish["model_id"], &finish["fallback_from"]), (&json!("claude-haiku-4-5"), &fallback_from));
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    let metadata = &stored["messages"][1]["metadata"]["augchatd"];
    assert_eq!((&metadata["model_id"], &metadata["provider"]), (&json!("claude-haiku-4-5"), &json!("anthropic")));
    assert_eq!(metadata["fallback_from"], fallback_from);
    assert_eq!(metadata["usage"]["input_tokens"], 200, "only the calls that answered count");
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["inBandErrors"], json!([]));
    assert_eq!(checked["message"]["metadata"]["augchatd"]["model_id"], "claude-haiku-4-5", "merged by the client");
}

#[actix_web::test]
async fn a_rate_limited_fallback_moves_down_the_list() {
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv).await;
    srv.llm.fail_model("claude-sonnet-4-5", 429);
    srv.llm.fail_model("claude-haiku-4-5", 503);
    let (_, _, body) = srv.chat(&jwt, &ask("c1", "hello")).await;
    let finish = finish_metadata(&body);
    assert_eq!((&finish["model_id"], &finish["provider"]), (&json!("gpt-4o"), &json!("openai")));
    assert_eq!(calls(&srv).len(), 3);
    // The next turn starts again with the session's model.
    srv.chat(&jwt, &ask("c2", "hello")).await;
    assert_eq!(calls(&srv)[3].0, "claude-sonnet-4-5");
}

#[actix_web::test]
async fn no_fallback_after_the_reply_began_or_for_a_refused_key_or_when_all_fail() {
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv).await;
    for (trigger, expected_calls) in [("mid-error", 1), ("status-401", 1), ("status-400", 1), ("overload", 3)] {
        let before = calls(&srv).len();
        let (status, _, body) = srv.chat(&jwt, &ask("c1", trigger)).await;
        assert_eq!(status, 200);
        assert_eq!(check_ui_stream(&body)["inBandErrors"][0], "An error occurred.", "{trigger}");
        assert_eq!(calls(&srv).len() - before, expected_calls, "{trigger}");
    }
}

#[actix_web::test]
async fn fallback_models_are_validated_and_probed_like_the_model() {
    let srv = TestServer::start(|_, _| {}).await;
    let with = |fallbacks: Value| {
        let mut body = srv.session_body("u");
        body["fallback_models"] = fallbacks;
        body
    };
    let good = json!({"provider": "openai", "model_id": "gpt-4o", "api_key": GOOD_KEY});
    let cases = [
        (json!("gpt-4o"), "invalid_field", "fallback_models must be an array"),
        (
            json!([good, {"provider": "openai"}]),
            "invalid_field",
            "fallback_models[1].model_id must be a non-empty string",
        ),
        (
            json!([{"provider": "gemini", "model_id": "g", "api_key": "k"}]),
            "unsupported_provider",
            "fallback_models[0].provider is not supported (only \"anthropic\" or \"openai\")",
        ),
        (json!([good, good, good, good]), "invalid_field", "fallback_models may name at most 3 models"),
    ];
    for (fallbacks, code, detail) in cases {
        let (status, answer) = srv.post_session(&srv.acme, &with(fallbacks.clone())).await;
        assert_eq!((status, answer), (400, json!({"error": code, "detail": detail})), "{fallbacks}");
    }
    // A fallback whose key the provider refuses is found now, not during the outage it is there for.
    let bad_key = json!([good, {"provider": "anthropic", "model_id": "claude-haiku-4-5", "api_key": "sk-wrong"}]);
    let (status, answer) = srv.post_session(&srv.acme, &with(bad_key)).await;
    assert_eq!((status, answer["error"].as_str()), (422, Some("llm_credential_probe_failed")));
    assert_eq!(answer["detail"], "fallback_models[1]: the provider rejected the API key (HTTP 401)");
    assert!(!answer.to_string().contains("sk-wrong"));
}
