//! `POST /sessions` and `DELETE /sessions/:id` over mTLS (SPEC §2.1, §2.2, §11 items 7–32).

use serde_json::{Value, json};

use crate::peers::llm::GOOD_KEY;
use crate::server::{TestServer, claims};
use crate::tool_loop::ask;

#[actix_web::test]
async fn a_minimal_body_with_a_client_certificate_mints_a_session() {
    // SPEC §11 #9, #10
    let srv = TestServer::start(|_, _| {}).await;
    let (status, body) = srv.post_session(&srv.acme, &srv.session_body("user_42")).await;
    assert_eq!(status, 200, "{body}");
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["expires_at", "jwt", "route_key", "session_id"]);
    let (status, models) = srv.get_with_jwt("/session/models", body["jwt"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["current_model_id"], "claude-sonnet-4-5");
}

#[actix_web::test]
async fn without_a_client_certificate_no_session_is_created() {
    // SPEC §11 #7
    let srv = TestServer::start(|_, _| {}).await;
    let (status, body) = srv.post_session(&srv.browser, &srv.session_body("u")).await;
    assert_eq!((status, body), (401, json!({"error": "client_certificate_required"})));
    assert!(srv.llm.seen().is_empty(), "no probe may run before the certificate check");
}

#[actix_web::test]
async fn the_llm_probe_uses_the_sessions_key() {
    let srv = TestServer::start(|_, _| {}).await;
    srv.mint("u").await;
    let seen = srv.llm.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/models");
    assert_eq!(seen[0].credential.as_deref(), Some(GOOD_KEY));
    assert_eq!(seen[0].anthropic_version.as_deref(), Some("2023-06-01"));
}

fn no_session_was_made(srv: &TestServer) {
    // A refused body never reaches the probes, so nothing upstream was asked and nothing minted.
    assert!(srv.llm.seen().is_empty(), "the LLM probe ran for a refused body");
}

async fn refused(srv: &TestServer, body: Value) -> (u16, String, String) {
    let (status, answer) = srv.post_session(&srv.acme, &body).await;
    let code = answer["error"].as_str().unwrap_or_default().to_owned();
    let detail = answer["detail"].as_str().unwrap_or_default().to_owned();
    (status, code, detail)
}

