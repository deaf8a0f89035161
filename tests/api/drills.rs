//! Fault drills (issue 7 item 2): the daemon on a bad day. Each drill breaks one real thing under a
//! working daemon and checks what a user sees, that nothing acknowledged is lost, and that the daemon
//! comes back by itself once the fault is gone.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::binary::{ProdRig, RestartPeers};
use crate::peers::s3::Fault;
use crate::resume::{BEFORE_GATE, open, read_until};
use crate::server::TestServer;

/// A tmpfs of `size` mounted for one test and unmounted when dropped: a disk that can really fill up.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// `None` where this process may not mount (not root): the drill is then skipped, loudly.
    fn mount(path: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("SKIPPED: mounting a tmpfs needs root; the full-disk drill did not run");
            return None;
        }
        Some(Self { path: path.to_owned() })
    }

    /// Writes zeros into `filler` until the disk refuses.
    fn fill(&self) {
        let mut file = std::fs::File::create(self.path.join("filler")).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }

    /// Gives the space back.
    fn free(&self) {
        std::fs::remove_file(self.path.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn turn(cid: &str, texts: &[&str]) -> Value {
    let messages: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            json!({"id": format!("m{i}"), "role": role, "parts": [{"type": "text", "text": text}]})
        })
        .collect();
    json!({"id": cid, "messages": messages})
}

