//! The audit log (`AUGCHATD_AUDIT_LOG`, issue #8 item 5): the real daemon driven through every kind of
//! security-relevant event, then each line is checked, and the whole file is searched for message
//! text, prompts, tool arguments and results, credentials and JWTs.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::peers::llm::GOOD_KEY;
use crate::peers::s3::{S3_KEY_ID, S3_SECRET};
use crate::peers::{mcp, opensearch};
use crate::server::{JWT_SECRET, TestServer};

const MCP_BEARER: &str = "MARKER-mcp-bearer";
const OS_BEARER: &str = "MARKER-os-bearer";
const METRICS_TOKEN: &str = "MARKER-metrics-token";
const PROMPT: &str = "MARKER-system-prompt: be terse";
const MESSAGE: &str = "MARKER-message-text";
const ARGUMENT: &str = "MARKER-tool-argument";

/// The audit file's lines so far.
pub fn audit_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
}

/// Waits (up to 5 s) for a line `wanted` accepts: the writer thread appends shortly after the event.
pub async fn audited(path: &Path, wanted: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        if let Some(line) = audit_lines(path).into_iter().find(&wanted) {
            return line;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no such audit line in: {:#?}", audit_lines(path));
}

fn event(name: &'static str) -> impl Fn(&Value) -> bool {
    move |line| line["event"] == name
}

/// A JWT for a live-looking session, signed with the daemon's key, that expired a minute ago.
fn expired_jwt(sid: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let claims = json!({"sid": sid, "rk": "0000000000000000", "iat": now - 120, "exp": now - 60});
    let key = jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap()
}

fn thread(texts: &[&str]) -> Value {
    let messages: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("u{i}"), "role": "user", "parts": [{"type": "text", "text": t}]}))
        .collect();
    json!({"id": "c1", "messages": messages})
}

