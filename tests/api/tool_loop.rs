//! The server-side tool-use loop through the real daemon and the scripted model (SPEC §5.1, §4.2,
//! §9.3; §11 items 48, 56, 163, 164, 166): calls, refusals, malformed arguments, parallel calls, the
//! step cap and the JSONL trace. Connector-specific behaviour is in `mcp_chat` and `rag_chat`.

use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::peers::llm::GOOD_KEY;
use crate::server::TestServer;

/// Mints a session with `model` (provider, model id) and `connectors`; returns the JWT.
pub async fn session(srv: &TestServer, user: &str, model: (&str, &str), connectors: Value) -> String {
    let mut body = srv.session_body(user);
    body["model"] = json!({"provider": model.0, "model_id": model.1, "api_key": GOOD_KEY});
    body["connectors"] = connectors;
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{minted}");
    minted["jwt"].as_str().unwrap().to_owned()
}

/// A one-message thread asking `text` in conversation `cid`.
pub fn ask(cid: &str, text: &str) -> Value {
    json!({"id": cid, "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]})
}

/// The stream's JSON chunks, in order.
pub fn chunks(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

/// The chunks of one type.
pub fn of_type<'a>(chunks: &'a [Value], kind: &str) -> Vec<&'a Value> {
    chunks.iter().filter(|c| c["type"] == kind).collect()
}

/// The assembled message's text parts, joined.
pub fn final_text(checked: &Value) -> String {
    checked["message"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "text")
        .map(|p| p["text"].as_str().unwrap())
        .collect()
}

fn model_calls(srv: &TestServer) -> Vec<Value> {
    srv.llm.seen().into_iter().filter_map(|s| s.body).collect()
}

#[actix_web::test]
async fn a_call_to_a_tool_outside_the_set_is_refused_and_the_loop_goes_on() {
    // SPEC §5.4 ("a call to anything else is refused"), §11 #48
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", ("anthropic", "claude-haiku-4-5"), json!([])).await;
    let (status, _, body) = srv.chat(&jwt, &ask("c1", r#"call: ghost__x {"a": 1}"#)).await;
    assert_eq!(status, 200);
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    let chunks = chunks(&body);
    let started = of_type(&chunks, "tool-input-start");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["toolName"], "ghost__x");
    assert_eq!(of_type(&chunks, "tool-input-available")[0]["input"], json!({"a": 1}));
    let refused = of_type(&chunks, "tool-output-error");
    assert!(refused[0]["errorText"].as_str().unwrap().contains("not available"), "{refused:?}");
    assert_eq!(of_type(&chunks, "start-step").len(), 2, "the model is called again with the refusal");
    assert!(final_text(&checked).starts_with("Tool results: tool ghost__x is not available"));
    assert_eq!(of_type(&chunks, "finish")[0]["finishReason"], "stop");

    let calls = model_calls(&srv);
    assert!(calls[0].get("tools").is_none(), "no connectors, no tools in the request");
    let second = &calls[1]["messages"];
    assert_eq!(second[1]["content"][0]["type"], "tool_use");
    assert_eq!(second[2]["content"][0]["type"], "tool_result");
    assert_eq!(second[2]["content"][0]["is_error"], true);

    // The stored reply has the call as the AI SDK assembles it.
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    let reply = stored["messages"].as_array().unwrap().last().unwrap().clone();
    let tool = reply["parts"].as_array().unwrap().iter().find(|p| p["type"] == "tool-ghost__x").unwrap().clone();
    assert_eq!(tool["state"], "output-error");
    assert_eq!(tool["input"], json!({"a": 1}));
}

#[actix_web::test]
async fn a_thinking_model_gets_its_signed_thinking_back_in_front_of_its_tool_use() {
    // SPEC §5.7: the thinking block and its signature go back during the tool loop, and again on the
    // next turn from the stored reasoning part.
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", ("anthropic", "claude-sonnet-4-5"), json!([])).await;
    let (_, _, body) = srv.chat(&jwt, &ask("c1", "call: ghost__x {}")).await;
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    let reasoning =
        checked["message"]["parts"].as_array().unwrap().iter().find(|p| p["type"] == "reasoning").unwrap().clone();
    assert_eq!(reasoning["providerMetadata"], json!({"anthropic": {"signature": "sig"}}));
    let second = &model_calls(&srv)[1]["messages"][1]["content"];
    assert_eq!(second[0], json!({"type": "thinking", "thinking": "Let me think.", "signature": "sig"}));
    assert_eq!(second[1]["type"], "tool_use");

    // The next turn replays the stored, signed reasoning from the client's thread.
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    let mut thread: Vec<Value> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"id": m["message_id"], "role": m["role"], "parts": m["parts"]}))
        .collect();
    thread.push(json!({"id": "u2", "role": "user", "parts": [{"type": "text", "text": "and now?"}]}));
    let (status, _, _) = srv.chat(&jwt, &json!({"id": "c1", "messages": thread})).await;
    assert_eq!(status, 200);
    let replayed = &srv.llm.last_call()["messages"][1]["content"];
    assert_eq!(replayed[0], json!({"type": "thinking", "thinking": "Let me think.", "signature": "sig"}));
}