#[actix_web::test]
async fn ttl_seconds_sets_the_lifetime_and_defaults_to_60() {
    // SPEC §11 #10, #11
    let srv = TestServer::start(|_, _| {}).await;
    let now = time::OffsetDateTime::now_utc();
    for (ttl, expected) in [(None, 60), (Some(1800), 1800)] {
        let mut body = srv.session_body("u");
        if let Some(ttl) = ttl {
            body["ttl_seconds"] = json!(ttl);
        }
        let (status, minted) = srv.post_session(&srv.acme, &body).await;
        assert_eq!(status, 200);
        let expires = time::OffsetDateTime::parse(
            minted["expires_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let secs = (expires - now).whole_seconds();
        assert!((expected - 2..=expected + 2).contains(&secs), "ttl {ttl:?}: {secs}");
        let claims = claims(minted["jwt"].as_str().unwrap());
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(lifetime, expected, "the token lives as long as the session: {claims}");
        assert_eq!(claims["exp"].as_i64().unwrap(), expires.unix_timestamp(), "and ends at expires_at");
    }
}

#[actix_web::test]
async fn each_required_field_is_checked_before_any_probe() {
    // SPEC §11 #12
    let srv = TestServer::start(|_, _| {}).await;
    for field in ["user_id", "system_prompt", "model", "storage"] {
        let mut body = srv.session_body("u");
        body.as_object_mut().unwrap().remove(field);
        let (status, code, detail) = refused(&srv, body).await;
        assert_eq!(status, 400, "{field}");
        assert!(code == "invalid_field" || code == "invalid_user_id", "{field}: {code}");
        assert!(detail.contains(field), "{field}: {detail}");
    }
    let mut body = srv.session_body("u");
    body["model"].as_object_mut().unwrap().remove("api_key");
    let (status, code, detail) = refused(&srv, body).await;
    assert_eq!((status, code.as_str()), (400, "invalid_field"));
    assert!(detail.contains("model.api_key"), "{detail}");
    no_session_was_made(&srv);
}

#[actix_web::test]
async fn user_ids_outside_the_alphabet_are_refused() {
    // SPEC §11 #13, including path traversal
    let srv = TestServer::start(|_, _| {}).await;
    for user in ["a/b", "..", ".", "a\u{0}b", "../etc/passwd", "", "é"] {
        let (status, code, _) = refused(&srv, srv.session_body(user)).await;
        assert_eq!((status, code.as_str()), (400, "invalid_user_id"), "{user:?}");
    }
    let (status, code, _) = refused(&srv, srv.session_body(&"x".repeat(101))).await;
    assert_eq!((status, code.as_str()), (400, "invalid_user_id"));
    let mut body = srv.session_body("u");
    body["user_id"] = json!(42);
    assert_eq!(refused(&srv, body).await.0, 400);
    no_session_was_made(&srv);
}

#[actix_web::test]
async fn a_certificate_whose_name_is_not_a_tenant_id_is_refused() {
    // SPEC §11 #14
    let srv = TestServer::start(|_, _| {}).await;
    for cn in ["bad tenant", "..", "a/b", "acme\u{e9}"] {
        let client = srv.client_with(&srv.pki.integrator(cn));
        let (status, body) = srv.post_session(&client, &srv.session_body("u")).await;
        assert_eq!((status, body), (400, json!({"error": "invalid_tenant_id"})), "{cn:?}");
    }
    no_session_was_made(&srv);
}

#[actix_web::test]
async fn a_certificate_from_an_untrusted_ca_is_refused_at_the_handshake() {
    // SPEC §11 #8
    let srv = TestServer::start(|_, _| {}).await;
    let rogue = srv.client_with(&srv.pki.rogue());
    let outcome = rogue.post(srv.url("/sessions")).json(&srv.session_body("u")).send().await;
    assert!(outcome.is_err(), "a rogue certificate reached a handler: {outcome:?}");
    no_session_was_made(&srv);
}

#[actix_web::test]
async fn malformed_connectors_are_refused() {
    // SPEC §11 #15–#19
    let srv = TestServer::start(|_, _| {}).await;
    let mcp = json!({"descriptive_id": "gh", "name": "GitHub", "type": "mcp", "default_active": true,
                     "url": "https://mcp.example/mcp", "auth": {"bearer": "t"}});
    let rag = json!({"descriptive_id": "docs", "name": "Docs", "type": "rag", "default_active": true,
                     "backend": "opensearch", "cluster": "https://os.example", "auth": {"bearer": "t"},
                     "indexes": ["public-docs"]});
    let without = |c: &Value, key: &str| {
        let mut c = c.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let with = |c: &Value, key: &str, v: Value| {
        let mut c = c.clone();
        c[key] = v;
        c
    };
    let cases = [
        ("unknown type", json!([with(&mcp, "type", json!("ftp"))])),
        ("duplicate id", json!([mcp.clone(), with(&rag, "descriptive_id", json!("gh"))])),
        ("pgvector", json!([with(&rag, "backend", json!("pgvector"))])),
        ("mcp without url", json!([without(&mcp, "url")])),
        ("rag without indexes", json!([without(&rag, "indexes")])),
        ("rag without cluster", json!([without(&rag, "cluster")])),
        ("rag without auth", json!([without(&rag, "auth")])),
        ("stdio url", json!([with(&mcp, "url", json!("stdio:///usr/bin/mcp-server"))])),
        ("file url", json!([with(&mcp, "url", json!("file:///etc/passwd"))])),
        ("wildcard index", json!([with(&rag, "indexes", json!(["*"]))])),
        ("not an array", json!({"gh": mcp.clone()})),
        ("id with __", json!([with(&mcp, "descriptive_id", json!("a__b"))])),
    ];
    for (case, connectors) in cases {
        let mut body = srv.session_body("u");
        body["connectors"] = connectors;
        let (status, code, detail) = refused(&srv, body).await;
        assert_eq!((status, code.as_str()), (400, "invalid_field"), "{case}: {detail}");
        assert!(detail.contains("connectors"), "{case}: {detail}");
    }
    no_session_was_made(&srv);
    let mut body = srv.session_body("u");
    body["connectors"] = json!([mcp, rag]);
    assert_eq!(srv.post_session(&srv.acme, &body).await.0, 200);
}

#[actix_web::test]
async fn bodies_that_are_not_a_json_object_get_clear_errors() {
    let srv = TestServer::start(|_, _| {}).await;
    let send = |body: Vec<u8>| {
        srv.acme.post(srv.url("/sessions")).header("content-type", "application/json").body(body).send()
    };
    let res = send(b"{not json".to_vec()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "invalid_json"}));
    for body in ["[]", "null", "42", "\"s\""] {
        let res = send(body.as_bytes().to_vec()).await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "body_must_be_object");
    }
    let res = send(vec![b' '; 2 * 1024 * 1024]).await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "body_too_large"}));
    let res = srv.acme.get(srv.url("/sessions")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    // RFC 9110 requires `Allow` on a 405 (schemathesis's unsupported_method check found it missing).
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "method_not_allowed"}));
    no_session_was_made(&srv);
}

