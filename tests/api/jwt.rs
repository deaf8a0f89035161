//! The JWT middleware on browser routes (SPEC §3, §11 items 33–39), through `GET /session/models`.

use augchatd::jwt::JwtKeys;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::server::{JWT_SECRET, TestServer};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

async fn models_with_header(srv: &TestServer, header: Option<&str>) -> (u16, Value) {
    let mut req = srv.browser.get(srv.url("/session/models"));
    if let Some(h) = header {
        req = req.header("authorization", h);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn a_missing_or_non_bearer_authorization_is_missing_jwt() {
    // SPEC §11 #33, #34
    let srv = TestServer::start(|_, _| {}).await;
    let (_, jwt) = srv.mint("u").await;
    let missing = (401, json!({"error": "missing_jwt"}));
    assert_eq!(models_with_header(&srv, None).await, missing);
    assert_eq!(models_with_header(&srv, Some("Basic dXNlcjpwYXNz")).await, missing);
    assert_eq!(models_with_header(&srv, Some("Bearer")).await, missing);
    assert_eq!(models_with_header(&srv, Some(&format!("bearer {jwt}"))).await.0, 200);
    assert_eq!(models_with_header(&srv, Some(&format!("BEARER {jwt}"))).await.0, 200);
}

#[actix_web::test]
async fn tampered_expired_and_foreign_tokens_are_invalid_jwt() {
    // SPEC §11 #35, #36, #37
    let srv = TestServer::start(|_, _| {}).await;
    let (sid, jwt) = srv.mint("u").await;
    let invalid = (401, json!({"error": "invalid_jwt"}));
    let bearer = |t: &str| format!("Bearer {t}");

    let mut parts: Vec<&str> = jwt.split('.').collect();
    let forged_payload = B64.encode(format!(r#"{{"sid":"{sid}","rk":"rk","iat":{},"exp":{}}}"#, now(), now() + 99_999));
    parts[1] = &forged_payload;
    assert_eq!(models_with_header(&srv, Some(&bearer(&parts.join(".")))).await, invalid, "tampered claims");
    let mut sig_flipped = jwt.clone();
    let last = sig_flipped.pop().unwrap();
    sig_flipped.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(models_with_header(&srv, Some(&bearer(&sig_flipped))).await, invalid, "tampered signature");

    let keys = JwtKeys::from_secret(JWT_SECRET.as_bytes());
    let expired = keys.mint(&sid, "rk", now() - 120, now() - 60).unwrap();
    assert_eq!(models_with_header(&srv, Some(&bearer(&expired))).await, invalid, "expired");

    let payload = B64.encode(format!(r#"{{"sid":"{sid}","rk":"rk","iat":{},"exp":{}}}"#, now(), now() + 60));
    let none = format!("{}.{payload}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#));
    assert_eq!(models_with_header(&srv, Some(&bearer(&none))).await, invalid, "alg none");
    let hs512 = format!("{}.{payload}.{}", B64.encode(r#"{"alg":"HS512","typ":"JWT"}"#), B64.encode([7u8; 64]));
    assert_eq!(models_with_header(&srv, Some(&bearer(&hs512))).await, invalid, "HS512");

    let other_process = JwtKeys::from_secret(b"another-daemon-secret-of-32-bytes-or-more");
    let foreign = other_process.mint(&sid, "rk", now(), now() + 60).unwrap();
    assert_eq!(models_with_header(&srv, Some(&bearer(&foreign))).await, invalid, "another process's key");
    for junk in ["x", "a.b.c", "....", &"e".repeat(10_000)] {
        assert_eq!(models_with_header(&srv, Some(&bearer(junk))).await, invalid, "{junk:.20}");
    }
}

#[actix_web::test]
async fn a_valid_token_for_an_unknown_session_is_session_gone() {
    // SPEC §11 #38: what a restart or another process with a shared secret looks like
    let srv = TestServer::start(|_, _| {}).await;
    let keys = JwtKeys::from_secret(JWT_SECRET.as_bytes());
    for sid in ["2b1f6c7e-0000-4000-8000-000000000000", "../../etc", ""] {
        let token = keys.mint(sid, "rk", now(), now() + 60).unwrap();
        let got = models_with_header(&srv, Some(&format!("Bearer {token}"))).await;
        assert_eq!(got, (401, json!({"error": "session_gone"})), "{sid:?}");
    }
}

#[actix_web::test]
async fn the_token_carries_only_sid_rk_iat_and_exp() {
    // SPEC §11 #39
    let srv = TestServer::start(|_, _| {}).await;
    let (sid, jwt) = srv.mint("user_42").await;
    let header: Value = serde_json::from_slice(&B64.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    let claims: Value = serde_json::from_slice(&B64.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let mut keys: Vec<&String> = claims.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["exp", "iat", "rk", "sid"]);
    assert_eq!(claims["sid"], sid.as_str());
    // The routing key: 16 hex digits, not the user id (README "Scale-out").
    let rk = claims["rk"].as_str().unwrap();
    assert!(rk.len() == 16 && rk.bytes().all(|b| b.is_ascii_hexdigit()), "{rk}");
    assert!(!jwt.contains("user_42") && !B64.decode(jwt.split('.').nth(1).unwrap()).unwrap().is_empty());
}

#[actix_web::test]
async fn a_session_ends_when_its_ttl_passes() {
    // SPEC §3: expiry is a session end; the token is refused from then on.
    let srv = TestServer::start(|_, _| {}).await;
    let mut body = srv.session_body("u");
    body["ttl_seconds"] = json!(2); // 1-2 s: exp is whole seconds
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200);
    let jwt = minted["jwt"].as_str().unwrap();
    assert_eq!(srv.get_with_jwt("/session/models", jwt).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(srv.get_with_jwt("/session/models", jwt).await, (401, json!({"error": "invalid_jwt"})));
    let sid = minted["session_id"].as_str().unwrap();
    let res = srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert_eq!(res.status(), 404, "an expired session is no longer in the registry");
}
