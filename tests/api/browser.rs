//! The bundled UI in a real browser (issue #6 item 4; SPEC §8, §11 items 148–156): Debian's Chromium
//! driven by playwright-core (`web/e2e/run.mjs`), an integrator's page on another origin embedding the
//! UI, and the real daemon with the scripted model, MCP, OpenSearch and S3 peers behind it.

use serde_json::{Value, json};

use crate::peers::browser::{ParentPage, play, texts};
use crate::peers::cut_proxy::CutProxy;
use crate::peers::llm::GOOD_KEY;
use crate::peers::s3::{Fault, S3_KEY_ID, S3_SECRET};
use crate::peers::{mcp, opensearch};
use crate::server::{JWT_SECRET, TestServer, claims};

/// The daemon with `parent` allowed to embed the UI (plus `also` origins).
async fn daemon(parent: &ParentPage, also: &[&str]) -> TestServer {
    let mut origins = vec![parent.origin.clone()];
    origins.extend(also.iter().map(|o| (*o).to_owned()));
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_ALLOWED_PARENT_ORIGINS".into(), origins.join(","));
    })
    .await;
    parent.embed(&srv.base);
    srv
}

/// The MCP credential of the first test: distinct enough that no stylesheet or script contains it by chance.
const MCP_TOKEN: &str = "mcp-bearer-4f9c1e";

