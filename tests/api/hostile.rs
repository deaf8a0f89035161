//! Hostile input on every route (issue #7 item 3): generated session bodies, browser bodies, ids and
//! tokens never get a 5xx or an answer without a JSON error code, and what was stored before is
//! untouched. Cases are drawn by proptest from a fixed seed, so a failure reproduces; each route sees
//! `CASES` of them.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use crate::server::TestServer;

const CASES: usize = 48;

fn runner() -> TestRunner {
    let seed = *b"augchatd-hostile-input-seed-0001";
    TestRunner::new_with_rng(RunnerConfig::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// Draws `CASES` values of `strategy`.
pub fn draw<S: Strategy>(strategy: S) -> Vec<S::Value> {
    let mut runner = runner();
    (0..CASES).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect()
}

/// Any JSON, a few levels deep; keys are often ones the routes look for, so cases get past the first check.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,24}".prop_map(Value::String),
        Just(Value::String("x".repeat(70_000))),
    ];
    let key = prop_oneof![
        prop::sample::select(vec![
            "id",
            "messages",
            "role",
            "parts",
            "type",
            "text",
            "active",
            "model_id",
            "user_id",
            "model",
            "provider",
            "api_key",
            "storage",
            "connectors",
            "url",
            "auth",
            "indexes",
            "trigger",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,10}",
    ];
    leaf.prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer inside `value`, the root included.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| pointers(v, format!("{at}/{k}"), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// `valid` with one field replaced by any JSON, or removed: close enough to pass most checks, wrong in one.
fn mutations(valid: Value) -> impl Strategy<Value = Value> {
    let mut paths = Vec::new();
    pointers(&valid, String::new(), &mut paths);
    (prop::sample::select(paths), prop::option::of(any_json())).prop_map(move |(path, replacement)| {
        let mut body = valid.clone();
        match (path.rsplit_once('/'), replacement) {
            (None, Some(new)) => body = new,
            (None, None) => body = Value::Null,
            (Some(_), Some(new)) => *body.pointer_mut(&path).unwrap() = new,
            (Some((parent, key)), None) => match body.pointer_mut(parent).unwrap() {
                Value::Object(map) => drop(map.remove(key)),
                Value::Array(items) => drop(items.remove(key.parse::<usize>().unwrap())),
                _ => {}
            },
        }
        body
    })
}

/// A refusal a client can act on: a 4xx with a JSON `error` code, or a success.
async fn assert_clean(what: &str, res: reqwest::Response) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert!(status < 500, "{what}: {status} {text}");
    if status >= 400 {
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {status} not JSON: {text}"));
        assert!(body["error"].is_string(), "{what}: {status} {text}");
        assert!(!text.contains("panicked") && !text.contains("src/"), "{what}: {text}");
    }
}

#[actix_web::test]
async fn generated_session_bodies_get_a_4xx_or_a_session_never_a_5xx() {
    let srv = TestServer::start(|_, _| {}).await;
    let mut valid = srv.session_body("alice");
    valid["connectors"] = json!([
        {"descriptive_id": "gh", "name": "GitHub", "type": "mcp", "default_active": true,
         "url": "https://mcp.example/mcp", "auth": {"type": "bearer", "token": "t0ken-value"}},
        {"descriptive_id": "kb", "name": "KB", "type": "opensearch", "default_active": false,
         "url": "https://search.example", "indexes": ["docs"], "auth": {"type": "basic", "username": "u", "password": "p"}},
    ]);
    for body in draw(prop_oneof![mutations(valid), any_json()]) {
        let res = srv.acme.post(srv.url("/sessions")).json(&body).send().await.unwrap();
        assert_clean(&format!("POST /sessions {body}"), res).await;
    }
    for raw in draw(prop::collection::vec(any::<u8>(), 0..200)) {
        let res = srv.acme.post(srv.url("/sessions")).body(raw).send().await.unwrap();
        assert_clean("POST /sessions raw bytes", res).await;
    }
}

#[actix_web::test]
async fn generated_browser_bodies_ids_and_tokens_never_get_a_5xx_and_change_nothing_stored() {
    let srv = TestServer::start(|_, _| {}).await;
    let mut body = srv.session_body("alice");
    body["connectors"] = json!([{"descriptive_id": "gh", "name": "GitHub", "type": "mcp", "default_active": false,
                                 "url": "https://mcp.example/mcp", "auth": {}}]);
    let (_, minted) = srv.post_session(&srv.acme, &body).await;
    let jwt = minted["jwt"].as_str().unwrap().to_owned();
    let turn =
        json!({"id": "kept", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]});
    assert_eq!(srv.chat(&jwt, &turn).await.0, 200);
    let before = srv.get_with_jwt("/conversations/kept/messages", &jwt).await;

    let chat = prop_oneof![mutations(turn.clone()), any_json()];
    for body in draw(chat) {
        // A generated thread for `kept` would legitimately replace it; only other ids are hostile here.
        if body["id"] == "kept" {
            continue;
        }
        let res = srv.browser.post(srv.url("/chat")).bearer_auth(&jwt).json(&body).send().await.unwrap();
        assert_clean(&format!("POST /chat {body}"), res).await;
    }
    for body in draw(prop_oneof![mutations(json!({"id": "c-new", "title": "t"})), any_json()]) {
        let res = srv.browser.post(srv.url("/conversations")).bearer_auth(&jwt).json(&body).send().await.unwrap();
        assert_clean(&format!("POST /conversations {body}"), res).await;
    }
    for body in draw(any_json()) {
        for path in ["/conversations/kept/connectors/gh", "/conversations/kept/model"] {
            // Only well-formed changes may land; `active: bool` and a listed `model_id` are skipped.
            if body.get("active").is_some_and(Value::is_boolean) || body.get("model_id").is_some() {
                continue;
            }
            let res = srv.browser.put(srv.url(path)).bearer_auth(&jwt).json(&body).send().await.unwrap();
            assert_clean(&format!("PUT {path} {body}"), res).await;
        }
    }
    for id in draw("\\PC{0,80}") {
        let id = utf8_percent(&id);
        for path in [
            format!("/conversations/{id}/messages"),
            format!("/conversations/{id}/connectors"),
            format!("/conversations/x{id}"),
        ] {
            let res = srv.browser.get(srv.url(&path)).bearer_auth(&jwt).send().await.unwrap();
            assert_clean(&format!("GET {path}"), res).await;
        }
        let res = srv.browser.delete(srv.url(&format!("/conversations/x{id}"))).bearer_auth(&jwt).send().await.unwrap();
        assert_clean(&format!("DELETE /conversations/x{id}"), res).await;
    }
    let tokens = prop_oneof![
        "\\PC{0,300}",
        (0..jwt.len(), any::<char>()).prop_map({
            let jwt = jwt.clone();
            move |(at, c)| jwt.char_indices().map(|(i, old)| if i == at { c } else { old }).collect()
        }),
        (0..jwt.len()).prop_map({
            let jwt = jwt.clone();
            move |cut| jwt[..cut].to_owned()
        }),
    ];
    for token in draw(tokens) {
        if token == jwt {
            continue;
        }
        let Ok(header) = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")) else { continue };
        let res = srv
            .browser
            .get(srv.url("/conversations"))
            .header(reqwest::header::AUTHORIZATION, header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "token {token:?}");
        assert_clean("GET /conversations with a generated token", res).await;
    }

    assert_eq!(srv.get_with_jwt("/conversations/kept/messages", &jwt).await, before, "the stored thread is untouched");
}

/// Percent-encodes everything but unreserved characters, so any generated id reaches the router.
fn utf8_percent(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
