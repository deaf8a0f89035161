//! Demo mode (SPEC §7, §11 items 25, 32, 135–138, 145, 147).

use serde_json::{Value, json};

use crate::peers::llm::GOOD_KEY;
use crate::server::TestServer;
use crate::tool_loop::ask;

/// A demo daemon over plain HTTP with a Design B session file.
async fn demo(theme: &str) -> TestServer {
    let theme = theme.to_owned();
    TestServer::start(move |env, dir| {
        for tls in ["AUGCHATD_TLS_CERT", "AUGCHATD_TLS_KEY", "AUGCHATD_CLIENT_CA"] {
            env.remove(tls);
        }
        let file = dir.path().join("demo_session.json");
        let body = json!({"user_id": "demo-user", "system_prompt": "Be brief.", "theme": theme, "ttl_seconds": "ignored",
                          "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": GOOD_KEY}});
        std::fs::write(&file, body.to_string()).unwrap();
        env.insert("AUGCHATD_MODE".into(), "demo".into());
        env.insert("AUGCHATD_DEMO_SESSION_FILE".into(), file.to_str().unwrap().into());
    })
    .await
}

#[actix_web::test]
async fn the_wrapper_page_embeds_the_ui_for_every_demo_path() {
    // SPEC §11 #135, #136
    let srv = demo("light").await;
    for path in ["/demo", "/demo/", "/demo/c/abc"] {
        let res = srv.browser.get(srv.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let page = res.text().await.unwrap();
        assert!(page.contains(r#"<iframe id="app""#) && page.contains("<title>augchatd — demo</title>"), "{path}");
        // The iframe source is the path without /demo (computed in the page from location.pathname).
        assert!(page.contains(r"location.pathname.replace(/^\/demo/, '') || '/'"));
    }
}

#[actix_web::test]
async fn each_demo_session_call_mints_a_new_working_session() {
    // SPEC §11 #137
    let srv = demo("light").await;
    let mut jwts = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = srv.browser.post(srv.url("/demo/sessions")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["expires_at", "jwt", "session_id", "theme"]);
        assert_eq!(body["theme"], "light");
        ids.push(body["session_id"].as_str().unwrap().to_owned());
        jwts.push(body["jwt"].as_str().unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1]);
    for jwt in &jwts {
        assert_eq!(srv.get_with_jwt("/session/models", jwt).await.0, 200);
    }
    // Both are the demo user: a conversation written through one is there for the other, in one file.
    assert_eq!(srv.chat(&jwts[0], &ask("shared", "hello")).await.0, 200);
    let (status, listed) = srv.get_with_jwt("/conversations", &jwts[1]).await;
    assert_eq!((status, &listed["conversations"][0]["conversation_id"]), (200, &json!("shared")), "{listed}");
    let (_, messages) = srv.get_with_jwt("/conversations/shared/messages", &jwts[1]).await;
    assert_eq!(messages["messages"][0]["parts"][0]["text"], "hello", "{messages}");
    let files: Vec<_> = std::fs::read_dir(srv.dir.path().join("data/demo")).unwrap().collect();
    assert_eq!(files.iter().filter(|f| f.as_ref().unwrap().path().extension() == Some("sqlite".as_ref())).count(), 1);
}

#[actix_web::test]
async fn the_demo_jwt_alias_returns_a_working_token_and_the_theme() {
    // SPEC §11 #145, #147
    let srv = demo("dark").await;
    let body: Value = srv.browser.get(srv.url("/demo/jwt")).send().await.unwrap().json().await.unwrap();
    assert_eq!(body.as_object().unwrap().len(), 2);
    assert_eq!(body["theme"], "dark");
    let jwt = body["jwt"].as_str().unwrap();
    assert_eq!(srv.get_with_jwt("/session/models", jwt).await.0, 200);
    let (status, headers, stream) = srv.chat(jwt, &ask("c1", "hello")).await;
    assert_eq!(status, 200, "{stream}");
    assert_eq!(headers["x-vercel-ai-ui-message-stream"], "v1");
    assert!(stream.contains(r#""type":"finish""#) && stream.ends_with("data: [DONE]\n\n"), "{stream}");
    let body: Value = srv.browser.post(srv.url("/demo/sessions")).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["theme"], "dark");
}

#[actix_web::test]
async fn integrator_routes_do_not_exist_in_demo_mode() {
    // SPEC §11 #25, #32
    let srv = demo("light").await;
    let not_found = json!({"error": "not_found"});
    let res = srv.browser.post(srv.url("/sessions")).json(&srv.session_body("u")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.json::<Value>().await.unwrap()), (404, not_found.clone()));
    let res = srv.browser.delete(srv.url("/sessions/x")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.json::<Value>().await.unwrap()), (404, not_found));
    let health: Value = srv.browser.get(srv.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"mode": "demo", "status": "ok"}));
}

#[actix_web::test]
async fn demo_routes_do_not_exist_in_production() {
    // SPEC §11 #138
    let srv = TestServer::start(|_, _| {}).await;
    let res = srv.browser.post(srv.url("/demo/sessions")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"error": "not_found"}));
    for path in ["/demo/", "/demo/x", "/demo/jwt", "/demo"] {
        assert_eq!(srv.browser.get(srv.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
}

#[actix_web::test]
async fn ui_paths_fall_back_to_the_app_and_unknown_api_paths_are_404() {
    let srv = demo("light").await;
    for path in ["/", "/c/some-conversation"] {
        let res = srv.browser.get(srv.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-cache");
        assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'self'"));
    }
    // API paths never fall back to the UI: an unknown one is 404, a known one with the wrong method 405.
    for (path, status) in [("/session/nope", 404), ("/healthz/x", 404), ("/conversations/x", 405), ("/chat", 405)] {
        let res = srv.browser.get(srv.url(path)).send().await.unwrap();
        assert_eq!(res.status(), status, "{path}");
        assert!(res.json::<Value>().await.unwrap()["error"].is_string(), "{path}");
    }

    let res = srv.browser.get(srv.url("/../../etc/passwd")).send().await.unwrap();
    assert!(!res.text().await.unwrap().contains("root:"));
}
