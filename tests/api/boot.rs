//! Booting the binary: config errors, modes, ports, the banner and log format (SPEC §11 items 1–6,
//! 139–146, 165; issue: bad config exits 1 with one clear line).

use serde_json::{Value, json};

use crate::binary::{Daemon, ProdRig, free_port, run_to_exit};
use crate::peers::llm::{GOOD_KEY, LlmPeer};
use crate::peers::s3::{BUCKET, S3_KEY_ID, S3_SECRET, S3Peer};
use crate::server::install_crypto;

fn one_line(stderr: &str) -> &str {
    assert_eq!(stderr.lines().count(), 1, "expected exactly one line, got: {stderr:?}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    stderr.trim_end()
}

#[actix_web::test]
async fn an_invalid_port_exits_1_with_one_line() {
    // SPEC §11 #4
    let dir = tempfile::tempdir().unwrap();
    let out = run_to_exit(dir.path(), &["demo"], &[("AUGCHATD_PORT", "8080abc")]).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(one_line(&out.stderr), "Invalid port: 8080abc");
    assert!(out.stdout.is_empty());
}

#[actix_web::test]
async fn production_without_tls_files_exits_1_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_to_exit(dir.path(), &[], &[]).await;
    assert_eq!(out.code, Some(1));
    assert!(one_line(&out.stderr).contains("AUGCHATD_TLS_CERT"), "{}", out.stderr);
    let out = run_to_exit(dir.path(), &["serve"], &[]).await;
    assert_eq!(out.code, Some(1));
    assert!(one_line(&out.stderr).starts_with("unknown argument: serve"));
}

#[actix_web::test]
async fn production_boots_with_tls_and_healthz_needs_no_certificate() {
    // SPEC §11 #1, #6
    let rig = ProdRig::new();
    let daemon = rig.start(&[("AUGCHATD_MODE", "demmo")]).await;
    assert_eq!(daemon.stdout().lines().next().unwrap(), format!("augchatd up on :{} (mode=prod)", rig.port));
    let res = rig.browser.get(rig.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"mode": "prod", "status": "ok"}));
    let out = daemon.stop().await;
    assert!(out.stderr.contains("AUGCHATD_JWT_SECRET is not set"), "{}", out.stderr);
}

#[actix_web::test]
async fn the_demo_subcommand_serves_the_builtin_model_with_no_config() {
    install_crypto();
    // Issue 3 item 9; SPEC §11 #5 (PORT fallback), #144 (hot-only)
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let daemon = Daemon::start(dir.path(), &["demo"], &[("PORT", port.as_str())]).await;
    let banner = daemon.stdout();
    assert!(banner.starts_with(&format!("augchatd up on :{port} (mode=demo)\n")), "{banner}");
    assert!(banner.contains(&format!("  demo: open http://localhost:{port}/demo/")), "{banner}");
    assert!(banner.contains("  demo: cold storage=hot-only"), "{banner}");
    assert!(banner.contains("  demo: model=offline/augchatd-offline-demo"), "{banner}");
    let health: Value = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"mode": "demo", "status": "ok"}));
    let page = reqwest::get(format!("http://127.0.0.1:{port}/demo/")).await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<iframe id="app""#));
    daemon.stop().await;
}

#[actix_web::test]
async fn demo_mode_without_a_model_exits_1_with_the_copy_hint() {
    // SPEC §11 #139
    let dir = tempfile::tempdir().unwrap();
    let out = run_to_exit(dir.path(), &[], &[("AUGCHATD_MODE", "demo")]).await;
    assert_eq!(out.code, Some(1));
    assert!(
        one_line(&out.stderr).contains("cp local/demo_session.json.example local/demo_session.json"),
        "{}",
        out.stderr
    );
}

fn write_demo_file(dir: &std::path::Path, body: &Value) {
    std::fs::create_dir_all(dir.join("local")).unwrap();
    std::fs::write(dir.join("local/demo_session.json"), body.to_string()).unwrap();
}

