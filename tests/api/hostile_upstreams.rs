//! Hostile upstreams (issue #7 item 3): model streams and MCP answers drawn by proptest — wrong types,
//! impossible indexes and ids, huge counts, broken framing, bytes that are not UTF-8, cuts anywhere —
//! never panic the daemon, never hang a turn, and never break the browser's stream: every turn ends in a
//! stream the AI SDK's own parser accepts, with no upstream URL or credential in it, and what was stored
//! before is untouched. Cases come from a fixed seed (`hostile::draw`), so a failure reproduces.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::hostile::{any_json, draw};
use crate::peers::ai_sdk::check_ui_stream;
use crate::peers::hostile_mcp::{HostileMcp, Reply, Script, initialized, listed};
use crate::peers::llm::GOOD_KEY;
use crate::server::TestServer;
use crate::tool_loop::{ask, session};

const HAIKU: (&str, &str) = ("anthropic", "claude-haiku-4-5");
const GPT: (&str, &str) = ("openai", "gpt-4o");
const MCP_TOKEN: &str = "tok-hostile-mcp-secret";

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,16}",
        1 => Just("x".repeat(70_000)),
        1 => Just("\u{0}\u{feff}</script>\r\n\n\ndata: [DONE]\n\n".to_owned()),
    ]
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec!["call_1", "call_2", "", "id with spaces"]).prop_map(Value::from),
        1 => any_json(),
    ]
}

fn tool_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec!["probe", "hostile__probe", "docs__search", "", "bad name!"]).prop_map(Value::from),
        1 => Just(Value::from("n".repeat(300))),
        1 => any_json(),
    ]
}

fn count() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (0u64..1_000).prop_map(Value::from),
        1 => Just(Value::from(u64::MAX)),
        1 => Just(Value::from(-1)),
        1 => any_json(),
    ]
}

fn anthropic_usage() -> impl Strategy<Value = Value> {
    (count(), count(), count(), count()).prop_map(|(i, o, r, w)| {
        json!({"input_tokens": i, "output_tokens": o, "cache_read_input_tokens": r, "cache_creation_input_tokens": w})
    })
}

fn index() -> impl Strategy<Value = Value> {
    prop_oneof![4 => (0u64..3).prop_map(Value::from), 1 => Just(Value::from(u64::from(u32::MAX) + 1)), 1 => any_json()]
}

/// One Anthropic Messages event: `(event name, data)`.
fn anthropic_event() -> impl Strategy<Value = (String, String)> {
    let block = prop_oneof![
        Just(json!({"type": "text", "text": ""})),
        Just(json!({"type": "thinking", "thinking": ""})),
        (id(), tool_name()).prop_map(|(id, name)| json!({"type": "tool_use", "id": id, "name": name, "input": {}})),
        text().prop_map(|data| json!({"type": "redacted_thinking", "data": data})),
        any_json(),
    ];
    let delta = prop_oneof![
        text().prop_map(|t| json!({"type": "text_delta", "text": t})),
        text().prop_map(|t| json!({"type": "thinking_delta", "thinking": t})),
        text().prop_map(|t| json!({"type": "signature_delta", "signature": t})),
        prop::sample::select(vec!["{\"q\": ", "\"x\"}", "}", "{", "not json"])
            .prop_map(|p| json!({"type": "input_json_delta", "partial_json": p})),
        any_json(),
    ]
    .boxed();
    let stop_reason = prop::sample::select(vec!["end_turn", "tool_use", "max_tokens", "refusal", "??"]);
    let event = prop_oneof![
        anthropic_usage().prop_map(|u| json!({"type": "message_start", "message": {"id": "m", "usage": u}})),
        (index(), block).prop_map(|(i, b)| json!({"type": "content_block_start", "index": i, "content_block": b})),
        (index(), delta.clone()).prop_map(|(i, d)| json!({"type": "content_block_delta", "index": i, "delta": d})),
        (index(), delta).prop_map(|(i, d)| json!({"type": "content_block_delta", "index": i, "delta": d})),
        index().prop_map(|i| json!({"type": "content_block_stop", "index": i})),
        (stop_reason, anthropic_usage())
            .prop_map(|(r, u)| json!({"type": "message_delta", "delta": {"stop_reason": r}, "usage": u})),
        Just(json!({"type": "message_stop"})),
        prop::sample::select(vec!["overloaded_error", "api_error"]).prop_map(
            |kind| json!({"type": "error", "error": {"type": kind, "message": "at https://internal.example"}})
        ),
        Just(json!({"type": "ping"})),
        any_json(),
    ];
    prop_oneof![
        9 => event.prop_map(|data| {
            let name = data["type"].as_str().unwrap_or("message").to_owned();
            (name, data.to_string())
        }),
        1 => "\\PC{0,40}".prop_map(|junk| ("message".to_owned(), junk)),
    ]
}

