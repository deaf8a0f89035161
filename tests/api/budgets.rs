//! Per-session budgets (issue #8 item 2): `limits` at `POST /sessions`, validated; `POST /chat` refused
//! with a 429 and no stream once a limit is reached; a token budget that runs out between the model calls
//! of a turn ends the reply with an error part, and the partial reply is stored.

use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::peers::llm::GOOD_KEY;
use crate::server::TestServer;
use crate::tool_loop::{ask, chunks, of_type};

/// Mints a Haiku session (no thinking) under `limits`; returns the JWT.
async fn session(srv: &TestServer, limits: Value) -> String {
    let mut body = srv.session_body("u");
    body["model"] = json!({"provider": "anthropic", "model_id": "claude-haiku-4-5", "api_key": GOOD_KEY});
    body["limits"] = limits;
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{minted}");
    minted["jwt"].as_str().unwrap().to_owned()
}

fn model_calls(srv: &TestServer) -> usize {
    srv.llm.seen().iter().filter(|s| s.body.is_some()).count()
}

/// Sends a turn that must be refused; returns the error body and the `Retry-After` header.
async fn refused(srv: &TestServer, jwt: &str, cid: &str) -> (Value, Option<String>) {
    let (status, headers, body) = srv.chat(jwt, &ask(cid, "hello")).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["content-type"], "application/json", "no stream");
    let retry_after = headers.get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (serde_json::from_str(&body).unwrap(), retry_after)
}

#[actix_web::test]
async fn bad_limits_are_refused_with_invalid_limits() {
    let srv = TestServer::start(|_, _| {}).await;
    let cases = [
        (json!("lots"), "limits must be an object"),
        (json!({"max_tokens": 0}), "limits.max_tokens must be an integer from 1 to 1000000000000"),
        (json!({"max_turns": -1}), "limits.max_turns must be an integer from 1 to 1000000"),
        (json!({"requests_per_minute": 1.5}), "limits.requests_per_minute must be an integer from 1 to 1000"),
        (json!({"requests_per_minute": 1001}), "limits.requests_per_minute must be an integer from 1 to 1000"),
        (
            json!({"max_turn": 3}),
            "limits has an unknown key \"max_turn\"; the keys are max_tokens, max_turns and requests_per_minute",
        ),
    ];
    for (limits, detail) in cases {
        let mut body = srv.session_body("u");
        body["limits"] = limits.clone();
        let (status, answer) = srv.post_session(&srv.acme, &body).await;
        assert_eq!(status, 400, "{limits}");
        assert_eq!(answer, json!({"error": "invalid_limits", "detail": detail}), "{limits}");
    }
    assert_eq!(model_calls(&srv), 0);
}

#[actix_web::test]
async fn max_turns_refuses_the_next_turn_before_any_stream() {
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, json!({"max_turns": 1})).await;
    // A request refused for its body started no turn, so it does not count.
    let (status, _) = srv.post_with_jwt("/chat", &jwt, &json!({"id": "c1"})).await;
    assert_eq!(status, 400);
    assert_eq!(srv.chat(&jwt, &ask("c1", "hello")).await.0, 200);
    let (error, retry_after) = refused(&srv, &jwt, "c2").await;
    assert_eq!(error["error"], "turn_limit_reached");
    assert!(error["detail"].as_str().unwrap().contains("limits.max_turns"), "{error}");
    assert_eq!(retry_after, None, "waiting does not help");
    assert_eq!(model_calls(&srv), 1);
    // Limits are the session's: another session of the same user chats on.
    let other = session(&srv, json!(null)).await;
    assert_eq!(srv.chat(&other, &ask("c2", "hello")).await.0, 200);
}

#[actix_web::test]
async fn requests_per_minute_answers_429_with_retry_after() {
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, json!({"requests_per_minute": 2})).await;
    for cid in ["c1", "c2"] {
        assert_eq!(srv.chat(&jwt, &ask(cid, "hello")).await.0, 200);
    }
    let (error, retry_after) = refused(&srv, &jwt, "c3").await;
    assert_eq!(error["error"], "rate_limited");
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");
    assert_eq!(model_calls(&srv), 2);
}

#[actix_web::test]
async fn a_token_budget_used_up_mid_turn_ends_the_reply_with_an_error_part_and_stores_it() {
    let srv = TestServer::start(|_, _| {}).await;
    // The first model call of the tool loop costs 100 + 12 tokens: the second is never made.
    let jwt = session(&srv, json!({"max_tokens": 100})).await;
    let (status, _, body) = srv.chat(&jwt, &ask("c1", "call: ghost__x {}")).await;
    assert_eq!(status, 200);
    assert_eq!(model_calls(&srv), 1);
    let chunks = chunks(&body);
    let error = json!({"code": "token_budget_exhausted", "max_tokens": 100, "used_tokens": 112});
    assert_eq!(of_type(&chunks, "data-augchatd-error")[0]["data"], error);
    let finish = of_type(&chunks, "finish")[0];
    assert_eq!(finish["finishReason"], "length");
    assert_eq!(finish["messageMetadata"]["augchatd"]["usage"]["input_tokens"], 100);

    // The partial reply (the refused tool call) is stored with the error part and the usage.
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    let reply = &stored["messages"][1];
    let parts = reply["parts"].as_array().unwrap();
    assert!(parts.iter().any(|p| p["type"] == "tool-ghost__x"), "{reply}");
    assert_eq!(parts.last().unwrap()["data"], error);
    assert_eq!(reply["metadata"]["augchatd"]["usage"]["output_tokens"], 12);

    let (error, _) = refused(&srv, &jwt, "c1").await;
    assert_eq!(error["error"], "token_budget_exhausted");
    assert_eq!(model_calls(&srv), 1);
    // Last: the checker takes seconds, longer than an idle connection is kept.
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
}