async fn mint(srv: &TestServer, user: &str, ttl: u64, connectors: Value) -> String {
    let mut body = srv.session_body(user);
    body["model"] = json!({"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": GOOD_KEY});
    body["connectors"] = connectors;
    body["ttl_seconds"] = json!(ttl);
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{minted}");
    minted["jwt"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn an_integrator_page_embeds_the_ui_and_a_turn_shows_tools_sources_and_reasoning() {
    // SPEC §11 #149, #151, #158, #159; issue #6 item 4 (message streams, tool indicator, source chip, screenshot)
    let tools = mcp::start(&[MCP_TOKEN]).await;
    let search = opensearch::start().await;
    let parent = ParentPage::start();
    let srv = daemon(&parent, &[]).await;
    let connectors = json!([
        {"descriptive_id": "docs", "name": "Docs", "type": "mcp", "default_active": true, "url": tools.url,
         "auth": {"bearer": MCP_TOKEN}},
        {"descriptive_id": "kb", "name": "Handbook", "type": "rag", "default_active": true, "backend": "opensearch",
         "cluster": search.url, "auth": {"bearer": "os-token"}, "indexes": ["docs", "faq"]}
    ]);
    let jwt = mint(&srv, "ada", 600, connectors).await;
    parent.give(&[&jwt]);
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e/chat.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    // Every credential the session was minted with, and the upstreams' addresses (SPEC §11 #61, #162).
    let secrets = [GOOD_KEY, MCP_TOKEN, "os-token", S3_SECRET, S3_KEY_ID, JWT_SECRET, &tools.url, &search.url];
    let report = play(json!({"url": format!("{}/", parent.origin), "secrets": secrets, "steps": [
        {"send": r#"call: docs__search {"q": "rust"}; kb__retrieve {"query": "rust"}"#},
        {"waitFor": "tool-pill", "count": 2, "attr": {"data-state": "done"}},
        {"waitFor": "source-chip", "count": 3},
        {"snapshot": "done"},
        // The two calls fold into one line once done; each call and each chip opens to its details.
        {"click": "tool-group"},
        {"click": "tool-details", "nth": 0},
        {"click": "source-chip", "nth": 0},
        {"snapshot": "after"},
        {"screenshot": shot.to_str().unwrap()},
    ]}))
    .await;
    let done = &report["snapshots"]["done"];
    assert_eq!(texts(done, "tool-group"), ["🔧 2 tool calls · tap to expand"], "{done}");
    assert_eq!(texts(done, "reasoning")[0].trim(), "Reasoning", "reasoning starts collapsed: {done}");
    let after = &report["snapshots"]["after"];
    let pills = texts(after, "tool-pill");
    assert!(pills.iter().any(|p| p.contains("search") && p.contains("(docs)")), "{pills:?}");
    assert!(pills.iter().any(|p| p.contains("retrieve") && p.contains("(kb)")), "{pills:?}");
    // The opened call shows what the model sent and got back, as the model saw it.
    let opened = pills.iter().find(|p| p.contains("Arguments")).expect("one call opened");
    assert!(opened.contains(r#""q": "rust""#) && opened.contains("Result"), "{opened}");
    assert!(!pills.iter().any(|p| p.contains(MCP_TOKEN) || p.contains(&tools.url)), "no credential or URL: {pills:?}");
    let chips = texts(after, "source-chip");
    assert!(chips[0].contains("Document 0 of docs") && chips[0].contains("kb"), "{chips:?}");
    assert!(chips[0].contains("Index") && chips[0].contains("Score"), "the opened chip: {chips:?}");
    assert!(texts(after, "assistant-message")[0].contains("Tool results:"), "{after}");
    assert!(texts(after, "model-chip")[0].contains("claude-sonnet-4-5"));
    assert!(!after["reasoning"].as_array().unwrap().is_empty(), "the thinking model's reasoning is shown");
    assert!(after["demo-banner"].as_array().unwrap().is_empty(), "no demo banner in production (SPEC §11 #155)");
    // The bundle, the API answers and the stream: nothing the browser fetched or sent holds a secret.
    assert_eq!(report["leaks"], json!([]), "{}", report["leaks"]);
    assert!(parent.handshakes() >= 1);
    assert!(shot.exists());
    // Every authenticated request carries the JWT's routing key for a load balancer (README "Scale-out").
    let claims = claims(&jwt);
    let authed = report["authed"].as_array().unwrap();
    assert!(
        authed.iter().any(|r| r["path"] == "/chat") && authed.iter().any(|r| r["path"] == "/conversations"),
        "{authed:?}"
    );
    assert!(authed.iter().all(|r| r["route"] == claims["rk"]), "{authed:?}");
}

#[actix_web::test]
async fn an_expired_jwt_triggers_a_new_handshake_and_the_message_still_goes_through() {
    // SPEC §11 #153
    let parent = ParentPage::start();
    let srv = daemon(&parent, &[]).await;
    let short = mint(&srv, "ada", 1, json!([])).await;
    let long = mint(&srv, "ada", 600, json!([])).await;
    parent.give(&[&short, &long]);
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": [
        {"waitFor": "composer-input"},
        {"sleep": 1500},
        {"send": "hello after expiry"},
        // The run may look idle between the 401 and the retry with the fresh JWT: wait for the reply itself.
        {"waitFor": "assistant-message", "text": "Hello from the scripted model."},
        {"snapshot": "after"},
    ]}))
    .await;
    assert!(texts(&report["snapshots"]["after"], "assistant-message")[0].contains("Hello from the scripted model."));
    assert_eq!(parent.handshakes(), 2, "one handshake at boot, one after the 401");
}

#[actix_web::test]
async fn a_jwt_from_a_page_that_is_not_the_named_parent_is_ignored() {
    // SPEC §11 #150: the page may frame the UI, but the UI was told another origin is its parent.
    let parent = ParentPage::start();
    let named = "http://127.0.0.1:9";
    let srv = daemon(&parent, &[named]).await;
    parent.give(&[&mint(&srv, "ada", 600, json!([])).await]);
    let report = play(json!({"url": format!("{}/spoof?claimed={named}", parent.origin), "steps": [
        {"waitFor": "notice", "text": "did not reply", "timeoutMs": 20000},
        {"snapshot": "after"},
    ]}))
    .await;
    assert!(report["snapshots"]["after"]["composer-input"].as_array().unwrap().is_empty(), "no chat without a JWT");
    assert!(srv.llm.seen().iter().all(|s| s.body.is_none()), "no chat request was made");
}

#[actix_web::test]
async fn demo_mode_shows_its_banner_and_chats() {
    // SPEC §11 #155, issue #6 item 2 (demo)
    let srv = TestServer::offline_demo().await;
    let report = play(json!({"url": srv.url("/demo/"), "steps": [
        {"waitFor": "demo-banner"},
        {"send": "hello"},
        {"snapshot": "after"},
        // Issue #8 item 2: the reply's token counts show while the pointer rests on it.
        {"hover": "assistant-message"},
        {"waitFor": "message-usage"},
        {"snapshot": "hovered"},
        // SPEC §11 #152, #136: the page's address names the conversation, and a reload brings it back.
        {"reload": true},
        {"waitFor": "user-message", "text": "hello"},
        {"waitFor": "assistant-message", "text": "offline demo model"},
        {"snapshot": "reloaded"},
    ]}))
    .await;
    let after = &report["snapshots"]["after"];
    assert_eq!(texts(after, "demo-banner")[0], "Demo session — not authenticated");
    assert!(texts(after, "assistant-message")[0].contains("offline demo model"), "{after}");
    let usage = &texts(&report["snapshots"]["hovered"], "message-usage")[0];
    assert!(usage.contains(" in · ") && usage.ends_with(" out tokens"), "{usage}");
    let url = after["url"].as_str().unwrap();
    let cid = url.strip_prefix("/demo/c/").unwrap_or_else(|| panic!("the demo page's address: {url}"));
    let reloaded = &report["snapshots"]["reloaded"];
    assert_eq!(reloaded["url"], url);
    assert_eq!(reloaded["frameSrc"], format!("/c/{cid}"), "the frame shows the conversation's own route");
    assert_eq!(texts(reloaded, "user-message"), ["You\n\nhello"], "once, restored from the stored conversation");
}

#[actix_web::test]
async fn the_ui_opened_top_level_in_demo_mode_points_to_the_demo_page() {
    // SPEC §11 #148 (demo)
    let srv = TestServer::offline_demo().await;
    let report = play(json!({"url": srv.url("/"), "frame": false, "steps": [
        {"waitFor": "notice", "text": "open /demo/"},
        {"snapshot": "after"},
    ]}))
    .await;
    assert!(report["snapshots"]["after"]["composer-input"].as_array().unwrap().is_empty());
    assert!(srv.llm.seen().iter().all(|s| s.body.is_none()), "no chat request was made");
}

#[actix_web::test]
async fn the_read_only_banner_appears_under_a_stalled_s3_and_clears_by_itself() {
    // SPEC §11 #156, decision 29; issue #6 item 4
    let parent = ParentPage::start();
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_ALLOWED_PARENT_ORIGINS".into(), parent.origin.clone());
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "100".into());
        env.insert("AUGCHATD_FLUSH_STALLED_MS".into(), "1500".into());
    })
    .await;
    parent.embed(&srv.base);
    parent.give(&[&mint(&srv, "ada", 600, json!([])).await]);
    // The first hook breaks S3 (after the conversation exists: a new one needs a cold lookup), the
    // second heals it.
    let switch = srv.s3.fault_switch();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    parent.on_hook(move || {
        let first = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        switch(if first { Fault::Status(503) } else { Fault::None });
    });
    let hook = format!("{}/hook", parent.origin);
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": [
        {"waitFor": "composer-input"},
        {"fetch": hook},
        {"send": "first"},
        // Flush attempts at ~0.1 s, +1 s, +2 s: the failure streak passes 1.5 s.
        {"sleep": 3500},
        {"send": "second", "expect": "none"},
        {"waitFor": "readonly-banner"},
        {"snapshot": "read-only"},
        {"fetch": hook},
        {"waitFor": "composer-input", "timeoutMs": 30000},
        {"send": "third"},
        {"snapshot": "recovered"},
    ]}))
    .await;
    let read_only = &report["snapshots"]["read-only"];
    assert!(texts(read_only, "readonly-banner")[0].contains("read-only"), "{read_only}");
    assert!(read_only["composer-input"].as_array().unwrap().is_empty(), "the composer is hidden");
    let recovered = &report["snapshots"]["recovered"];
    assert!(recovered["readonly-banner"].as_array().unwrap().is_empty());
    assert_eq!(texts(recovered, "assistant-message").len(), 2, "{recovered}");
}

