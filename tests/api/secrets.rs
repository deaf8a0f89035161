//! No credential ever reaches a log line, a response or the browser (SPEC §9.1, §11 items 24, 167):
//! the real binary, debug logging on, a session full of marker secrets, every route driven, then the
//! whole stdout, stderr, every response body, the conversation's trace and the audit log are searched
//! for the markers.

use serde_json::{Value, json};

use crate::binary::ProdRig;
use crate::peers::llm::LlmPeer;
use crate::peers::s3::{BUCKET, S3Peer};
use crate::peers::{mcp, opensearch};

const LLM_KEY: &str = "sk-MARKER-llm-key-0001";
const S3_KEY_ID: &str = "MARKERAKID0002";
const S3_SECRET: &str = "MARKER-s3-secret-0003";
const MARKERS: &[&str] = &[
    LLM_KEY,
    S3_KEY_ID,
    S3_SECRET,
    "MARKER-mcp-bearer-0004",
    "MARKER-basic-user-0005",
    "MARKER-basic-pass-0006",
    "MARKER-header-0007",
    "MARKER-rag-bearer-0008",
    "MARKER-jwt-secret-0009-at-least-32-bytes",
    "MARKER-wrong-s3-secret-0010",
    FALLBACK_KEY,
];
const FALLBACK_KEY: &str = "sk-MARKER-fallback-key-0011";

