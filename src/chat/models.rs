//! The models a turn may call, in order: the session's model (under the conversation's override), then
//! the session's `fallback_models`. A turn moves on to the next one only when a call failed in a way
//! another provider may not share (429, 5xx, overloaded, unreachable) before anything of the reply
//! reached the browser; it then stays on the model that answered for the rest of its steps, because a
//! tool loop's transcript (thinking signatures, call ids) belongs to that model. The next turn starts
//! again with the session's model.

use augchatd_actors::record::ModelConfig;

use super::Turn;
use crate::llm::error::LlmError;
use crate::stream::ModelTag;

/// Which of the turn's models is answering.
#[derive(Debug, Default)]
pub struct Models {
    /// 0 is the session's model, `i` is `fallback_models[i - 1]`.
    index: usize,
}

/// One model to call and the model id to send.
pub struct Choice<'a> {
    /// Provider, key and base URL.
    pub model: &'a ModelConfig,
    /// The model id.
    pub model_id: &'a str,
}

impl Choice<'_> {
    /// The model as the stream's metadata names it.
    pub fn tag(&self) -> ModelTag {
        ModelTag { model_id: self.model_id.to_owned(), provider: self.model.provider.as_str().to_owned() }
    }
}

impl Models {
    /// The model answering now.
    pub fn current<'t>(&self, turn: &'t Turn) -> Choice<'t> {
        match self.index.checked_sub(1).and_then(|i| turn.record.spec.fallback_models.get(i)) {
            Some(fallback) => Choice { model: fallback, model_id: &fallback.model_id },
            None => Choice { model: &turn.record.spec.model, model_id: &turn.model_id },
        }
    }

    /// Moves on to the next fallback model after `err`; false when `err` is not worth another model or
    /// none is left.
    pub fn fall_back(&mut self, turn: &Turn, err: &LlmError) -> bool {
        if !err.another_model_may_answer() || self.index >= turn.record.spec.fallback_models.len() {
            return false;
        }
        self.index += 1;
        true
    }

    /// The session's model, when a fallback is answering instead.
    pub fn fallback_from(&self, turn: &Turn) -> Option<ModelTag> {
        (self.index > 0).then(|| Models::default().current(turn).tag())
    }
}
