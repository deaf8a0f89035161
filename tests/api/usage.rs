//! Token usage per assistant message and prompt caching (issue #8 items 2 and 3): the counts the
//! providers report, summed over a turn's model calls, in the `finish` chunk's metadata and in the stored
//! message; the cache breakpoints Anthropic is sent and the cached tokens that come back.

use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::peers::mcp;
use crate::server::TestServer;
use crate::tool_loop::{ask, chunks, of_type, session};

/// `messageMetadata.augchatd` of the stream's `finish` chunk.
pub fn finish_metadata(body: &str) -> Value {
    of_type(&chunks(body), "finish")[0]["messageMetadata"]["augchatd"].clone()
}

fn usage(input: u64, output: u64, read: u64, write: u64, reasoning: u64) -> Value {
    json!({"input_tokens": input, "output_tokens": output, "cache_read_tokens": read,
           "cache_write_tokens": write, "reasoning_tokens": reasoning})
}

#[actix_web::test]
async fn a_tool_loops_usage_is_summed_over_its_calls_sent_in_finish_and_stored_with_the_reply() {
    let tools = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|_, _| {}).await;
    let docs = json!([{"descriptive_id": "docs", "name": "Docs", "type": "mcp", "default_active": true,
                       "url": tools.url, "auth": {"bearer": "tok-a"}}]);
    let jwt = session(&srv, "u", ("anthropic", "claude-haiku-4-5"), docs).await;
    let (status, _, body) = srv.chat(&jwt, &ask("c1", r#"call: docs__search {"q": "rust"}"#)).await;
    assert_eq!(status, 200, "{body}");

    // Both calls marked the system prompt and the last tool definition for Anthropic's prompt cache.
    let calls: Vec<Value> = srv.llm.seen().into_iter().filter_map(|s| s.body).collect();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call["system"][0]["cache_control"], json!({"type": "ephemeral"}));
        let tools = call["tools"].as_array().unwrap();
        assert_eq!(tools.last().unwrap()["cache_control"], json!({"type": "ephemeral"}));
        assert!(tools[..tools.len() - 1].iter().all(|t| t.get("cache_control").is_none()), "one breakpoint");
    }
    // The first call wrote 80 prompt tokens to the cache and the second read them back.
    let expected = usage(200, 17, 80, 80, 0);
    let chunks = chunks(&body);
    assert_eq!(of_type(&chunks, "start")[0]["messageMetadata"]["augchatd"].get("usage"), None);
    let finish = &of_type(&chunks, "finish")[0]["messageMetadata"]["augchatd"];
    assert_eq!(finish["usage"], expected);
    assert_eq!((&finish["model_id"], &finish["provider"]), (&json!("claude-haiku-4-5"), &json!("anthropic")));
    assert_eq!(finish.get("fallback_from"), None);
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(
        stored["messages"][1]["metadata"],
        json!({"augchatd": {"model_id": "claude-haiku-4-5", "provider": "anthropic", "usage": expected}})
    );
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["message"]["metadata"]["augchatd"]["usage"], expected, "the AI SDK client keeps it");
}

#[actix_web::test]
async fn openai_reports_cached_and_reasoning_tokens() {
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", ("openai", "o3"), json!([])).await;
    let reply = srv.chat(&jwt, &ask("c1", "hello")).await.2;
    assert_eq!(finish_metadata(&reply)["usage"], usage(100, 5, 64, 0, 3));
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    assert_eq!(stored["messages"][1]["metadata"]["augchatd"]["usage"], usage(100, 5, 64, 0, 3));
}

#[actix_web::test]
async fn the_offline_demo_model_reports_plausible_counts() {
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    let (_, _, body) = srv.chat(&jwt, &ask("c1", "hello")).await;
    let counts = &finish_metadata(&body)["usage"];
    let (input, output) = (counts["input_tokens"].as_u64().unwrap(), counts["output_tokens"].as_u64().unwrap());
    // The system prompt and "hello" are about a dozen tokens; the canned reply is a paragraph.
    assert!((5..50).contains(&input), "{counts}");
    assert!((50..500).contains(&output), "{counts}");
    assert_eq!(counts["cache_read_tokens"], 0);
}