#[actix_web::test]
async fn a_session_past_its_turn_limit_says_so_in_the_thread() {
    // Issue #8 item 2: a 429 from the session's limits reads as a sentence, not a status code.
    let parent = ParentPage::start();
    let srv = daemon(&parent, &[]).await;
    let mut body = srv.session_body("ada");
    body["limits"] = json!({"max_turns": 1});
    let (status, minted) = srv.post_session(&srv.acme, &body).await;
    assert_eq!(status, 200, "{minted}");
    parent.give(&[minted["jwt"].as_str().unwrap()]);
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": [
        {"send": "hello"},
        {"send": "again", "expect": "none"},
        {"waitFor": "message-error"},
        {"snapshot": "refused"},
    ]}))
    .await;
    let refused = texts(&report["snapshots"]["refused"], "message-error");
    assert_eq!(refused, ["Not sent: this chat session has reached its limit of messages."]);
}

/// A page embedding the UI for a fresh session of `ada` with `connectors`.
async fn embedded(connectors: Value) -> (ParentPage, TestServer) {
    let (parent, srv, _) = embedded_with_jwt(connectors).await;
    (parent, srv)
}

/// `embedded`, and the session's JWT for the test's own calls.
async fn embedded_with_jwt(connectors: Value) -> (ParentPage, TestServer, String) {
    let parent = ParentPage::start();
    let srv = daemon(&parent, &[]).await;
    let jwt = mint(&srv, "ada", 600, connectors).await;
    parent.give(&[&jwt]);
    (parent, srv, jwt)
}

