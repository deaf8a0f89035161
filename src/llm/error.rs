//! `LlmError`: how a model call failed, classified once per provider (STYLE 16).
//! Invariant: `Display` carries our words and a status number only: never the key, a URL or the
//! provider's response body. The browser sees none of it (the stream says "An error occurred."); logs do.

/// Why a model call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// 401/403: the key was refused.
    #[error("the provider refused the API key (HTTP {0})")]
    Unauthorized(u16),
    /// 429.
    #[error("the provider is rate limiting this key (HTTP 429)")]
    RateLimited,
    /// 529/503 or an in-stream overloaded error.
    #[error("the provider is overloaded")]
    Overloaded,
    /// Any other 4xx: the request itself was refused.
    #[error("the provider rejected the request (HTTP {0})")]
    Rejected(u16),
    /// Any other 5xx, or an in-stream error event.
    #[error("the provider failed (HTTP {0})")]
    Upstream(u16),
    /// No answer: connect, TLS or a dropped connection.
    #[error("the provider could not be reached or dropped the connection")]
    Unreachable(#[source] reqwest::Error),
    /// No bytes for longer than the stall timeout.
    #[error("the provider stopped sending for too long")]
    Stalled,
    /// The stream ended without its final event.
    #[error("the provider's stream ended before the reply was complete")]
    Truncated,
    /// An event that is not the provider's documented JSON.
    #[error("the provider sent an event that could not be read")]
    Malformed,
}

impl LlmError {
    /// Maps an HTTP error status the same way for every provider.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 | 403 => LlmError::Unauthorized(status),
            429 => LlmError::RateLimited,
            503 | 529 => LlmError::Overloaded,
            400..=499 => LlmError::Rejected(status),
            _ => LlmError::Upstream(status),
        }
    }

    /// Whether the failure is the provider's state (429, 5xx, overloaded, unreachable) rather than this
    /// request or key: a fallback model elsewhere may well answer. Only ever acted on before any of the
    /// reply streamed, so nothing is said twice.
    pub fn another_model_may_answer(&self) -> bool {
        matches!(self, LlmError::RateLimited | LlmError::Overloaded | LlmError::Upstream(_) | LlmError::Unreachable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_providers_own_trouble_is_worth_a_fallback_model() {
        for status in [429, 500, 502, 503, 529] {
            assert!(LlmError::from_status(status).another_model_may_answer(), "{status}");
        }
        for status in [400, 401, 403, 404, 413] {
            assert!(!LlmError::from_status(status).another_model_may_answer(), "{status}");
        }
        for err in [LlmError::Stalled, LlmError::Truncated, LlmError::Malformed] {
            assert!(!err.another_model_may_answer(), "{err}");
        }
    }
}
