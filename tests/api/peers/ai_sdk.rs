//! The stream's real consumer: `web/streamcheck/check-ui-stream.mjs` feeds a recorded body through the
//! `ai` package's own client parser (`DefaultChatTransport` + `readUIMessageStream`), so the wire format
//! is checked by the code the browser runs, not by our own assumptions.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs the checker on a stream body; returns `{ok, problems, inBandErrors, message}`.
pub fn check_ui_stream(body: &str) -> Value {
    check(body, None)
}

/// Runs the checker on a stream that continues the assistant message `continuing` (a turn resumed after a
/// tool approval), as the browser's `Chat` continues its last message.
pub fn check_ui_stream_continuing(body: &str, continuing: &Value) -> Value {
    check(body, Some(continuing))
}

fn check(body: &str, continuing: Option<&Value>) -> Value {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    super::npm_ci_once(&web, "ai/package.json");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), body).unwrap();
    let message = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new("node");
    command.arg(web.join("streamcheck/check-ui-stream.mjs")).arg(file.path()).current_dir(&web);
    if let Some(continuing) = continuing {
        std::fs::write(message.path(), continuing.to_string()).unwrap();
        command.arg(message.path());
    }
    let output = command.output().unwrap();
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!("checker failed ({}): {}\n{body:.2000}", output.status, String::from_utf8_lossy(&output.stderr))
    })
}
