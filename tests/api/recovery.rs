//! Crash recovery (issue 4 item 6): hot files left by a killed process are found again, and their
//! unflushed conversations reach cold storage when the user's next session arrives.

use serde_json::json;

use crate::binary::{ProdRig, RestartPeers};

#[actix_web::test]
async fn a_conversation_written_before_kill_9_is_flushed_after_restart() {
    let rig = ProdRig::new();
    let peers = RestartPeers::start(&rig).await;
    let (s3, data, env) = (&peers.s3, &peers.data, peers.env("600000"));
    let browser = &rig.browser;
    let url = |path: &str| rig.url(path);
    let mint = || peers.mint(&rig);

    let daemon = rig.start(&env).await;
    let jwt = mint().await;
    let turn =
        json!({"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "survive"}]}]});
    let res = browser.post(url("/chat")).bearer_auth(&jwt).json(&turn).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap();
    let stored = rig.stored_messages(&jwt, "c1", 2).await;
    assert_eq!(stored["messages"].as_array().map(Vec::len), Some(2), "{stored}");
    daemon.crash().await;
    assert!(s3.object("p/acme/u/c1.json").is_none(), "nothing was flushed before the crash");
    assert!(data.join("acme/u.sqlite").exists(), "the hot file outlives the process");

    let daemon = rig.start(&env).await;
    let jwt = mint().await;
    let flushed = peers.flushed("c1").await.expect("the user's next session flushed what the crash left");
    assert_eq!(flushed["messages"][0]["parts"][0]["text"], "survive");
    let res = browser.get(url("/conversations/c1/messages")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let out = daemon.stop().await;
    assert!(out.stderr.contains("flush succeeded"), "{}", out.stderr);
}
