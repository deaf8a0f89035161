//! MCP connectors through `POST /chat` (SPEC §5.3–§5.5; §11 items 52, 53, 62–74, 88, 94, 99): the tools
//! a turn offers, the credentials each call carries, and what the browser sees when a server fails,
//! hangs or refuses the session.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::peers::mcp::{self, BASIC_PASSWORD, BASIC_USER, CLIENT_ID, McpPeer};
use crate::server::TestServer;
use crate::tool_loop::{ask, chunks, final_text, of_type, session};

const HAIKU: (&str, &str) = ("anthropic", "claude-haiku-4-5");

fn docs(url: &str, auth: Value) -> Value {
    json!({"descriptive_id": "docs", "name": "Docs", "type": "mcp", "default_active": true,
           "description": "Company docs", "url": url, "auth": auth})
}

fn offered(call: &Value) -> Vec<String> {
    let mut names: Vec<String> = call["tools"]
        .as_array()
        .map(|t| t.iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn call_auths(peer: &McpPeer, tool: &str) -> Vec<Option<String>> {
    peer.seen().into_iter().filter(|s| s.tool.as_deref() == Some(tool)).map(|s| s.authorization).collect()
}

#[actix_web::test]
async fn read_only_tools_are_offered_and_a_call_carries_the_sessions_token() {
    // SPEC §11 #62, #63, #67, #69, #70
    let peer = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-a"}))])).await;
    let (status, _, body) = srv.chat(&jwt, &ask("c1", r#"call: docs__search {"q": "rust"}"#)).await;
    assert_eq!(status, 200, "{body}");
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(final_text(&checked), r#"Tool results: 1 hit for "rust""#);
    let chunks = chunks(&body);
    assert_eq!(of_type(&chunks, "tool-output-available")[0]["output"], r#"1 hit for "rust""#);

    let first = &srv.llm.seen().into_iter().find_map(|s| s.body).unwrap();
    assert_eq!(offered(first), ["docs__broken", "docs__expired", "docs__search", "docs__slow", "docs__whoami"]);
    let search = first["tools"].as_array().unwrap().iter().find(|t| t["name"] == "docs__search").unwrap();
    assert!(search["description"].as_str().unwrap().starts_with("[Docs: Company docs]\n\n"), "{search}");
    assert_eq!(search["input_schema"]["properties"]["q"]["type"], "string");
    assert_eq!(call_auths(&peer, "search"), [Some("Bearer tok-a".to_owned())]);
    assert!(!body.contains(&peer.url) && !body.contains("tok-a"), "no MCP URL or token in the stream");
}

#[actix_web::test]
async fn read_only_false_offers_every_tool() {
    // SPEC §11 #68
    let peer = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|_, _| {}).await;
    let mut connector = docs(&peer.url, json!({"bearer": "tok-a"}));
    connector["read_only"] = json!(false);
    let jwt = session(&srv, "u", HAIKU, json!([connector])).await;
    assert_eq!(srv.chat(&jwt, &ask("c1", "hello")).await.0, 200);
    assert_eq!(offered(&srv.llm.last_call()).len(), 7);
}

#[actix_web::test]
async fn basic_and_header_auth_shapes_reach_the_server() {
    // SPEC §11 #64, #65
    let peer = mcp::start(&[]).await;
    let srv = TestServer::start(|_, _| {}).await;
    let basic = docs(&peer.url, json!({"basic": {"username": BASIC_USER, "password": BASIC_PASSWORD}}));
    let jwt = session(&srv, "u1", HAIKU, json!([basic])).await;
    assert_eq!(srv.chat(&jwt, &ask("c1", "call: docs__whoami {}")).await.0, 200);
    assert_eq!(call_auths(&peer, "whoami"), [Some("Basic YWxpY2U6d29uZGVy".to_owned())]);

    let headers = docs(&peer.url, json!({"headers": {"X-Mcp-Client-Id": CLIENT_ID}}));
    let jwt = session(&srv, "u2", HAIKU, json!([headers])).await;
    let (_, _, body) = srv.chat(&jwt, &ask("c1", "call: docs__whoami {}")).await;
    assert!(final_text(&check_ui_stream(&body)).starts_with("Tool results:"), "{body}");
    let seen = peer.seen();
    let call = seen.iter().rev().find(|s| s.tool.as_deref() == Some("whoami")).unwrap();
    assert_eq!((call.authorization.as_deref(), call.client_id.as_deref()), (None, Some(CLIENT_ID)));
}

#[actix_web::test]
async fn two_sessions_on_one_server_each_send_their_own_token() {
    // SPEC §5.3 (per-session clients), §11 #66
    let peer = mcp::start(&["tok-a", "tok-b"]).await;
    let srv = TestServer::start(|_, _| {}).await;
    let a = session(&srv, "alice", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-a"}))])).await;
    let b = session(&srv, "bob", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-b"}))])).await;
    let turn = ask("c1", "call: docs__whoami {}");
    let ((sa, _, _), (sb, _, _)) = futures_util::join!(srv.chat(&a, &turn), srv.chat(&b, &turn));
    assert_eq!((sa, sb), (200, 200));
    let mut auths = call_auths(&peer, "whoami");
    auths.sort();
    assert_eq!(auths, [Some("Bearer tok-a".to_owned()), Some("Bearer tok-b".to_owned())]);
    // A second turn reuses each session's client: no new initialize.
    let initializes = |p: &McpPeer| p.seen().iter().filter(|s| s.rpc_method.as_deref() == Some("initialize")).count();
    assert_eq!(initializes(&peer), 2);
    assert_eq!(srv.chat(&a, &turn).await.0, 200);
    assert_eq!(initializes(&peer), 2);
}

#[actix_web::test]
async fn an_mcp_401_mid_stream_warns_and_asks_the_ui_for_a_fresh_jwt() {
    // SPEC §5.5, §11 #71
    let peer = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|env, dir| {
        env.insert("AUGCHATD_TRACE_DIR".into(), dir.path().join("traces").to_str().unwrap().into());
    })
    .await;
    let jwt = session(&srv, "u", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-a"}))])).await;
    let (status, _, body) = srv.chat(&jwt, &ask("c1", "call: docs__expired {}")).await;
    assert_eq!(status, 200);
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    assert!(final_text(&checked).contains("⚠ **Connector authentication expired** — `docs`."), "{checked}");
    let chunks = chunks(&body);
    let data = of_type(&chunks, "data-augchatd-error");
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["data"], json!({"code": "upstream_unauthorized", "connectors": ["docs"]}));
    assert!(data[0]["id"].as_str().unwrap().starts_with("augchatd-upstream-401-"));
    let sentinel = of_type(&chunks, "tool-output-available")[0]["output"].as_str().unwrap().to_owned();
    assert!(sentinel.starts_with("[augchatd:upstream_unauthorized:docs]"), "{sentinel}");
    // The parts come before the finish (SPEC §4.2 proposal).
    let finish = chunks.iter().position(|c| c["type"] == "finish").unwrap();
    assert!(chunks.iter().position(|c| c["type"] == "data-augchatd-error").unwrap() < finish);
    let trace = std::fs::read_to_string(srv.dir.path().join("traces/c1.jsonl")).unwrap();
    let event: Value = trace
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["type"] == "upstream.unauthorized")
        .unwrap();
    assert_eq!(event["connector"], "docs");
    assert_eq!(event["tool_name"], "docs__expired");
}

#[actix_web::test]
async fn an_mcp_server_refusing_at_turn_start_is_a_real_401() {
    // SPEC §5.5 ("a real 401" before streaming), decision 4
    let peer = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", HAIKU, json!([docs(&peer.url, json!({"bearer": "stale"}))])).await;
    let res = srv.browser.post(srv.url("/chat")).bearer_auth(&jwt).json(&ask("c1", "hello")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-augchatd-reason"], "upstream-unauthorized");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "upstream_unauthorized");
    assert_eq!(body["connectors"], json!(["docs"]));
    assert!(!body.to_string().contains("stale") && !body.to_string().contains(&peer.url));
    assert!(srv.llm.seen().iter().all(|s| s.body.is_none()), "the model is never called");
    // A server revoked after the session's client connected: the call's 401 travels in-stream, and the
    // next turn (the client was dropped) gets the real 401.
    let jwt = session(&srv, "u2", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-a"}))])).await;
    assert_eq!(srv.chat(&jwt, &ask("c1", "hello")).await.0, 200);
    peer.revoke();
    let (status, _, body) = srv.chat(&jwt, &ask("c1", "call: docs__search {\"q\": \"x\"}")).await;
    assert_eq!(status, 200);
    assert_eq!(of_type(&chunks(&body), "data-augchatd-error").len(), 1);
    assert_eq!(srv.chat(&jwt, &ask("c1", "hello")).await.0, 401);
}

#[actix_web::test]
async fn a_failing_tool_is_a_tool_output_error_and_the_turn_goes_on() {
    // SPEC §4.5, §11 #72
    let peer = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-a"}))])).await;
    let (_, _, body) = srv.chat(&jwt, &ask("c1", "call: docs__broken {}")).await;
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");
    let failed = of_type(&chunks(&body), "tool-output-error").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(failed.len(), 1);
    assert!(!failed[0]["errorText"].as_str().unwrap().contains("127.0.0.1"), "{failed:?}");
    assert!(final_text(&checked).starts_with("Tool results:"));
}

#[actix_web::test]
async fn an_unreachable_mcp_server_leaves_its_tools_out_and_chat_works() {
    // SPEC §11 #73
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", closed.local_addr().unwrap());
    drop(closed);
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", HAIKU, json!([docs(&url, json!({"bearer": "tok-a"}))])).await;
    let (status, _, body) = srv.chat(&jwt, &ask("c1", "hello")).await;
    assert_eq!(status, 200);
    assert_eq!(final_text(&check_ui_stream(&body)), "Hello from the scripted model.");
    assert!(srv.llm.last_call().get("tools").is_none());
}

#[actix_web::test]
async fn a_legacy_sse_server_works_through_the_fallback() {
    // SPEC §5.3 proposal, decision 6, §11 #74
    let peer = mcp::start_legacy("tok-legacy").await;
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-legacy"}))])).await;
    let (_, _, body) = srv.chat(&jwt, &ask("c1", r#"call: docs__search {"q": "old"}"#)).await;
    assert_eq!(final_text(&check_ui_stream(&body)), r#"Tool results: 1 hit for "old""#);
    assert!(peer.seen().iter().all(|s| s.authorization.as_deref() == Some("Bearer tok-legacy")));
}

#[actix_web::test]
async fn a_hung_tool_times_out_as_an_error_result() {
    // Issue #5 item 4: a hung server gives an error result, never a hung turn.
    let peer = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_TOOL_TIMEOUT_MS".into(), "500".into());
    })
    .await;
    let jwt = session(&srv, "u", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-a"}))])).await;
    let (status, _, body) =
        tokio::time::timeout(Duration::from_secs(20), srv.chat(&jwt, &ask("c1", "call: docs__slow {}")))
            .await
            .expect("the turn ends");
    assert_eq!(status, 200);
    let failed = of_type(&chunks(&body), "tool-output-error").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(failed.len(), 1, "{body}");
    assert!(final_text(&check_ui_stream(&body)).starts_with("Tool results:"));
}

#[actix_web::test]
async fn stopping_a_turn_mid_tool_call_cancels_it_and_the_partial_reply_is_stored() {
    // SPEC §2.4, §11 #52, #53; issue #8 item 1: a stop, not a disconnect, ends the turn.
    let peer = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|env, dir| {
        env.insert("AUGCHATD_TRACE_DIR".into(), dir.path().join("traces").to_str().unwrap().into());
    })
    .await;
    let jwt = session(&srv, "u", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-a"}))])).await;
    let res = srv
        .browser
        .post(srv.url("/chat"))
        .bearer_auth(&jwt)
        .json(&ask("c1", "call: docs__slow {}"))
        .send()
        .await
        .unwrap();
    let mut stream = res.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("tool-input-available") {
        seen.push_str(&String::from_utf8_lossy(&stream.next().await.unwrap().unwrap()));
    }
    while peer.calls("slow") == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stop = srv.browser.post(srv.url("/chat/c1/stop")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(stop.status(), 204);
    let mut rest = String::new();
    while let Some(piece) = stream.next().await {
        rest.push_str(&String::from_utf8_lossy(&piece.unwrap()));
    }
    assert!(rest.contains(r#"{"type":"abort","reason":"stopped"}"#) && rest.ends_with("data: [DONE]\n\n"), "{rest}");
    // The call in flight is cancelled at the server, and the partial reply is stored.
    let cancelled = || peer.seen().iter().any(|s| s.rpc_method.as_deref() == Some("notifications/cancelled"));
    for _ in 0..100 {
        if cancelled() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let trace_now = std::fs::read_to_string(srv.dir.path().join("traces/c1.jsonl")).unwrap_or_default();
    assert!(cancelled(), "the MCP server was told to cancel the call; trace: {trace_now}; seen: {:?}", peer.seen());
    let mut stored = Value::Null;
    for _ in 0..100 {
        let (_, messages) = srv.get_with_jwt("/conversations/c1/messages", &jwt).await;
        if messages["messages"].as_array().is_some_and(|m| m.len() == 2) {
            stored = messages;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reply = &stored["messages"][1];
    let tool = reply["parts"].as_array().unwrap().iter().find(|p| p["type"] == "tool-docs__slow").unwrap();
    assert_eq!(tool["state"], "input-available");
    let trace = std::fs::read_to_string(srv.dir.path().join("traces/c1.jsonl")).unwrap();
    assert!(trace.contains(r#""type":"aborted""#) && !trace.contains(r#""type":"response.finish""#), "{trace}");
}

#[actix_web::test]
async fn a_connector_switched_off_mid_turn_keeps_this_turn_and_leaves_the_next() {
    // SPEC §5.4, §11 #88, #94, #99
    let peer = mcp::start(&["tok-a"]).await;
    let srv = TestServer::start(|env, dir| {
        env.insert("AUGCHATD_TRACE_DIR".into(), dir.path().join("traces").to_str().unwrap().into());
        env.insert("AUGCHATD_TOOL_TIMEOUT_MS".into(), "1500".into());
    })
    .await;
    let mut off = docs(&peer.url, json!({"bearer": "tok-a"}));
    off["descriptive_id"] = json!("later");
    off["default_active"] = json!(false);
    let jwt = session(&srv, "u", HAIKU, json!([docs(&peer.url, json!({"bearer": "tok-a"})), off])).await;
    let slow = ask("c1", "call: docs__slow {}");
    let turn = srv.chat(&jwt, &slow);
    let toggle = async {
        while peer.calls("slow") == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let put = srv.browser.put(srv.url("/conversations/c1/connectors/docs")).bearer_auth(&jwt);
        put.json(&json!({"active": false})).send().await.unwrap().status()
    };
    let ((status, _, body), toggled) = futures_util::join!(turn, toggle);
    assert_eq!((status, toggled.as_u16()), (200, 204));
    // The turn's model call after the tool result, made after the toggle, still offered the connector's tools.
    let calls: Vec<Value> = srv.llm.seen().into_iter().filter_map(|s| s.body).collect();
    assert_eq!(calls.len(), 2, "the call that asked for the tool and the one after its result");
    let names = |call: &Value| -> Vec<String> {
        call["tools"].as_array().map_or(vec![], |t| t.iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect())
    };
    assert!(names(&calls[1]).iter().any(|n| n.starts_with("docs__")), "{:?}", names(&calls[1]));
    assert_eq!(of_type(&chunks(&body), "tool-output-error").len(), 1, "the running call finished (timed out) as usual");
    assert!(body.contains(": keepalive\n\n"), "a silent tool call keeps the stream alive (SPEC §4.6)");
    let trace = std::fs::read_to_string(srv.dir.path().join("traces/c1.jsonl")).unwrap();
    let deferred: Value = trace
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["type"] == "connector.toggle.deferred")
        .unwrap();
    assert_eq!((deferred["descriptive_id"].clone(), deferred["active"].clone()), (json!("docs"), json!(false)));
    // The next turn offers neither the switched-off connector nor the default-off one, and refuses a call to it.
    let (_, _, body) = srv.chat(&jwt, &ask("c1", r#"call: docs__search {"q": "x"}"#)).await;
    assert!(srv.llm.last_call().get("tools").is_none());
    assert!(of_type(&chunks(&body), "tool-output-error")[0]["errorText"].as_str().unwrap().contains("not available"));
    assert_eq!(peer.calls("search"), 0);
    // Switched on, the default-off connector is offered from the next turn, and its tools run.
    let put = srv.browser.put(srv.url("/conversations/c1/connectors/later")).bearer_auth(&jwt);
    assert_eq!(put.json(&json!({"active": true})).send().await.unwrap().status(), 204);
    let before = srv.llm.seen().len();
    let (_, _, body) = srv.chat(&jwt, &ask("c1", r#"call: later__search {"q": "x"}"#)).await;
    let calls = srv.llm.seen().into_iter().skip(before).filter_map(|s| s.body);
    let names: Vec<String> = calls.flat_map(|call| names(&call)).collect();
    assert!(names.iter().any(|n| n == "later__search") && !names.iter().any(|n| n == "docs__search"), "{names:?}");
    assert_eq!(of_type(&chunks(&body), "tool-output-available").len(), 1, "{body}");
    assert_eq!(peer.calls("search"), 1);
}
