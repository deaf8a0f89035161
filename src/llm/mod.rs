//! LLM providers: where each API lives, and the calls augchatd makes to them.

pub mod anthropic;
pub mod error;
pub mod models;
pub mod offline;
pub mod openai;
pub mod sse;
pub mod transcript;

use futures_util::StreamExt;

use crate::stream::FinishReason;
use error::LlmError;
use sse::EventStream;
use transcript::Item;

/// What a provider adapter yields while a model call streams; adapters translate their wire events
/// into these and nothing more (STYLE 15).
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    /// More answer text.
    TextDelta(String),
    /// More reasoning (Anthropic thinking, OpenAI reasoning summary).
    ReasoningDelta(String),
    /// The end of one reasoning block, with Anthropic's signature when it gave one; the block goes back
    /// with it in a tool loop, and blocks are never merged across this boundary.
    ReasoningEnd {
        /// The thinking block's signature.
        signature: Option<String>,
    },
    /// An Anthropic `redacted_thinking` block: opaque, shown to no one, sent back verbatim.
    RedactedReasoning(String),
    /// Token counts of the call, once the provider reports them.
    Usage(Usage),
    /// The model started a tool call.
    ToolInputStart {
        /// The provider's call id.
        id: String,
        /// The exposed tool name.
        name: String,
    },
    /// More of a tool call's JSON arguments, as streamed.
    ToolInputDelta {
        /// The call id.
        id: String,
        /// The new piece of JSON text.
        delta: String,
    },
    /// A complete tool call; `Err` carries arguments that are not JSON.
    ToolCall {
        /// The call id.
        id: String,
        /// The exposed tool name.
        name: String,
        /// The parsed arguments, or the raw text that failed to parse.
        input: Result<serde_json::Value, String>,
    },
    /// The model finished; the stream ends after this.
    Finished(FinishReason),
}

/// Token counts of one model call, or summed over the calls of a turn. Sent to the browser in the
/// `finish` chunk's metadata, stored with the assistant message and traced, in this shape (and read back from a
/// stored message a turn continues).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Prompt tokens, cache reads and writes included.
    pub input_tokens: u64,
    /// Completion tokens, reasoning included.
    pub output_tokens: u64,
    /// Prompt tokens served from the provider's cache (Anthropic `cache_read_input_tokens`, OpenAI
    /// `input_tokens_details.cached_tokens`): the saving of prompt caching.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to the provider's cache (Anthropic `cache_creation_input_tokens`; OpenAI
    /// does not report them).
    pub cache_write_tokens: u64,
    /// Output tokens spent on reasoning, when the provider reports them (OpenAI).
    pub reasoning_tokens: u64,
}

impl Usage {
    /// What the call costs against a session's `max_tokens`: input plus output.
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// Saturating: the counts come from upstreams, and a bogus huge one must not overflow.
impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(other.cache_read_tokens);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(other.cache_write_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
    }
}

/// A tool as offered to a model: provider-neutral, each adapter writes its own shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The exposed name, `<descriptive_id>__<tool>`.
    pub name: String,
    /// What the model reads to decide when to call it.
    pub description: String,
    /// JSON Schema of the arguments.
    pub input_schema: serde_json::Value,
}

/// One model call of a turn.
pub struct ModelCall<'a> {
    /// The session's model and key.
    pub model: &'a ModelConfig,
    /// The resolved model id (conversation override, else the session default).
    pub model_id: &'a str,
    /// The session's system prompt.
    pub system: &'a str,
    /// The conversation so far, including this turn's earlier steps.
    pub transcript: &'a [Item],
    /// The tools offered; empty means a call without tools.
    pub tools: &'a [ToolSpec],
}

/// Starts a streaming model call; a refusal before any byte streamed comes back as `Err`.
pub async fn stream(
    http: &reqwest::Client,
    bases: &ProviderBases,
    call: ModelCall<'_>,
) -> Result<EventStream, LlmError> {
    let base = bases.for_model(call.model);
    match call.model.provider {
        Provider::Offline => {
            let end =
                [LlmEvent::Usage(offline::usage(call.system, call.transcript)), LlmEvent::Finished(FinishReason::Stop)];
            Ok(Box::pin(offline::reply().chain(futures_util::stream::iter(end)).map(Ok)))
        }
        Provider::Anthropic => {
            let request = http
                .post(format!("{base}/v1/messages"))
                .header("x-api-key", call.model.api_key.expose())
                .header("anthropic-version", anthropic::API_VERSION)
                .json(&anthropic::body(call.model_id, call.system, call.transcript, call.tools));
            sse::open(request, anthropic::Anthropic::default(), bases.stall).await
        }
        Provider::OpenAi => {
            let request = http
                .post(format!("{base}/responses"))
                .bearer_auth(call.model.api_key.expose())
                .json(&openai::body(call.model_id, call.system, call.transcript, call.tools));
            sse::open(request, openai::OpenAi::default(), bases.stall).await
        }
    }
}

use augchatd_actors::record::{ModelConfig, Provider};

thread_local! {
    /// This worker thread's client for model calls; `None` if it could not be built.
    static WORKER_CLIENT: std::cell::OnceCell<Option<reqwest::Client>> = const { std::cell::OnceCell::new() };
}

/// The client a chat turn streams its model calls through: one per worker thread, so the connection a
/// reply arrives on is read by the single-threaded worker that relays it to the browser. With one
/// client for all workers, a pooled connection opened by another worker is read there, and every token
/// crosses threads (a wake-up each; benches/chat.rs). Falls back to `shared`.
pub fn worker_client(shared: &reqwest::Client) -> reqwest::Client {
    WORKER_CLIENT
        .with(|client| client.get_or_init(|| crate::upstream_client().ok()).clone())
        .unwrap_or_else(|| shared.clone())
}

/// Builds this thread's model client now; each worker calls it as it starts, so no turn waits for it.
pub fn prepare_worker_client() {
    WORKER_CLIENT.with(|client| {
        client.get_or_init(|| crate::upstream_client().ok());
    });
}

/// Default API bases per provider, from the daemon's config; a session's `model.base_url` overrides.
#[derive(Debug, Clone)]
pub struct ProviderBases {
    /// Anthropic API root, without `/v1`.
    pub anthropic: String,
    /// OpenAI API root, including `/v1`.
    pub openai: String,
    /// Longest silence tolerated from a provider mid-stream (reasoning models think for tens of
    /// seconds; SPEC §4.6).
    pub stall: std::time::Duration,
}

impl ProviderBases {
    /// The API root the session's model talks to.
    pub fn for_model<'a>(&'a self, model: &'a ModelConfig) -> &'a str {
        match (&model.base_url, model.provider) {
            (Some(base), _) => base,
            (None, Provider::Anthropic) => &self.anthropic,
            (None, Provider::OpenAi | Provider::Offline) => &self.openai,
        }
    }
}