#[actix_web::test]
async fn an_unknown_provider_is_refused() {
    let srv = TestServer::start(|_, _| {}).await;
    for provider in ["gemini", "offline", ""] {
        let mut body = srv.session_body("u");
        body["model"]["provider"] = json!(provider);
        let (status, code, _) = refused(&srv, body).await;
        assert_eq!(status, 400, "{provider}");
        assert!(code == "unsupported_provider" || code == "invalid_field", "{provider}: {code}");
    }
    no_session_was_made(&srv);
}

#[actix_web::test]
async fn an_unwritable_bucket_refuses_the_session_and_a_retry_gets_a_new_id() {
    // SPEC §11 #20, #21
    let srv = TestServer::start(|_, _| {}).await;
    let mut body = srv.session_body("u");
    body["storage"]["s3"]["secret_access_key"] = json!("WRONG-SECRET");
    let (status, answer) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"], "s3_write_test_failed");
    assert!(!answer.to_string().contains("WRONG-SECRET") && !answer.to_string().contains("127.0.0.1"), "{answer}");
    assert!(srv.llm.seen().is_empty(), "the LLM probe runs only after the S3 probe passed");

    body["storage"]["s3"]["endpoint"] = json!("http://127.0.0.1:1");
    let (status, answer) = srv.post_session(&srv.acme, &body).await;
    assert_eq!((status, answer["error"].as_str()), (422, Some("s3_write_test_failed")));

    let probe = srv.dir.path().join("s3/cold/chats/.augchatd-probe");
    assert!(!probe.exists());
    let (first, _) = srv.mint("u").await;
    assert!(probe.exists(), "the probe object is written at <prefix>.augchatd-probe");
    let (second, _) = srv.mint("u").await;
    assert_ne!(first, second);
}

#[actix_web::test]
async fn a_rejected_llm_key_refuses_the_session_without_echoing_upstream_text() {
    // SPEC §11 #22
    let srv = TestServer::start(|_, _| {}).await;
    let mut body = srv.session_body("u");
    body["model"]["api_key"] = json!("sk-wrong-key");
    let (status, answer) = srv.post_session(&srv.acme, &body).await;
    assert_eq!((status, answer["error"].as_str()), (422, Some("llm_credential_probe_failed")), "{answer}");
    assert!(!answer.to_string().contains("sk-wrong-key"));

    srv.llm.fail_with(Some(500));
    let (status, answer) = srv.post_session(&srv.acme, &srv.session_body("u")).await;
    assert_eq!((status, answer["error"].as_str()), (422, Some("llm_credential_probe_failed")));
    assert!(!answer.to_string().contains("internal.example"), "{answer}");
}

#[actix_web::test]
async fn a_hot_file_that_cannot_be_created_refuses_the_session_with_503() {
    // A file where the tenant's folder should be: the user's hot file cannot be made.
    let srv = TestServer::start(|_, dir| {
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/acme"), b"not a folder").unwrap();
    })
    .await;
    let res = srv.acme.post(srv.url("/sessions")).json(&srv.session_body("u")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["x-augchatd-reason"], "hot-write-failed");
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["error"], "hot_write_failed", "{answer}");
    let metrics = srv.browser.get(srv.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let minted = metrics.lines().find(|l| l.starts_with("augchatd_sessions_minted_total")).unwrap();
    assert!(minted.ends_with(" 0"), "no session was made: {minted}");

    std::fs::remove_file(srv.dir.path().join("data/acme")).unwrap();
    let (status, answer) = srv.post_session(&srv.acme, &srv.session_body("u")).await;
    assert_eq!(status, 200, "minting works again once the folder can be made: {answer}");
}

#[actix_web::test]
async fn a_bucket_and_key_that_just_passed_are_not_probed_again_for_the_next_user() {
    let srv = TestServer::start(|_, _| {}).await;
    let models_calls = || srv.llm.seen().iter().filter(|s| s.path.ends_with("/models")).count();
    let (s3_before, models_before) = (srv.s3.requests(), models_calls());
    srv.mint("alice").await;
    assert_eq!((srv.s3.requests() - s3_before, models_calls() - models_before), (1, 1), "one probe of each");
    srv.mint("bob").await;
    assert_eq!((srv.s3.requests() - s3_before, models_calls() - models_before), (1, 1), "vouched for by alice's");

    let mut other_key = srv.session_body("carol");
    other_key["storage"]["s3"]["secret_access_key"] = json!("WRONG-SECRET");
    let (status, answer) = srv.post_session(&srv.acme, &other_key).await;
    assert_eq!((status, answer["error"].as_str()), (422, Some("s3_write_test_failed")), "other credentials are probed");
}