/// One OpenAI Responses event: `(event name, data)`.
fn openai_event() -> impl Strategy<Value = (String, String)> {
    let call = (id(), id(), tool_name(), text())
        .prop_map(|(id, call_id, name, args)| json!({"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": args}))
        .boxed();
    let usage = (count(), count(), count(), count()).prop_map(|(i, o, c, r)| {
        json!({"input_tokens": i, "output_tokens": o, "input_tokens_details": {"cached_tokens": c},
               "output_tokens_details": {"reasoning_tokens": r}})
    });
    let event = prop_oneof![
        text().prop_map(|d| json!({"type": "response.output_text.delta", "item_id": "msg_1", "delta": d})),
        text().prop_map(|d| json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "delta": d})),
        call.clone().prop_map(|item| json!({"type": "response.output_item.added", "output_index": 0, "item": item})),
        (id(), text()).prop_map(
            |(item, d)| json!({"type": "response.function_call_arguments.delta", "item_id": item, "delta": d})
        ),
        call.prop_map(|item| json!({"type": "response.output_item.done", "output_index": 0, "item": item})),
        prop::option::of(usage)
            .prop_map(|u| json!({"type": "response.completed", "response": {"id": "r", "usage": u}})),
        Just(json!({"type": "response.incomplete", "response": {"id": "r"}})),
        Just(json!({"type": "response.failed", "response": {"id": "r"}})),
        Just(json!({"type": "error", "code": "server_error", "message": "at https://internal.example"})),
        any_json(),
    ];
    prop_oneof![
        9 => event.prop_map(|data| (String::new(), data.to_string())),
        1 => "\\PC{0,40}".prop_map(|junk| (String::new(), junk)),
    ]
}

/// A whole response body in pieces: the events (usually with the provider's terminal one last), framed
/// with `\n` or `\r\n`, maybe with a few stray bytes (not always UTF-8) spliced in or cut short, sent in
/// pieces of 1–64 bytes.
fn body(events: BoxedStrategy<(String, String)>, terminal: &'static str) -> impl Strategy<Value = Vec<Vec<u8>>> {
    (
        prop::collection::vec(events, 0..16),
        any::<bool>(),
        prop::sample::select(vec!["\n", "\r\n"]),
        prop::option::of((any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..6))),
        prop::option::of(any::<prop::sample::Index>()),
        prop::collection::vec(1usize..64, 1..6),
    )
        .prop_map(move |(events, ends, eol, stray, cut, sizes)| {
            let mut text = String::new();
            let terminal = ends.then(|| ("message_stop".to_owned(), terminal.to_owned()));
            for (name, data) in events.into_iter().chain(terminal) {
                if !name.is_empty() {
                    text.push_str(&format!("event: {name}{eol}"));
                }
                text.push_str(&format!("data: {data}{eol}{eol}"));
            }
            let mut bytes = text.into_bytes();
            if let Some((at, junk)) = stray {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, junk);
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            let mut pieces = Vec::new();
            let mut rest = bytes.as_slice();
            for size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (piece, tail) = rest.split_at((*size).min(rest.len()));
                pieces.push(piece.to_vec());
                rest = tail;
            }
            pieces
        })
}

/// The browser's view of a turn under a hostile upstream: a 200 whose stream the AI SDK parser accepts
/// to the end, with none of `secrets` in it.
fn assert_clean_stream(what: &str, status: u16, body: &str, secrets: &[&str]) {
    assert_eq!(status, 200, "{what}: {body}");
    let checked = check_ui_stream(body);
    assert_eq!(checked["ok"], true, "{what}: {checked}\n{body}");
    for secret in secrets {
        assert!(!body.contains(secret), "{what}: {secret:?} reached the browser: {body}");
    }
}

/// A conversation stored before the hostile cases, and how it reads.
async fn kept(srv: &TestServer, jwt: &str) -> Value {
    let (status, _, _) = srv.chat(jwt, &ask("kept", "hello")).await;
    assert_eq!(status, 200);
    let (status, stored) = srv.get_with_jwt("/conversations/kept/messages", jwt).await;
    assert_eq!(status, 200, "{stored}");
    stored
}

async fn model_streams_never_break_a_turn(model: (&str, &str), bodies: Vec<Vec<Vec<u8>>>) {
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", model, json!([])).await;
    let before = kept(&srv, &jwt).await;
    let llm_host = srv.llm.base.trim_start_matches("http://").to_owned();
    for (case, pieces) in bodies.into_iter().enumerate() {
        let raw = String::from_utf8_lossy(&pieces.concat()).into_owned();
        srv.llm.answer_raw(pieces);
        let (status, _, body) = srv.chat(&jwt, &ask(&format!("h{case}"), "hello")).await;
        assert_clean_stream(
            &format!("case {case} ({raw:.400})"),
            status,
            &body,
            &[GOOD_KEY, &llm_host, "internal.example"],
        );
    }
    assert_eq!(srv.get_with_jwt("/conversations/kept/messages", &jwt).await, (200, before));
    assert_eq!(reqwest::get(srv.url("/healthz")).await.map(|r| r.status().as_u16()).unwrap_or(200), 200);
}

