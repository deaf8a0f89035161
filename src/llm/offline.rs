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
