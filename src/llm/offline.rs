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

use super::transcript::Item;
use super::{LlmEvent, Usage};

/// Characters per token of the estimate: the usual rule of thumb for English text.
const CHARS_PER_TOKEN: usize = 4;

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

/// Token counts as a hosted model would report them for this call, estimated from the text's length:
/// the prompt is the system prompt plus the whole transcript, the output is `REPLY`. Nothing is cached.
pub fn usage(system: &str, transcript: &[Item]) -> Usage {
    let prompt_chars = system.len() + transcript.iter().map(item_chars).sum::<usize>();
    Usage { input_tokens: tokens(prompt_chars), output_tokens: tokens(REPLY.len()), ..Usage::default() }
}

fn tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(CHARS_PER_TOKEN)).unwrap_or(u64::MAX)
}

fn item_chars(item: &Item) -> usize {
    match item {
        Item::User(text) | Item::Assistant(text) | Item::RedactedReasoning(text) | Item::Reasoning { text, .. } => {
            text.len()
        }
        Item::ToolCall { name, input, .. } => name.len() + input.to_string().len(),
        Item::ToolResult { output, .. } => output.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_grows_with_the_conversation_and_counts_the_canned_reply() {
        let first = usage("You are a demo.", &[Item::User("hello".into())]);
        assert_eq!(first.input_tokens, 5, "20 characters");
        assert_eq!(first.output_tokens, tokens(REPLY.len()));
        assert!(first.output_tokens > 50);
        let later = usage("You are a demo.", &[Item::User("hello".into()), Item::Assistant(REPLY.into())]);
        assert_eq!(later.input_tokens, first.input_tokens + first.output_tokens);
        assert_eq!((later.cache_read_tokens, later.cache_write_tokens), (0, 0));
    }
}