#[actix_web::test]
async fn assistant_markdown_renders_tables_math_diagrams_json_and_csv_and_never_scripts() {
    // SPEC §11 #157
    let (parent, _srv) = embedded(json!([])).await;
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": [
        {"send": "markdown please"},
        {"waitFor": "markdown-table"},
        {"waitFor": "math"},
        {"waitFor": "json-tree"},
        {"waitFor": "csv-table"},
        {"waitFor": "mermaid"},
        // Drawn: the source shown while streaming or after a failure has no diagram.
        {"waitFor": "mermaid-diagram", "timeoutMs": 30000},
        // The reply's last words: the parts above can all be on screen while it still streams.
        {"waitFor": "assistant-message", "text": "Done."},
        {"snapshot": "after"},
    ]}))
    .await;
    let after = &report["snapshots"]["after"];
    let reply = &texts(after, "assistant-message")[0];
    assert!(reply.contains("apple") && reply.contains("pear") && reply.contains("Done."), "{reply}");
    assert!(!reply.contains("document.title"), "the script is stripped, not shown: {reply}");
    assert_eq!(after["scripts"], 0);
}

#[actix_web::test]
async fn the_conversation_list_switches_threads_and_connector_and_model_choices_persist() {
    // Issue #6 items 3 and 4; SPEC §11 #152, #160, #161
    let tools = mcp::start(&["tok-a"]).await;
    let (parent, srv) = embedded(json!([{"descriptive_id": "docs", "name": "Docs", "type": "mcp",
        "default_active": true, "url": tools.url, "auth": {"bearer": "tok-a"}}]))
    .await;
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": [
        {"send": "first conversation"},
        {"waitFor": "connectors-button", "text": "Tools 1/1"},
        {"click": "connectors-button"},
        {"click": "connector-toggle", "attr": {"data-id": "docs"}},
        // The label follows the saved toggle at once.
        {"waitFor": "connectors-button", "text": "Tools 0/1"},
        {"select": "model-picker", "value": "claude-haiku-4-5"},
        {"sleep": 500},
        {"click": "new-conversation"},
        {"waitFor": "empty"},
        {"send": "second conversation"},
        {"waitFor": "conversation-item", "count": 2},
        {"snapshot": "two"},
        {"click": "conversation-item", "text": "first conversation"},
        {"waitFor": "user-message", "text": "first conversation"},
        {"reload": true},
        {"waitFor": "user-message", "text": "first conversation"},
        {"click": "connectors-button"},
        {"waitFor": "connector-toggle"},
        {"snapshot": "reloaded"},
        {"send": "after reload"},
    ]}))
    .await;
    let two = &report["snapshots"]["two"];
    let items = texts(two, "conversation-item");
    assert!(
        items.iter().any(|t| t.contains("first conversation")) && items.iter().any(|t| t.contains("second")),
        "{items:?}"
    );
    let reloaded = &report["snapshots"]["reloaded"];
    let users = texts(reloaded, "user-message");
    assert!(
        users.len() == 1 && users[0].ends_with("first conversation"),
        "the first thread, after a reload: {users:?}"
    );
    assert_eq!(reloaded["connector-toggle"][0]["checked"], false, "the toggle survived the reload");
    assert_eq!(reloaded["model-picker"][0]["value"], "claude-haiku-4-5");
    // The last turn went to the chosen model, without the switched-off connector's tools.
    let last = srv.llm.last_call();
    assert_eq!(last["model"], "claude-haiku-4-5");
    assert!(last.get("tools").is_none(), "{last}");
}

