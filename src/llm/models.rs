//! The provider's list-models call: the LLM credential probe of `POST /sessions` (SPEC §2.1 step 3)
//! and the source of `GET /session/models`.
//! Invariant: errors name the provider and the HTTP status only; never the key, the URL or the body.

use std::time::Duration;

use augchatd_actors::record::{ModelConfig, Provider};
use serde::Deserialize;

use super::ProviderBases;
use super::offline;

/// Deadline for one list-models call.
const LIST_TIMEOUT: Duration = Duration::from_secs(10);
/// Anthropic's API version header value.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// One model the provider offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The id to send in requests.
    pub id: String,
    /// The provider's label, or the id.
    pub display_name: String,
}

/// Why the list could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The provider refused the key (401/403).
    #[error("the provider rejected the API key (HTTP {0})")]
    Unauthorized(u16),
    /// Any other error status.
    #[error("the provider answered HTTP {0}")]
    Status(u16),
    /// No answer: connect failure, TLS failure, timeout.
    #[error("the provider could not be reached")]
    Unreachable(#[source] reqwest::Error),
    /// A 2xx whose body is not a model list.
    #[error("the provider's model list could not be read")]
    Malformed,
}

#[derive(Deserialize)]
struct Listing {
    data: Vec<ListedModel>,
}

#[derive(Deserialize)]
struct ListedModel {
    id: String,
    display_name: Option<String>,
}

/// Calls the provider's list-models endpoint with the session's key.
pub async fn list_models(
    http: &reqwest::Client,
    bases: &ProviderBases,
    model: &ModelConfig,
) -> Result<Vec<ModelInfo>, ListError> {
    let base = bases.for_model(model);
    let request = match model.provider {
        Provider::Offline => {
            return Ok(vec![ModelInfo {
                id: offline::MODEL_ID.to_owned(),
                display_name: offline::MODEL_ID.to_owned(),
            }]);
        }
        Provider::Anthropic => http
            .get(format!("{base}/v1/models?limit=1000"))
            .header("x-api-key", model.api_key.expose())
            .header("anthropic-version", ANTHROPIC_VERSION),
        Provider::OpenAi => http.get(format!("{base}/models")).bearer_auth(model.api_key.expose()),
    };
    let response = request.timeout(LIST_TIMEOUT).send().await.map_err(|e| ListError::Unreachable(e.without_url()))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(ListError::Unauthorized(status.as_u16()));
    }
    if !status.is_success() {
        return Err(ListError::Status(status.as_u16()));
    }
    let listing: Listing = response.json().await.map_err(|_| ListError::Malformed)?;
    let mut models: Vec<ModelInfo> = listing
        .data
        .into_iter()
        .map(|m| ModelInfo { display_name: m.display_name.unwrap_or_else(|| m.id.clone()), id: m.id })
        .collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(models)
}
