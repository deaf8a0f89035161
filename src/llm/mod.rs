//! LLM providers: where each API lives, and the calls augchatd makes to them.

pub mod models;
pub mod offline;

/// What a provider adapter yields while a model call streams; adapters translate their wire events
/// into these and nothing more (STYLE 15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmEvent {
    /// More answer text.
    TextDelta(String),
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
