//! How augchatd's model calls use HTTP: each streaming turn has a connection of its own, so a provider's
//! cap on the streams of one HTTP/2 connection never makes a turn wait for another to end.

use std::time::Duration;

use futures_util::StreamExt;
use hyper::Version;
use serde_json::{Value, json};

use crate::binary::{Daemon, free_port};
use crate::peers::llm::GOOD_KEY;
use crate::peers::tls_model::TlsModel;
use crate::server::install_crypto;

/// Far longer than a turn of the local model takes; a turn queued behind a held one never ends.
const WAITED: Duration = Duration::from_secs(20);

fn turn(cid: &str, text: &str) -> Value {
    json!({"id": cid, "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}]})
}

#[actix_web::test]
async fn a_turn_does_not_wait_behind_another_on_a_provider_that_allows_one_http2_stream_per_connection() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let model = TlsModel::start(dir.path()).await;
    let port = free_port().to_string();
    let env = [
        ("AUGCHATD_MODE", "demo"),
        ("AUGCHATD_PORT", port.as_str()),
        ("AUGCHATD_ANTHROPIC_BASE_URL", model.base.as_str()),
        ("DEMO_MODEL_PROVIDER", "anthropic"),
        ("DEMO_MODEL_ID", "claude-haiku-4-5"),
        ("DEMO_MODEL_API_KEY", GOOD_KEY),
        ("DEMO_SYSTEM_PROMPT", "Be brief."),
        ("AUGCHATD_MAX_STREAMS_PER_SESSION", "64"),
        ("SSL_CERT_FILE", model.ca_file.to_str().unwrap()),
    ];
    let daemon = Daemon::start(dir.path(), &[], &env).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let minted: Value = http.post(url("/demo/sessions")).send().await.unwrap().json().await.unwrap();
    let jwt = minted["jwt"].as_str().unwrap();

    // Turns that stream their first word and then hold their model streams open, on connections of
    // their own: twice as many as the daemon has workers (one per core), so every worker, and with it
    // every one of its model connections, has one.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut held = Vec::new();
    for i in 0..2 * workers {
        let body = turn(&format!("c-held-{i}"), "hold on");
        let res = http.post(url("/chat")).bearer_auth(jwt).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let mut stream = res.bytes_stream();
        let first_word = async {
            let mut so_far = String::new();
            while !so_far.contains("Hello ") {
                so_far.push_str(&String::from_utf8_lossy(&stream.next().await.unwrap().unwrap()));
            }
        };
        tokio::time::timeout(WAITED, first_word).await.expect("a turn waited for another turn's stream");
        held.push(stream);
    }

    // One more turn ends while they are all still open: it did not queue behind them for a stream.
    let next = http.post(url("/chat")).bearer_auth(jwt).json(&turn("c-next", "hi")).send();
    let next = tokio::time::timeout(WAITED, async { next.await.unwrap().text().await.unwrap() })
        .await
        .expect("a turn waited for another turn's stream");
    assert!(next.contains(r#""delta":"there.""#) && next.ends_with("data: [DONE]\n\n"), "{next}");

    model.release();
    for mut stream in held {
        let mut rest = String::new();
        while let Some(piece) = stream.next().await {
            rest.push_str(&String::from_utf8_lossy(&piece.unwrap()));
        }
        assert!(rest.contains(r#""delta":"there.""#) && rest.ends_with("data: [DONE]\n\n"), "{rest}");
    }
    let versions = model.versions.lock().unwrap().clone();
    assert!(versions.iter().all(|v| *v == Version::HTTP_11), "{versions:?}");
    daemon.stop().await;
}