#[actix_web::test]
async fn the_ui_opened_top_level_says_it_must_be_embedded() {
    // SPEC §11 #148
    let parent = ParentPage::start();
    let srv = daemon(&parent, &[]).await;
    let report = play(json!({"url": srv.url("/"), "frame": false, "steps": [
        {"waitFor": "notice", "text": "must be embedded"},
        {"snapshot": "after"},
    ]}))
    .await;
    assert!(report["snapshots"]["after"]["composer-input"].as_array().unwrap().is_empty());
    assert_eq!(parent.handshakes(), 0);
}

#[actix_web::test]
async fn an_mcp_401_part_makes_the_ui_ask_its_parent_for_a_fresh_jwt() {
    // SPEC §5.5 step 4, §11 #154
    let tools = mcp::start(&["tok-a"]).await;
    let (parent, _srv) = embedded(json!([{"descriptive_id": "docs", "name": "Docs", "type": "mcp",
        "default_active": true, "url": tools.url, "auth": {"bearer": "tok-a"}}]))
    .await;
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": [
        {"send": "call: docs__expired {}"},
        {"waitFor": "data-error"},
        {"sleep": 1000},
        {"snapshot": "after"},
    ]}))
    .await;
    assert!(texts(&report["snapshots"]["after"], "assistant-message")[0].contains("Connector authentication expired"));
    assert!(parent.handshakes() >= 2, "boot, then the re-handshake the data part asked for");
}

#[actix_web::test]
async fn a_360_px_iframe_in_dark_theme_still_chats_and_opens_the_conversation_drawer() {
    // Issue #6 item 3 (responsive to 360 px, dark theme); SPEC §11 #145
    let srv = TestServer::boot(&["demo"], |env, _| {
        for tls in ["AUGCHATD_TLS_CERT", "AUGCHATD_TLS_KEY", "AUGCHATD_CLIENT_CA"] {
            env.remove(tls);
        }
        env.insert("DEMO_THEME".into(), "dark".into());
    })
    .await;
    let report = play(json!({"url": srv.url("/demo/"), "viewport": {"width": 360, "height": 640}, "steps": [
        {"send": "hello"},
        {"click": "sidebar-toggle"},
        {"waitFor": "conversation-item"},
        {"snapshot": "after"},
    ]}))
    .await;
    let after = &report["snapshots"]["after"];
    assert_eq!(after["theme"], "dark");
    assert!(texts(after, "assistant-message")[0].contains("offline demo model"));
    assert_eq!(after["conversation-item"].as_array().unwrap().len(), 1);
}