#[actix_web::test]
async fn a_malformed_demo_file_exits_1_naming_the_field() {
    // SPEC §11 #140, #141
    let llm = LlmPeer::start();
    let good = json!({"user_id": "demo-user", "system_prompt": "Be brief.",
                      "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": GOOD_KEY}});
    let with = |path: &[&str], v: Value| {
        let mut body = good.clone();
        let mut slot = &mut body;
        for key in path {
            slot = &mut slot[*key];
        }
        *slot = v;
        body
    };
    let without = |path: &[&str]| {
        let mut body = good.clone();
        let (last, parents) = path.split_last().unwrap();
        let mut slot = &mut body;
        for key in parents {
            slot = &mut slot[*key];
        }
        slot.as_object_mut().unwrap().remove(*last);
        body
    };
    let cases = [
        (with(&["user_id"], json!("a/b")), "user_id"),
        (with(&["system_prompt"], json!("")), "system_prompt"),
        (without(&["system_prompt"]), "system_prompt"),
        (without(&["model", "model_id"]), "model_id"),
        (with(&["theme"], json!("blue")), "theme"),
        (with(&["model", "api_key"], json!("sk-replace-me")), "placeholder"),
        (with(&["model", "api_key"], json!("REPLACE_ME")), "placeholder"),
        (with(&["connectors"], json!([{"descriptive_id": "x", "type": "ftp"}])), "connectors[0]"),
    ];
    let base = llm.base.clone();
    for (body, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_demo_file(dir.path(), &body);
        let out =
            run_to_exit(dir.path(), &[], &[("AUGCHATD_MODE", "demo"), ("AUGCHATD_ANTHROPIC_BASE_URL", &base)]).await;
        assert_eq!(out.code, Some(1), "{needle}: {}", out.stderr);
        let line = one_line(&out.stderr);
        assert!(line.contains("local/demo_session.json") && line.contains(needle), "{needle}: {line}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("local")).unwrap();
    std::fs::write(dir.path().join("local/demo_session.json"), "{ nope").unwrap();
    let out = run_to_exit(dir.path(), &[], &[("AUGCHATD_MODE", "demo")]).await;
    assert_eq!(out.code, Some(1));
    assert!(one_line(&out.stderr).starts_with("local/demo_session.json: not valid JSON"), "{}", out.stderr);
}

#[actix_web::test]
async fn demo_probes_refuse_a_bad_key_or_bucket_at_boot() {
    // SPEC §11 #142, #143
    let llm = LlmPeer::start();
    let s3_dir = tempfile::tempdir().unwrap();
    let s3 = S3Peer::start(s3_dir.path(), S3_KEY_ID, S3_SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("AUGCHATD_MODE", "demo"), ("AUGCHATD_ANTHROPIC_BASE_URL", llm.base.as_str())];
    let model = |key: &str| json!({"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": key});
    write_demo_file(dir.path(), &json!({"user_id": "u", "system_prompt": "s", "model": model("sk-bad")}));
    let out = run_to_exit(dir.path(), &[], &env).await;
    assert_eq!(out.code, Some(1));
    assert!(one_line(&out.stderr).starts_with("LLM credential probe failed for anthropic: "), "{}", out.stderr);
    assert!(!out.stderr.contains("sk-bad"));

    let storage = json!({"s3": {"endpoint": s3.endpoint(), "region": "us-east-1", "bucket": BUCKET,
                                "access_key_id": S3_KEY_ID, "secret_access_key": "WRONG-SECRET"}});
    write_demo_file(
        dir.path(),
        &json!({"user_id": "u", "system_prompt": "s", "model": model(GOOD_KEY), "storage": storage}),
    );
    let out = run_to_exit(dir.path(), &[], &env).await;
    assert_eq!(out.code, Some(1));
    let line = one_line(&out.stderr);
    assert!(line.starts_with("S3 writability probe failed for bucket \"cold\""), "{line}");
    assert!(!line.contains("WRONG-SECRET") && !line.contains("127.0.0.1"), "{line}");
}

#[actix_web::test]
async fn design_a_variables_boot_the_demo_and_conflicts_are_refused() {
    // SPEC §11 #146
    let llm = LlmPeer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let base = [
        ("AUGCHATD_MODE", "DEMO"),
        ("AUGCHATD_PORT", port.as_str()),
        ("AUGCHATD_ANTHROPIC_BASE_URL", llm.base.as_str()),
        ("DEMO_MODEL_PROVIDER", "anthropic"),
        ("DEMO_MODEL_ID", "claude-sonnet-4-5"),
        ("DEMO_MODEL_API_KEY", GOOD_KEY),
        ("DEMO_SYSTEM_PROMPT", "Be brief."),
        ("DEMO_THEME", "Dark"),
    ];
    let daemon = Daemon::start(dir.path(), &[], &base).await;
    assert!(daemon.stdout().contains("  demo: model=anthropic/claude-sonnet-4-5"));
    assert!(daemon.stdout().contains("  demo: theme=dark"));
    daemon.stop().await;

    let connectors = r#"[{"descriptive_id":"gh","name":"GitHub","type":"mcp","default_active":true,"url":"https://mcp.example/","auth":{}}]"#;
    let file = dir.path().join("connectors.json");
    std::fs::write(&file, connectors).unwrap();
    let both =
        [&base[..], &[("DEMO_CONNECTORS", connectors), ("DEMO_CONNECTORS_FILE", file.to_str().unwrap())]].concat();
    let out = run_to_exit(dir.path(), &[], &both).await;
    assert_eq!(out.code, Some(1));
    assert!(one_line(&out.stderr).contains("DEMO_CONNECTORS and DEMO_CONNECTORS_FILE"), "{}", out.stderr);
    let malformed = [&base[..], &[("DEMO_CONNECTORS", "[{")]].concat();
    let out = run_to_exit(dir.path(), &[], &malformed).await;
    assert_eq!(out.code, Some(1));
    assert!(one_line(&out.stderr).starts_with("DEMO_CONNECTORS: not valid JSON"), "{}", out.stderr);
}

#[actix_web::test]
async fn an_uncreatable_trace_dir_exits_1_with_one_line() {
    // SPEC §11 #165
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let trace = blocker.join("traces");
    let out = run_to_exit(dir.path(), &["demo"], &[("AUGCHATD_TRACE_DIR", trace.to_str().unwrap())]).await;
    assert_eq!(out.code, Some(1));
    let line = one_line(&out.stderr);
    let expected = format!("AUGCHATD_TRACE_DIR could not be created at '{}': ", trace.display());
    assert!(line.starts_with(&expected), "{}", out.stderr);
}

#[actix_web::test]
async fn json_logs_are_one_object_per_line_with_lifecycle_events() {
    install_crypto();
    // Issue 3 item 7
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let env = [("AUGCHATD_PORT", port.as_str()), ("AUGCHATD_LOG_FORMAT", "json"), ("AUGCHATD_HEALTH_LOG_MS", "200")];
    let daemon = Daemon::start(dir.path(), &["demo"], &env).await;
    let http = reqwest::Client::new();
    let minted: Value =
        http.post(format!("http://127.0.0.1:{port}/demo/sessions")).send().await.unwrap().json().await.unwrap();
    assert_eq!(minted["theme"], "light");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let out = daemon.stop().await;
    let events: Vec<Value> = out.stderr.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let messages: Vec<&str> = events.iter().filter_map(|e| e["message"].as_str()).collect();
    for expected in ["session minted", "actor started", "health summary"] {
        assert!(messages.contains(&expected), "{expected} missing from {messages:?}");
    }
    let started = events.iter().find(|e| e["message"] == "actor started").unwrap();
    assert_eq!(started["actor"], "session");
    assert_eq!(started["restart_count"], 0);
    assert_eq!(started["id"], minted["session_id"]);
    let summary = events.iter().find(|e| e["message"] == "health summary").unwrap();
    assert!(summary["sessions"].is_u64() && summary["actor_restarts"].is_u64(), "{summary}");
}
