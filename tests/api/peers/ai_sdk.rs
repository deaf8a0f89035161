//! The stream's real consumer: `web/streamcheck/check-ui-stream.mjs` feeds a recorded body through the
//! `ai` package's own client parser (`DefaultChatTransport` + `readUIMessageStream`), so the wire format
//! is checked by the code the browser runs, not by our own assumptions.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs the checker on a stream body; returns `{ok, problems, inBandErrors, message}`.
pub fn check_ui_stream(body: &str) -> Value {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    super::npm_ci_once(&web, "ai/package.json");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), body).unwrap();
    let output = Command::new("node")
        .arg(web.join("streamcheck/check-ui-stream.mjs"))
        .arg(file.path())
        .current_dir(&web)
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("checker failed ({}): {}\n{body:.2000}", output.status, String::from_utf8_lossy(&output.stderr)))
}