#[actix_web::test]
async fn no_secret_appears_in_logs_or_responses_over_a_whole_session() {
    let rig = ProdRig::new();
    let llm = LlmPeer::start();
    llm.accept(LLM_KEY);
    llm.accept(FALLBACK_KEY);
    let s3 = S3Peer::start(&rig.dir.path().join("s3"), S3_KEY_ID, S3_SECRET).await;
    let mcp = mcp::start(&[MARKERS[3]]).await;
    let opensearch = opensearch::start().await;
    let traces = rig.dir.path().join("traces");
    let audit = rig.dir.path().join("audit.jsonl");
    let env = [
        ("AUGCHATD_TRACE_DIR", traces.to_str().unwrap()),
        ("AUGCHATD_AUDIT_LOG", audit.to_str().unwrap()),
        ("AUGCHATD_JWT_SECRET", MARKERS[8]),
        ("AUGCHATD_ANTHROPIC_BASE_URL", llm.base.as_str()),
        ("AUGCHATD_LOG", "debug"),
        ("AUGCHATD_HEALTH_LOG_MS", "100"),
    ];
    let daemon = rig.start(&env).await;
    let (integrator, browser) = (&rig.integrator, &rig.browser);
    let url = |path: &str| rig.url(path);

    let storage = |secret: &str| {
        json!({"s3": {"endpoint": s3.endpoint(), "region": "us-east-1", "bucket": BUCKET, "prefix": "p/",
                      "access_key_id": S3_KEY_ID, "secret_access_key": secret}})
    };
    let body = |secret: &str, key: &str| {
        json!({
            "user_id": "leaky", "system_prompt": "s",
            "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": key},
            "fallback_models": [{"provider": "anthropic", "model_id": "claude-haiku-4-5", "api_key": FALLBACK_KEY}],
            "connectors": [
                {"descriptive_id": "gh", "name": "GitHub", "type": "mcp", "default_active": true,
                 "url": "https://mcp.example/mcp",
                 "auth": {"bearer": MARKERS[3], "basic": {"username": MARKERS[4], "password": MARKERS[5]},
                          "headers": {"X-Client-Secret": MARKERS[6]}}},
                {"descriptive_id": "live", "name": "Live", "type": "mcp", "default_active": true,
                 "url": mcp.url, "auth": {"bearer": MARKERS[3]}},
                {"descriptive_id": "docs", "name": "Docs", "type": "rag", "default_active": true,
                 "backend": "opensearch", "cluster": opensearch.url, "auth": {"bearer": MARKERS[7]},
                 "indexes": ["docs"]}
            ],
            "storage": storage(secret),
        })
    };
    let mut bodies = Vec::new();
    let mut record = |text: String| bodies.push(text);

    // Refused variants: a wrong S3 secret, a wrong LLM key, a broken connector holding a secret.
    let res = integrator.post(url("/sessions")).json(&body(MARKERS[9], LLM_KEY)).send().await.unwrap();
    assert_eq!(res.status(), 422);
    record(res.text().await.unwrap());
    let res = integrator.post(url("/sessions")).json(&body(S3_SECRET, "sk-MARKER-wrong")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    record(res.text().await.unwrap());
    let mut broken = body(S3_SECRET, LLM_KEY);
    broken["connectors"][2]["auth"] =
        json!({"bearer": MARKERS[7], "basic": {"username": MARKERS[4], "password": MARKERS[5]}});
    broken["model"]["provider"] = json!(LLM_KEY);
    let res = integrator.post(url("/sessions")).json(&broken).send().await.unwrap();
    assert_eq!(res.status(), 400);
    record(res.text().await.unwrap());

    // A real session, used on every browser route, then deleted.
    let res = integrator.post(url("/sessions")).json(&body(S3_SECRET, LLM_KEY)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let minted: Value = res.json().await.unwrap();
    let jwt = minted["jwt"].as_str().unwrap().to_owned();
    let sid = minted["session_id"].as_str().unwrap().to_owned();
    record(json!({"session_id": sid, "expires_at": minted["expires_at"]}).to_string());
    for path in ["/session/models", "/healthz", "/", "/c/x", "/nope"] {
        let res = browser.get(url(path)).bearer_auth(&jwt).send().await.unwrap();
        record(res.text().await.unwrap());
    }
    let res = browser.post(url("/conversations")).bearer_auth(&jwt).json(&json!({"conversation_id": "c1"})).send();
    record(res.await.unwrap().text().await.unwrap());
    // A turn that calls a live MCP tool and the retrieval tool, both holding marker credentials, answered
    // by the fallback model because the session's model is overloaded.
    llm.fail_model("claude-sonnet-4-5", 529);
    let text = r#"call: live__search {"q": "x"}; docs__retrieve {"query": "x"}"#;
    let turn =
        json!({"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]});
    let res = browser.post(url("/chat")).bearer_auth(&jwt).json(&turn).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let stream = res.text().await.unwrap();
    assert_eq!(stream.matches("tool-output-available").count(), 2, "{stream}");
    assert_eq!(mcp.calls("search"), 1);
    record(stream);
    for path in ["/conversations", "/conversations/c1/messages", "/conversations/c1/connectors"] {
        let res = browser.get(url(path)).bearer_auth(&jwt).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        record(res.text().await.unwrap());
    }
    let res = browser.put(url("/conversations/c1/connectors/gh")).bearer_auth(&jwt).json(&json!({"active": false}));
    assert_eq!(res.send().await.unwrap().status(), 204);
    let res =
        browser.put(url("/conversations/c1/model")).bearer_auth(&jwt).json(&json!({"model_id": "claude-haiku-4-5"}));
    assert_eq!(res.send().await.unwrap().status(), 204);
    let res = browser.delete(url("/conversations/c1")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = integrator.delete(url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = browser.get(url("/session/models")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 401);
    record(res.text().await.unwrap());

    let out = daemon.stop().await;
    assert!(out.stderr.contains("session minted") && out.stderr.contains("session ended"), "{}", out.stderr);
    assert!(out.stderr.contains("trying a fallback model"), "{}", out.stderr);
    let trace = std::fs::read_to_string(traces.join("c1.jsonl")).unwrap();
    assert!(trace.contains("step.finish"), "{trace}");
    let audit = std::fs::read_to_string(&audit).unwrap();
    assert!(audit.contains("\"session.ended\"") && audit.contains("\"tool.call\""), "{audit}");
    assert!(!audit.contains(&jwt) && !audit.contains(text), "the audit log holds a JWT or message text");
    let everything = [out.stdout.as_str(), out.stderr.as_str(), &bodies.join("\n"), &trace, &audit].join("\n");
    for marker in MARKERS {
        assert!(!everything.contains(marker), "secret {marker} leaked");
    }
    assert!(!out.stderr.contains(&jwt) && !out.stdout.contains(&jwt), "the JWT was logged");
    // Percent- or base64-encoded forms would leak too: Basic auth is base64(user:pass).
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", MARKERS[4], MARKERS[5]));
    assert!(!everything.contains(&basic));
}