/// The user's conversation as stored: its only conversation's messages.
async fn stored_thread(srv: &TestServer, jwt: &str) -> Value {
    let (_, listed) = srv.get_with_jwt("/conversations", jwt).await;
    let cid = listed["conversations"][0]["conversation_id"].as_str().unwrap().to_owned();
    srv.get_with_jwt(&format!("/conversations/{cid}/messages"), jwt).await.1
}

#[actix_web::test]
async fn stop_ends_the_turn_on_the_server_and_the_partial_reply_is_kept() {
    // Issue #8 item 1: Stop is POST /chat/{cid}/stop, not only a dropped connection. The scripted model holds
    // its reply after "Hello from " until released, so the stop lands mid-reply.
    let (parent, srv, jwt) = embedded_with_jwt(json!([])).await;
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": [
        {"send": "gated hello", "expect": "running"},
        {"waitFor": "assistant-message", "text": "Hello from"},
        {"click": "stop"},
        {"idle": true},
        {"snapshot": "stopped"},
    ]}))
    .await;
    let stopped = &report["snapshots"]["stopped"];
    let shown = texts(stopped, "assistant-message");
    assert!(shown.len() == 1 && shown[0].contains("Hello from") && !shown[0].contains("scripted"), "{shown:?}");
    assert!(stopped["message-error"].as_array().unwrap().is_empty(), "{stopped}");
    // The server ended the turn: the model's stream was dropped with its gate still shut, and what the user saw
    // is stored. Releasing the gate now adds nothing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while srv.llm.gated_dropped() == 0 {
        assert!(std::time::Instant::now() < deadline, "the model's stream was never dropped");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    srv.llm.release();
    let stored = stored_thread(&srv, &jwt).await;
    assert_eq!(stored["messages"].as_array().unwrap().len(), 2, "{stored}");
    let reply = &stored["messages"][1]["parts"];
    let text: String =
        reply.as_array().unwrap().iter().filter(|p| p["type"] == "text").filter_map(|p| p["text"].as_str()).collect();
    assert_eq!(text, "Hello from ", "{stored}");
    assert_eq!(srv.llm.seen().iter().filter(|s| s.body.is_some()).count(), 1, "one model call, no other");
}