#[actix_web::test]
async fn malformed_arguments_are_a_tool_input_error_and_never_run() {
    // SPEC §4.2 item 5 (tool-input-error)
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", ("openai", "gpt-4o"), json!([])).await;
    let (status, _, body) = srv.chat(&jwt, &ask("c1", r#"call: ghost__x {"q":"#)).await;
    assert_eq!(status, 200);
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    let chunks = chunks(&body);
    let bad = of_type(&chunks, "tool-input-error");
    assert_eq!(bad.len(), 1, "{chunks:?}");
    assert_eq!(bad[0]["input"], r#"{"q":"#);
    let (_, stored) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
    let part = stored["messages"][1]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "tool-ghost__x")
        .unwrap()
        .clone();
    assert_eq!((part["state"].clone(), part["rawInput"].clone()), (json!("output-error"), json!(r#"{"q":"#)));
    assert!(part.get("input").is_none());
    assert!(final_text(&checked).contains("not valid JSON"));
    let second = &model_calls(&srv)[1]["input"];
    let call = second.as_array().unwrap().iter().find(|i| i["type"] == "function_call").unwrap();
    assert_eq!(call["arguments"], "{}", "a malformed call goes back as an empty object");
}

#[actix_web::test]
async fn several_calls_in_one_step_run_and_return_together() {
    // SPEC §5.1 ("Tools run in parallel within a step")
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", ("openai", "gpt-4o"), json!([])).await;
    let (_, _, body) = srv.chat(&jwt, &ask("c1", "call: ghost__a {}; ghost__b {}")).await;
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    let chunks = chunks(&body);
    assert_eq!(of_type(&chunks, "tool-output-error").len(), 2);
    assert_eq!(of_type(&chunks, "start-step").len(), 2, "one step for both calls, one for the answer");
    let second = model_calls(&srv)[1]["input"].as_array().unwrap().clone();
    let outputs: Vec<&Value> = second.iter().filter(|i| i["type"] == "function_call_output").collect();
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0]["call_id"], "call_1_0");
    assert_eq!(outputs[1]["call_id"], "call_1_1");
}

#[actix_web::test]
async fn a_model_that_never_stops_calling_tools_is_capped_at_100_steps() {
    // SPEC §5.1 step 5, §11 #56
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", ("anthropic", "claude-haiku-4-5"), json!([])).await;
    let (status, _, body) = srv.chat(&jwt, &ask("c1", "loop call: ghost__x {}")).await;
    assert_eq!(status, 200);
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    let chunks = chunks(&body);
    assert_eq!(of_type(&chunks, "start-step").len(), 100);
    assert_eq!(model_calls(&srv).len(), 100);
    assert!(final_text(&checked).contains("hit the tool-use depth limit (100 steps)"));
    let notice = of_type(&chunks, "text-start").last().unwrap()["id"].as_str().unwrap().to_owned();
    assert!(notice.starts_with("augchatd-fallback-"), "{notice}");
    assert_eq!(of_type(&chunks, "finish")[0]["finishReason"], "tool-calls");
}

#[actix_web::test]
async fn the_trace_records_request_steps_and_finish_without_credentials() {
    // SPEC §9.3, §11 #163, #164
    let srv = TestServer::start(|env, dir| {
        env.insert("AUGCHATD_TRACE_DIR".into(), dir.path().join("traces").to_str().unwrap().into());
    })
    .await;
    let rag = json!([{"descriptive_id": "kb", "name": "KB", "type": "rag", "default_active": false,
        "backend": "opensearch", "cluster": "http://127.0.0.1:9", "auth": {"bearer": "rag-secret-token"},
        "indexes": ["docs"]}]);
    let jwt = session(&srv, "u", ("anthropic", "claude-haiku-4-5"), rag).await;
    let (status, _, _) = srv.chat(&jwt, &ask("c1", "call: ghost__x {}")).await;
    assert_eq!(status, 200);
    let text = std::fs::read_to_string(srv.dir.path().join("traces/c1.jsonl")).unwrap();
    assert!(!text.contains(GOOD_KEY) && !text.contains("rag-secret-token"), "{text}");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["request", "step.finish", "step.finish", "response.finish"]);
    for line in &lines {
        for key in ["ts", "type", "conversation_id", "session_id"] {
            assert!(line.get(key).is_some(), "{key} in {line}");
        }
    }
    let request = &lines[0];
    assert_eq!(request["user_id"], "u");
    assert_eq!(request["model"]["model_id"], "claude-haiku-4-5");
    assert_eq!(
        request["connectors"],
        json!([{"descriptive_id": "kb", "type": "rag", "name": "KB", "default_active": false, "active": false}])
    );
    assert_eq!(request["messages"][0]["parts"][0]["text"], "call: ghost__x {}");
    assert_eq!(lines[1]["tool_calls"][0]["toolName"], "ghost__x");
    assert_eq!(lines[1]["finish_reason"], "tool-calls");
    assert!(lines[2]["text"].as_str().unwrap().starts_with("Tool results:"));
    assert_eq!(lines[3]["step_count"], 2);
    // The first call writes the prompt cache, the second reads it (issue #8 item 3).
    let usage = |input, output, read, write| {
        json!({"input_tokens": input, "output_tokens": output, "cache_read_tokens": read,
               "cache_write_tokens": write, "reasoning_tokens": 0})
    };
    assert_eq!(lines[1]["usage"], usage(100, 12, 0, 80));
    assert_eq!(lines[2]["usage"], usage(100, 5, 80, 0));
    assert_eq!(lines[3]["total_usage"], usage(200, 17, 80, 80));
    assert_eq!(lines[3]["finish_reason"], "stop");
}

#[actix_web::test]
async fn an_empty_trace_dir_means_no_trace_files() {
    // SPEC §11 #166
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_TRACE_DIR".into(), String::new());
    })
    .await;
    let jwt = session(&srv, "u", ("anthropic", "claude-haiku-4-5"), json!([])).await;
    let (status, _, _) = srv.chat(&jwt, &ask("c1", "hello")).await;
    assert_eq!(status, 200);
    let jsonl = walk(srv.dir.path()).into_iter().filter(|p| p.extension().is_some_and(|e| e == "jsonl")).count();
    assert_eq!(jsonl, 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(walk(&path)) } else { found.push(path) }
    }
    found
}
