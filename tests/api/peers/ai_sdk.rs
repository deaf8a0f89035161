//! The stream's real consumer: `web/streamcheck/check-ui-stream.mjs` feeds a recorded body through the
//! `ai` package's own client parser (`DefaultChatTransport` + `readUIMessageStream`), so the wire format
//! is checked by the code the browser runs, not by our own assumptions.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

static NPM_CI: Mutex<()> = Mutex::new(());

/// Installs web/'s packages once if this checkout has none (a fresh clone running `cargo test`).
fn ensure_node_modules(web: &Path) {
    let _one_at_a_time = NPM_CI.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if web.join("node_modules/ai/package.json").exists() {
        return;
    }
    let status = Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(web).status();
    assert!(status.is_ok_and(|s| s.success()), "npm ci in web/ failed; Node and npm are needed for the stream checker");
}

/// Runs the checker on a stream body; returns `{ok, problems, inBandErrors, message}`.
pub fn check_ui_stream(body: &str) -> Value {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    ensure_node_modules(&web);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), body).unwrap();
    let output = Command::new("node")
        .arg(web.join("streamcheck/check-ui-stream.mjs"))
        .arg(file.path())
        .current_dir(&web)
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("checker failed: {}", String::from_utf8_lossy(&output.stderr)))
}
