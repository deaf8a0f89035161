//! LLM providers: where each API lives, and the calls augchatd makes to them.

pub mod anthropic;
pub mod error;
pub mod history;
pub mod models;
pub mod offline;
pub mod openai;
pub mod sse;

use augchatd_actors::user_db::StoredMessage;
use futures_util::StreamExt;

use crate::stream::FinishReason;
use error::LlmError;
use sse::EventStream;

/// What a provider adapter yields while a model call streams; adapters translate their wire events
/// into these and nothing more (STYLE 15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmEvent {
    /// More answer text.
    TextDelta(String),
    /// More reasoning (Anthropic thinking, OpenAI reasoning summary).
    ReasoningDelta(String),
    /// The model finished; the stream ends after this.
    Finished(FinishReason),
}

/// One model call of a turn.
pub struct ModelCall<'a> {
    /// The session's model and key.
    pub model: &'a ModelConfig,
    /// The resolved model id (conversation override, else the session default).
    pub model_id: &'a str,
    /// The session's system prompt.
    pub system: &'a str,
    /// The client's thread.
    pub history: &'a [StoredMessage],
}

/// Starts a streaming model call; a refusal before any byte streamed comes back as `Err`.
pub async fn stream(
    http: &reqwest::Client,
    bases: &ProviderBases,
    call: ModelCall<'_>,
) -> Result<EventStream, LlmError> {
    let turns = history::text_turns(call.history);
    let base = bases.for_model(call.model);
    match call.model.provider {
        Provider::Offline => Ok(Box::pin(
            offline::reply()
                .map(Ok)
                .chain(futures_util::stream::once(async { Ok(LlmEvent::Finished(FinishReason::Stop)) })),
        )),
        Provider::Anthropic => {
            let request = http
                .post(format!("{base}/v1/messages"))
                .header("x-api-key", call.model.api_key.expose())
                .header("anthropic-version", anthropic::API_VERSION)
                .json(&anthropic::body(call.model_id, call.system, &turns));
            sse::open(request, anthropic::Anthropic::default()).await
        }
        Provider::OpenAi => {
            let request = http
                .post(format!("{base}/responses"))
                .bearer_auth(call.model.api_key.expose())
                .json(&openai::body(call.model_id, call.system, &turns));
            sse::open(request, openai::OpenAi::default()).await
        }
    }
}

use augchatd_actors::record::{ModelConfig, Provider};

/// Default API bases per provider, from the daemon's config; a session's `model.base_url` overrides.
#[derive(Debug, Clone)]
pub struct ProviderBases {
    /// Anthropic API root, without `/v1`.
    pub anthropic: String,
    /// OpenAI API root, including `/v1`.
    pub openai: String,
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