#[actix_web::test]
async fn a_full_data_disk_answers_503_keeps_what_was_stored_and_recovers_when_space_returns() {
    let root = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&root.path().join("data"), "2m") else { return };
    let data = disk.path.clone();
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_DATA_DIR".into(), data.to_str().unwrap().into());
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "600000".into());
    })
    .await;
    let mut session = srv.session_body("u");
    session["connectors"] = json!([{"descriptive_id": "gh", "name": "GitHub", "type": "mcp", "default_active": true,
                                    "url": "http://127.0.0.1:9/mcp", "auth": {"bearer": "t"}}]);
    let (_, minted) = srv.post_session(&srv.acme, &session).await;
    let jwt = minted["jwt"].as_str().unwrap().to_owned();
    assert_eq!(srv.chat(&jwt, &turn("kept", &["remember the tulips"])).await.0, 200);
    let flags = srv.get_with_jwt("/conversations/kept/connectors", &jwt).await;
    assert_eq!(flags.1[0]["active"], true, "{flags:?}");
    let (_, stored) = srv.get_with_jwt("/conversations/kept/messages", &jwt).await;
    assert_eq!(stored["messages"].as_array().map(Vec::len), Some(2), "{stored}");

    disk.fill();
    let hot_write_failed = (
        503,
        json!({"error": "hot_write_failed",
        "detail": "the conversation store could not be written; nothing was changed, try again"}),
    );
    let created = srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "new"})).await;
    assert_eq!(created, hot_write_failed);
    let (status, headers, _) = srv.chat(&jwt, &turn("other", &["hello"])).await;
    assert_eq!((status, headers["x-augchatd-reason"].to_str().unwrap()), (503, "hot-write-failed"));
    let res = srv.browser.put(srv.url("/conversations/kept/model")).bearer_auth(&jwt);
    assert_eq!(res.json(&json!({"model_id": "claude-haiku-4-5"})).send().await.unwrap().status(), 503);
    // SPEC §11 #100: a toggle that cannot be written is a 503 and changes nothing.
    let res = srv.browser.put(srv.url("/conversations/kept/connectors/gh")).bearer_auth(&jwt);
    let res = res.json(&json!({"active": false})).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.json::<Value>().await.unwrap(), hot_write_failed.1);
    assert_eq!(srv.get_with_jwt("/conversations/kept/connectors", &jwt).await, flags, "the flag is as it was");
    // A turn on a conversation that needs no write to start streams, but its reply cannot be kept: it
    // ends with an error part instead of a `finish`, so the UI never shows an unsaved reply as done.
    let next = ["remember the tulips", "Hello from the scripted model.", "and now?"];
    let (status, _, stream) = srv.chat(&jwt, &turn("kept", &next)).await;
    assert_eq!(status, 200);
    assert!(stream.contains(r#""type":"error","errorText":"The reply could not be saved"#), "{stream}");
    assert!(!stream.contains(r#""type":"finish""#), "{stream}");
    // Stopped while the disk is full: the stop says the partial reply was not kept, and the stream ends
    // with the error part, not with `abort` and `finish`.
    let mut running = open(&srv, &jwt, &turn("kept", &[next[0], next[1], "gated"])).await;
    read_until(&mut running, BEFORE_GATE).await;
    let stop = srv.browser.post(srv.url("/chat/kept/stop")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(
        (stop.status().as_u16(), stop.headers()["x-augchatd-reason"].to_str().unwrap()),
        (503, "hot-write-failed")
    );
    assert_eq!(stop.json::<Value>().await.unwrap()["error"], "hot_write_failed");
    let rest = running.text().await.unwrap();
    assert!(rest.contains(r#""errorText":"The reply could not be saved"#), "{rest}");
    assert!(!rest.contains(r#""type":"finish""#) && !rest.contains(r#""type":"abort""#), "{rest}");
    let (status, unchanged) = srv.get_with_jwt("/conversations/kept/messages", &jwt).await;
    assert_eq!((status, &unchanged), (200, &stored), "reads go on and what was stored is intact");

    disk.free();
    let (status, _, stream) = srv.chat(&jwt, &turn("kept", &next)).await;
    assert_eq!(status, 200);
    assert!(stream.contains(r#""type":"finish""#), "{stream}");
    let (_, after) = srv.get_with_jwt("/conversations/kept/messages", &jwt).await;
    assert_eq!(texts(&after), [next[0], next[1], next[2], "Hello from the scripted model."]);
    let created = srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "new"})).await;
    assert_eq!(created.0, 201, "writes work again once space returns");
}

/// `kill -9` while a flush hangs on S3 and a turn is mid-stream. What was acknowledged (a turn whose
/// `finish` the client read) survives the restart, reaches cold storage, and the user's file takes new
/// turns; the turn that was cut is simply not there.
#[actix_web::test]
async fn kill_9_during_a_flush_and_a_turn_loses_nothing_acknowledged() {
    let rig = ProdRig::new();
    let peers = RestartPeers::start(&rig).await;
    let (s3, env) = (&peers.s3, peers.env("200"));
    let mint = || peers.mint(&rig);
    let chat = |jwt: String, body: Value| rig.browser.post(rig.url("/chat")).bearer_auth(jwt).json(&body).send();

    let daemon = rig.start(&env).await;
    let jwt = mint().await;
    let acknowledged = chat(jwt.clone(), turn("c1", &["keep this"])).await.unwrap().text().await.unwrap();
    assert!(acknowledged.contains(r#""type":"finish""#), "{acknowledged}");

    // The idle flush starts and hangs on S3.
    s3.set_fault(Fault::Stall);
    let before = s3.requests();
    for _ in 0..100 {
        if s3.requests() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(s3.requests() > before, "the flush reached S3");
    // A second turn streams its first words, then the model stalls.
    let cut = chat(jwt, turn("c1", &["keep this", "Hello from the scripted model.", "stall now"])).await.unwrap();
    let mut body = cut.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("text-delta") {
        seen.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    daemon.crash().await;
    s3.set_fault(Fault::None);

    let daemon = rig.start(&env).await;
    let jwt = mint().await;
    let stored = rig.stored_messages(&jwt, "c1", 2).await;
    assert_eq!(texts(&stored), ["keep this", "Hello from the scripted model."], "{stored}");
    let flushed = peers.flushed("c1").await.expect("cold storage got the acknowledged turn after the restart");
    assert_eq!(texts(&flushed), ["keep this", "Hello from the scripted model."], "{flushed}");
    let next = chat(jwt.clone(), turn("c1", &["keep this", "Hello from the scripted model.", "more"])).await.unwrap();
    assert!(next.text().await.unwrap().contains(r#""type":"finish""#), "the file takes new turns");
    assert_eq!(texts(&rig.stored_messages(&jwt, "c1", 4).await).len(), 4);
    daemon.stop().await;
}

/// The first text of each message of a stored or flushed conversation.
fn texts(conversation: &Value) -> Vec<&str> {
    conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["parts"].as_array()?.iter().find(|p| p["type"] == "text")?["text"].as_str())
        .collect()
}

/// SPEC §11 #73: an MCP server that cannot be reached is left out of the turn, the chat works, and stderr
/// says which connector of which session, never its address or credential.
#[actix_web::test]
async fn an_unreachable_mcp_server_is_a_warning_on_stderr_and_the_chat_goes_on() {
    let rig = ProdRig::new();
    let peers = RestartPeers::start(&rig).await;
    let daemon = rig.start(&peers.env("600000")).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", closed.local_addr().unwrap());
    drop(closed);
    let mut session = peers.session_body("u");
    session["connectors"] = json!([{"descriptive_id": "docs", "name": "Docs", "type": "mcp", "default_active": true,
                                    "url": url, "auth": {"bearer": "mcp-bearer-never-logged"}}]);
    let minted: Value =
        rig.integrator.post(rig.url("/sessions")).json(&session).send().await.unwrap().json().await.unwrap();
    let jwt = minted["jwt"].as_str().unwrap();
    let reply = rig.browser.post(rig.url("/chat")).bearer_auth(jwt).json(&turn("c1", &["hello"])).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let stream = reply.text().await.unwrap();
    assert!(stream.contains(r#""delta":"Hello ""#) && stream.contains(r#""type":"finish""#), "{stream}");
    let out = daemon.stop().await;
    let warning = out.stderr.lines().find(|l| l.contains("MCP connector left out of this turn")).unwrap_or_else(|| {
        panic!("no warning on stderr: {}", out.stderr);
    });
    assert!(warning.contains("WARN") && warning.contains("docs"), "{warning}");
    assert!(warning.contains(minted["session_id"].as_str().unwrap()), "{warning}");
    assert!(!out.stderr.contains("mcp-bearer-never-logged") && !out.stderr.contains(&url), "{}", out.stderr);
}
