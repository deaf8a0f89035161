//! What a turn has used and which model answers it: summed into the `finish` chunk's metadata and the
//! stored assistant message, and charged to the session's budget call by call.
//! Invariant: every model call's usage is added here once, and to the budget at the same moment.

use super::Turn;
use super::models::Models;
use crate::llm::Usage;
use crate::stream::{AugchatdMetadata, MessageMetadata};

/// The turn's running totals.
#[derive(Debug, Default)]
pub struct Tally {
    /// Summed over the model calls that have ended.
    pub usage: Usage,
    /// The model answering.
    pub models: Models,
}

impl Tally {
    /// Counts one model call, for the message and against the session's `max_tokens`.
    pub fn add(&mut self, turn: &Turn, usage: Usage) {
        self.usage += usage;
        turn.record.budget.charge(usage.total());
    }

    /// The metadata of `finish` and of the stored message: the model that answered, the usage so far,
    /// and the session's model when a fallback stood in for it.
    pub fn metadata(&self, turn: &Turn) -> MessageMetadata {
        MessageMetadata {
            augchatd: AugchatdMetadata {
                model: self.models.current(turn).tag(),
                usage: Some(self.usage),
                fallback_from: self.models.fallback_from(turn),
            },
        }
    }
}
