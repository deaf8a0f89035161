//! The built-in offline model of the zero-config demo (`augchatd demo` with no provider configured).
//! Invariant: it never touches the network; it is clearly labelled, and only the demo subcommand can
//! select it (`POST /sessions` rejects the provider).

/// The model id the offline demo reports.
pub const MODEL_ID: &str = "augchatd-offline-demo";

/// What the offline model says to every message: how to configure a real provider.
pub const REPLY: &str = "Hello from augchatd's built-in offline demo model. No LLM provider is configured, so \
this reply is canned and nothing left your machine.\n\nTo chat with a real model, stop the daemon and either \
copy `local/demo_session.json.example` to `local/demo_session.json` and put your provider key in it, or set \
`DEMO_MODEL_PROVIDER` (anthropic or openai), `DEMO_MODEL_ID`, `DEMO_MODEL_API_KEY` and `DEMO_SYSTEM_PROMPT`, \
then run `cargo run --release -- demo` again.";

use std::time::Duration;

use futures_util::Stream;

use super::LlmEvent;

/// Pause between words, so the reply visibly streams like a real model's.
const WORD_INTERVAL: Duration = Duration::from_millis(25);

/// The offline model's answer: `REPLY`, a word at a time.
pub fn reply() -> impl Stream<Item = LlmEvent> {
    let words: Vec<String> = REPLY.split_inclusive(' ').map(str::to_owned).collect();
    futures_util::stream::unfold(words.into_iter(), |mut words| async move {
        let word = words.next()?;
        tokio::time::sleep(WORD_INTERVAL).await;
        Some((LlmEvent::TextDelta(word), words))
    })
}