/// Plays a reply the scripted model holds after `Hello from ` (`gated`), broken by `interruption` once that
/// shows; the parent's hook, fetched last, lets the model finish. Checks that the page shows the rest within
/// seconds (it resumed at once, not after a backoff or a user's action), the reply once, whole, under its
/// question, from the one turn, and that it is stored once.
async fn one_whole_reply_after(parent: &ParentPage, srv: &TestServer, jwt: &str, interruption: &[Value]) {
    let hook = format!("{}/hook", parent.origin);
    let mut steps = vec![
        json!({"send": "gated hello", "expect": "running"}),
        json!({"waitFor": "assistant-message", "text": "Hello from"}),
    ];
    steps.extend_from_slice(interruption);
    steps.extend([
        json!({"snapshot": "interrupted"}),
        json!({"fetch": hook}),
        json!({"waitFor": "assistant-message", "text": "Hello from the scripted model.", "timeoutMs": 5_000}),
        json!({"idle": true}),
        json!({"waitFor": "user-message", "text": "gated hello"}),
        json!({"snapshot": "done"}),
    ]);
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": steps})).await;
    let interrupted = &report["snapshots"]["interrupted"];
    assert_eq!(texts(interrupted, "assistant-message").len(), 1, "{interrupted}");
    let done = &report["snapshots"]["done"];
    let replies = texts(done, "assistant-message");
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].matches("Hello from").count(), 1, "nothing repeated: {replies:?}");
    let questions = texts(done, "user-message");
    assert!(questions.len() == 1 && questions[0].ends_with("gated hello"), "{questions:?}");
    assert!(done["message-error"].as_array().unwrap().is_empty(), "{done}");
    assert_eq!(srv.llm.seen().iter().filter(|s| s.body.is_some()).count(), 1, "the one turn, not a new one");
    assert_eq!(stored_thread(srv, jwt).await["messages"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn a_page_reloaded_mid_reply_gets_the_same_turn_back_with_nothing_repeated() {
    // Issue #8 item 1: the turn runs on while the page reloads; the new page resumes it (GET /chat/{cid}/stream)
    // and shows the reply once, whole, under the question it answers.
    let (parent, srv, jwt) = embedded_with_jwt(json!([])).await;
    let llm = srv.llm.clone();
    parent.on_hook(move || llm.release());
    let reload = [json!({"reload": true}), json!({"waitFor": "assistant-message", "text": "Hello from"})];
    one_whole_reply_after(&parent, &srv, &jwt, &reload).await;
}

#[actix_web::test]
async fn a_stream_cut_mid_reply_with_the_tab_visible_resumes_at_once_with_nothing_repeated() {
    // Issue #8 item 1: a balancer restart or a network blip cuts the reply's connection while the user
    // watches. The UI resumes the same turn over a new connection (GET /chat/{cid}/stream) at once.
    let parent = ParentPage::start();
    let srv = daemon(&parent, &[]).await;
    let proxy = CutProxy::start(&srv.base).await;
    parent.embed(&proxy.base);
    let jwt = mint(&srv, "ada", 600, json!([])).await;
    parent.give(&[&jwt]);
    // The first hook cuts every connection of the page to the daemon; the second lets the model finish.
    let cut = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (llm, cutter, seen_cut) = (srv.llm.clone(), proxy.clone(), std::sync::Arc::clone(&cut));
    parent.on_hook(move || {
        let mut cut = seen_cut.lock().unwrap();
        match *cut {
            None => *cut = Some(cutter.cut()),
            Some(_) => llm.release(),
        }
    });
    let cut_now = [json!({"fetch": format!("{}/hook", parent.origin)}), json!({"sleep": 500})];
    one_whole_reply_after(&parent, &srv, &jwt, &cut_now).await;
    assert!(cut.lock().unwrap().is_some_and(|n| n > 0), "the page's connections were open when cut");
}

#[actix_web::test]
async fn a_tool_that_needs_approval_waits_for_the_users_click() {
    // Issue #8 item 4: the pill asks; Approve runs the stored call and the reply goes on, Deny never runs it.
    let tools = mcp::start(&["tok-a"]).await;
    let parent = ParentPage::start();
    let srv = daemon(&parent, &[]).await;
    let connectors = json!([{"descriptive_id": "docs", "name": "Docs", "type": "mcp", "default_active": true,
        "url": tools.url, "auth": {"bearer": "tok-a"}, "require_approval": ["search"]}]);
    parent.give(&[&mint(&srv, "ada", 600, connectors).await]);
    let report = play(json!({"url": format!("{}/", parent.origin), "steps": [
        {"send": r#"call: docs__search {"q": "rust"}"#},
        {"waitFor": "tool-pill", "attr": {"data-state": "approval"}},
        {"snapshot": "asked"},
        {"click": "tool-approve"},
        {"waitFor": "tool-pill", "attr": {"data-state": "done"}},
        {"waitFor": "assistant-message", "text": r#"Tool results: 1 hit for "rust""#},
        {"send": r#"call: docs__search {"q": "go"}"#},
        {"waitFor": "tool-pill", "attr": {"data-state": "approval"}},
        {"click": "tool-deny"},
        {"waitFor": "tool-pill", "attr": {"data-state": "denied"}},
        {"waitFor": "assistant-message", "text": "denied this tool call, so it did not run."},
        {"snapshot": "after"},
    ]}))
    .await;
    assert!(texts(&report["snapshots"]["asked"], "tool-pill")[0].contains("Needs your approval"), "{report}");
    let replies = texts(&report["snapshots"]["after"], "assistant-message");
    assert!(replies[0].contains(r#"Tool results: 1 hit for "rust""#), "{replies:?}");
    assert!(replies[1].contains("The user denied this tool call, so it did not run."), "{replies:?}");
    assert_eq!(tools.calls("search"), 1, "only the approved call reached the MCP server");
    assert!(report["consoleErrors"].as_array().unwrap().is_empty(), "{report}");
}