#[actix_web::test]
async fn hostile_anthropic_streams_end_every_turn_cleanly() {
    let terminal = r#"{"type": "message_stop"}"#;
    model_streams_never_break_a_turn(HAIKU, draw(body(anthropic_event().boxed(), terminal))).await;
}

#[actix_web::test]
async fn hostile_openai_streams_end_every_turn_cleanly() {
    let terminal = r#"{"type": "response.completed", "response": {"id": "r"}}"#;
    model_streams_never_break_a_turn(GPT, draw(body(openai_event().boxed(), terminal))).await;
}

/// Any of the ways a server can answer a request wrongly.
fn wrong_reply() -> impl Strategy<Value = Reply> {
    let status = prop::sample::select(vec![200u16, 202, 400, 401, 403, 404, 500, 503]);
    let content_type = prop::sample::select(vec!["application/json", "text/event-stream", "text/html"]);
    let raw = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        Just(b"data: {\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": \n\n".to_vec()),
    ];
    prop_oneof![
        any_json().prop_map(Reply::WrongId),
        (status, content_type, raw).prop_map(|(status, content_type, body)| Reply::Raw {
            status,
            content_type: content_type.to_owned(),
            body
        }),
        Just(Reply::Nothing),
    ]
}

/// A `tools/call` result: content items of every kind and some that are no kind, or any JSON at all.
fn call_result() -> impl Strategy<Value = Value> {
    let item = prop_oneof![
        text().prop_map(|t| json!({"type": "text", "text": t})),
        Just(json!({"type": "image", "data": "%%%not-base64", "mimeType": "image/png"})),
        Just(json!({"type": "resource", "resource": {"uri": "file:///etc/passwd", "text": "x"}})),
        any_json(),
    ];
    prop_oneof![
        (prop::collection::vec(item, 0..4), any_json()).prop_map(|(c, e)| json!({"content": c, "isError": e})),
        any_json(),
    ]
}

fn mcp_script() -> impl Strategy<Value = Script> {
    let tools = prop::collection::vec((tool_name(), any_json()), 0..4).prop_map(|tools| {
        let tools: Vec<Value> =
            tools.into_iter().map(|(name, schema)| json!({"name": name, "inputSchema": schema})).collect();
        json!({"tools": tools})
    });
    let initialize = prop_oneof![
        4 => Just(Reply::Result(initialized())),
        1 => Just(Reply::SseResult(initialized())),
        1 => any_json().prop_map(Reply::Result),
        1 => wrong_reply(),
    ];
    let list = prop_oneof![
        4 => Just(Reply::Result(listed())),
        1 => tools.prop_map(Reply::Result),
        1 => wrong_reply(),
    ];
    let call = prop_oneof![
        2 => call_result().prop_map(Reply::Result),
        1 => call_result().prop_map(Reply::SseResult),
        1 => wrong_reply(),
    ];
    (initialize, list, call).prop_map(|(initialize, list, call)| Script { initialize, list, call })
}

#[actix_web::test]
async fn hostile_mcp_answers_end_every_turn_cleanly() {
    let mcp = HostileMcp::start();
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_TOOL_TIMEOUT_MS".into(), "1500".into());
    })
    .await;
    let connector = json!([{"descriptive_id": "hostile", "name": "Hostile", "type": "mcp", "default_active": true,
                            "url": mcp.url, "auth": {"bearer": MCP_TOKEN}}]);
    let mcp_host = mcp.url.trim_start_matches("http://").trim_end_matches("/mcp").to_owned();
    let before_jwt = session(&srv, "u", HAIKU, connector.clone()).await;
    let before = kept(&srv, &before_jwt).await;
    for (case, script) in draw(mcp_script()).into_iter().enumerate() {
        let what = format!("case {case} ({script:.400?})");
        mcp.play(script);
        // A fresh session connects afresh, so each script is met from `initialize` on.
        let jwt = session(&srv, "u", HAIKU, connector.clone()).await;
        let (status, _, body) = srv.chat(&jwt, &ask(&format!("m{case}"), "call: hostile__probe {}")).await;
        if status == 401 {
            // An MCP 401 before the stream: a real 401 so the UI re-runs the handshake (SPEC §5.5).
            assert!(serde_json::from_str::<Value>(&body).is_ok_and(|b| b["error"].is_string()), "{what}: {body}");
            continue;
        }
        assert_clean_stream(&what, status, &body, &[MCP_TOKEN, &mcp_host]);
    }
    assert_eq!(srv.get_with_jwt("/conversations/kept/messages", &before_jwt).await, (200, before));
}