#[actix_web::test]
async fn every_security_event_is_one_content_free_line_in_the_audit_log() {
    let mcp = mcp::start(&[MCP_BEARER]).await;
    let search = opensearch::start().await;
    let srv = TestServer::start(|env, dir| {
        env.insert("AUGCHATD_AUDIT_LOG".into(), dir.path().join("audit.jsonl").to_str().unwrap().into());
        env.insert("AUGCHATD_METRICS_TOKEN".into(), METRICS_TOKEN.into());
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "100".into());
        env.insert("AUGCHATD_FLUSH_STALLED_MS".into(), "1500".into());
    })
    .await;
    let audit = srv.dir.path().join("audit.jsonl");
    let mut body = srv.session_body("alice");
    body["system_prompt"] = json!(PROMPT);
    body["connectors"] = json!([
        {"descriptive_id": "live", "name": "Live", "type": "mcp", "default_active": true, "url": mcp.url,
         "auth": {"bearer": MCP_BEARER}},
        {"descriptive_id": "docs", "name": "Docs", "type": "rag", "default_active": true, "backend": "opensearch",
         "cluster": search.url, "auth": {"bearer": OS_BEARER}, "indexes": ["docs"]}
    ]);
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{minted}");
    let (sid, jwt) = (minted["session_id"].as_str().unwrap(), minted["jwt"].as_str().unwrap());

    // One turn: an MCP tool, the retrieve tool, and a name the turn does not offer.
    let first = format!(
        r#"{MESSAGE} call: live__search {{"q": "{ARGUMENT}"}}; docs__retrieve {{"query": "{ARGUMENT}"}}; ghost__tool {{"x": 1}}"#
    );
    let (status, _, stream) = srv.chat(jwt, &thread(&[&first])).await;
    assert_eq!(status, 200);
    assert!(stream.contains(ARGUMENT), "the tools saw the argument");

    // Authentication failures of each kind.
    let conversations = srv.url("/conversations");
    assert_eq!(srv.browser.get(&conversations).send().await.unwrap().status(), 401);
    assert_eq!(srv.browser.get(&conversations).bearer_auth("not.a.jwt").send().await.unwrap().status(), 401);
    let expired = expired_jwt(sid);
    assert_eq!(srv.browser.get(&conversations).bearer_auth(&expired).send().await.unwrap().status(), 401);
    assert_eq!(srv.browser.post(srv.url("/sessions")).json(&body).send().await.unwrap().status(), 401);
    assert_eq!(srv.browser.get(srv.url("/metrics")).bearer_auth("wrong").send().await.unwrap().status(), 401);

    // The bucket fails past the stalled threshold (read-only), then recovers.
    srv.s3.set_failing(true);
    let mut status = 0;
    for _ in 0..100 {
        status = srv.chat(jwt, &thread(&[&first, "again"])).await.0;
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 503, "read-only after the stalled threshold");
    srv.s3.set_failing(false);
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = srv.chat(jwt, &thread(&[&first, "again", "back"])).await.0;
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "writable again");

    // A data-subject export and erasure, then the erased session's JWT.
    let request = json!({"storage": srv.storage()});
    let res = srv.acme.post(srv.url("/users/alice/export")).json(&request).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = srv.acme.post(srv.url("/users/alice/erase")).json(&request).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(srv.get_with_jwt("/conversations", jwt).await.0, 401);
    // A session ended by its integrator.
    let (bob_sid, _) = srv.mint("bob").await;
    assert_eq!(srv.acme.delete(srv.url(&format!("/sessions/{bob_sid}"))).send().await.unwrap().status(), 204);

    let minted_line = audited(&audit, |l| l["event"] == "session.minted" && l["user"] == "alice").await;
    assert_eq!(minted_line["tenant"], "acme");
    assert_eq!(minted_line["session_id"], sid);
    assert_eq!(minted_line["connectors"], json!(["live", "docs"]));
    let call = audited(&audit, |l| l["event"] == "tool.call" && l["tool"] == "live__search").await;
    assert_eq!((&call["connector"], &call["outcome"], &call["user"]), (&json!("live"), &json!("ok"), &json!("alice")));
    assert!(call["duration_ms"].is_u64());
    let refused = audited(&audit, |l| l["event"] == "tool.call" && l["tool"] == "ghost__tool").await;
    assert_eq!((&refused["connector"], &refused["outcome"]), (&Value::Null, &json!("refused")));
    let retrieval = audited(&audit, event("retrieval")).await;
    assert_eq!(retrieval["connector"], "docs");
    assert_eq!(retrieval["indexes"], json!(["docs"]));
    assert_eq!((&retrieval["hits"], &retrieval["outcome"]), (&json!(3), &json!("ok")));
    let entered = audited(&audit, event("read_only.entered")).await;
    assert_eq!((&entered["tenant"], &entered["user"]), (&json!("acme"), &json!("alice")));
    assert!(entered["failing_for_ms"].as_u64().unwrap() >= 1500);
    audited(&audit, |l| l["event"] == "read_only.left" && l["user"] == "alice").await;
    for reason in
        ["missing_jwt", "invalid_jwt", "expired_jwt", "client_certificate_missing", "metrics_token", "session_gone"]
    {
        let failed = audited(&audit, |l| l["event"] == "auth.failed" && l["reason"] == reason).await;
        assert_eq!(failed["peer"], "127.0.0.1", "{failed}");
    }
    let failed = audited(&audit, |l| l["reason"] == "missing_jwt").await;
    assert_eq!(failed["route"], "/conversations");
    let exported = audited(&audit, event("user.exported")).await;
    assert_eq!((&exported["conversations"], &exported["outcome"]), (&json!(1), &json!("ok")));
    let erased = audited(&audit, event("user.erased")).await;
    assert_eq!((&erased["sessions_ended"], &erased["outcome"]), (&json!(1), &json!("ok")));
    audited(&audit, |l| l["event"] == "session.ended" && l["user"] == "alice" && l["reason"] == "erased").await;
    audited(&audit, |l| l["event"] == "session.ended" && l["user"] == "bob" && l["reason"] == "deleted").await;

    let lines = audit_lines(&audit);
    for line in &lines {
        let at = line["ts"].as_str().unwrap_or_default();
        assert!(time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(), "{line}");
        assert!(line["event"].is_string(), "{line}");
    }
    let text = std::fs::read_to_string(&audit).unwrap();
    for secret in
        [MCP_BEARER, OS_BEARER, METRICS_TOKEN, PROMPT, MESSAGE, ARGUMENT, GOOD_KEY, S3_KEY_ID, S3_SECRET, JWT_SECRET]
    {
        assert!(!text.contains(secret), "{secret} is in the audit log");
    }
    assert!(!text.contains(jwt) && !text.contains(&expired), "a JWT is in the audit log");
    assert!(!text.contains("1 hit for") && !text.contains("Passage"), "a tool result is in the audit log");
}

#[actix_web::test]
async fn a_certificate_refused_at_the_tls_handshake_is_audited() {
    let srv = TestServer::start(|env, dir| {
        env.insert("AUGCHATD_AUDIT_LOG".into(), dir.path().join("audit.jsonl").to_str().unwrap().into());
    })
    .await;
    let rogue = srv.client_with(&srv.pki.rogue());
    let refused = rogue.post(srv.url("/sessions")).json(&srv.session_body("u")).send().await;
    assert!(refused.is_err(), "the handshake went through: {refused:?}");
    let line = audited(&srv.dir.path().join("audit.jsonl"), event("auth.failed")).await;
    assert_eq!(line["reason"], "client_certificate_untrusted", "{line}");
    assert_eq!((&line["route"], &line["peer"]), (&json!("(tls handshake)"), &Value::Null), "{line}");
    assert!(!line.to_string().contains("mallory"), "nothing of the certificate is written: {line}");
}

#[actix_web::test]
async fn an_audit_log_that_cannot_be_opened_stops_the_boot_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir/audit.jsonl");
    let env = [("AUGCHATD_AUDIT_LOG", missing.to_str().unwrap())];
    let out = crate::binary::run_to_exit(dir.path(), &["demo"], &env).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("AUGCHATD_AUDIT_LOG: cannot append to"), "{}", out.stderr);
}
