//! Crash recovery (issue 4 item 6): hot files left by a killed process are found again, and their
//! unflushed conversations reach cold storage when the user's next session arrives.

use std::time::Duration;

use serde_json::{Value, json};

use crate::binary::ProdRig;
use crate::peers::llm::{GOOD_KEY, LlmPeer};
use crate::peers::s3::{BUCKET, S3_KEY_ID, S3_SECRET, S3Peer};
use crate::server::JWT_SECRET;

#[actix_web::test]
async fn a_conversation_written_before_kill_9_is_flushed_after_restart() {
    let rig = ProdRig::new();
    let llm = LlmPeer::start();
    let s3 = S3Peer::start(&rig.dir.path().join("s3"), S3_KEY_ID, S3_SECRET).await;
    let data = rig.dir.path().join("data");
    let env = [
        ("AUGCHATD_JWT_SECRET", JWT_SECRET),
        ("AUGCHATD_ANTHROPIC_BASE_URL", llm.base.as_str()),
        ("AUGCHATD_DATA_DIR", data.to_str().unwrap()),
        ("AUGCHATD_FLUSH_IDLE_MS", "600000"),
    ];
    let (integrator, browser) = (&rig.integrator, &rig.browser);
    let url = |path: &str| rig.url(path);
    let session = json!({
        "user_id": "u", "system_prompt": "s",
        "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": GOOD_KEY},
        "storage": {"s3": {"endpoint": s3.endpoint(), "region": "us-east-1", "bucket": BUCKET, "prefix": "p/",
                           "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}},
    });
    let mint = || async {
        let minted: Value =
            integrator.post(url("/sessions")).json(&session).send().await.unwrap().json().await.unwrap();
        minted["jwt"].as_str().unwrap().to_owned()
    };

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
    let mut flushed = None;
    for _ in 0..100 {
        if let Some(bytes) = s3.object("p/acme/u/c1.json") {
            flushed = Some(serde_json::from_slice::<Value>(&bytes).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let flushed = flushed.expect("the user's next session flushed what the crash left");
    assert_eq!(flushed["messages"][0]["parts"][0]["text"], "survive");
    let res = browser.get(url("/conversations/c1/messages")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let out = daemon.stop().await;
    assert!(out.stderr.contains("flush succeeded"), "{}", out.stderr);
}