#[actix_web::test]
async fn a_failed_probe_is_not_remembered() {
    let srv = TestServer::start(|_, _| {}).await;
    srv.llm.fail_with(Some(500));
    let (status, _) = srv.post_session(&srv.acme, &srv.session_body("u")).await;
    assert_eq!(status, 422);
    srv.llm.fail_with(None);
    let (status, answer) = srv.post_session(&srv.acme, &srv.session_body("u")).await;
    assert_eq!(status, 200, "the key is tried again at once: {answer}");
}

#[actix_web::test]
async fn openai_sessions_probe_the_openai_models_endpoint() {
    let srv = TestServer::start(|_, _| {}).await;
    let mut body = srv.session_body("u");
    body["model"] = json!({"provider": "openai", "model_id": "gpt-4o", "api_key": GOOD_KEY});
    assert_eq!(srv.post_session(&srv.acme, &body).await.0, 200);
    // An OpenAI-compatible server is reached through base_url.
    body["model"]["base_url"] = json!(format!("{}/v1", srv.llm.base));
    assert_eq!(srv.post_session(&srv.acme, &body).await.0, 200);
    let seen = srv.llm.seen();
    assert!(seen.iter().all(|s| s.path == "/v1/models" && s.credential.as_deref() == Some(GOOD_KEY)));
    assert!(seen.iter().all(|s| s.anthropic_version.is_none()));
}

#[actix_web::test]
async fn storage_as_an_s3_uri_behaves_like_the_object_form() {
    // SPEC §11 #23
    let srv = TestServer::start(|_, _| {}).await;
    let mut body = srv.session_body("u");
    let endpoint: String = url::form_urlencoded::byte_serialize(srv.s3.endpoint().as_bytes()).collect();
    body["storage"] =
        json!({"s3": format!("s3://AKIDTEST:SECRETTEST@cold/uri-prefix/?endpoint={endpoint}&region=us-east-1")});
    let (status, answer) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(srv.dir.path().join("s3/cold/uri-prefix/.augchatd-probe").exists());
    body["storage"] = json!({"s3": "s3://AKIA@cold/"});
    assert_eq!(srv.post_session(&srv.acme, &body).await.0, 400, "a URI without a secret is refused");
}

#[actix_web::test]
async fn a_deleted_session_is_gone_and_a_second_delete_is_not_found() {
    // SPEC §11 #26 (without the final flush, which comes with storage), #27, #28
    let srv = TestServer::start(|_, _| {}).await;
    let (sid, jwt) = srv.mint("u").await;
    let res = srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(srv.get_with_jwt("/session/models", &jwt).await, (401, json!({"error": "session_gone"})));
    let (status, _, body) = srv.chat(&jwt, &ask("c1", "hi")).await;
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (401, json!({"error": "session_gone"})));
    assert!(srv.llm.seen().iter().all(|s| s.body.is_none()), "no model call for a gone session");
    let res = srv.acme.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "session_not_found"}));
    for unknown in ["00000000-0000-0000-0000-000000000000", "..", "%2e%2e%2fetc", "x%00y"] {
        let res = srv.acme.delete(srv.url(&format!("/sessions/{unknown}"))).send().await.unwrap();
        assert_eq!(res.status(), 404, "{unknown}");
    }
}

#[actix_web::test]
async fn delete_without_a_certificate_or_from_another_tenant_leaves_the_session_alive() {
    // SPEC §11 #29, §2.2 tenant isolation
    let srv = TestServer::start(|_, _| {}).await;
    let (sid, jwt) = srv.mint("u").await;
    let res = srv.browser.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = srv.globex.delete(srv.url(&format!("/sessions/{sid}"))).send().await.unwrap();
    assert_eq!(res.status(), 404, "another tenant's session id is indistinguishable from a missing one");
    assert_eq!(srv.get_with_jwt("/session/models", &jwt).await.0, 200);
}

#[actix_web::test]
async fn deleting_one_of_two_sessions_of_a_user_leaves_the_other_working() {
    // SPEC §11 #30
    let srv = TestServer::start(|_, _| {}).await;
    let (first, first_jwt) = srv.mint("u").await;
    let (_, second_jwt) = srv.mint("u").await;
    let res = srv.acme.delete(srv.url(&format!("/sessions/{first}"))).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(srv.get_with_jwt("/session/models", &first_jwt).await.0, 401);
    assert_eq!(srv.get_with_jwt("/session/models", &second_jwt).await.0, 200);
    let (_, again) = srv.mint("u").await;
    assert_eq!(srv.get_with_jwt("/session/models", &again).await.0, 200, "re-minting right away works");
}
