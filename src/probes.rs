//! The two checks a session must pass before it exists (SPEC §2.1 steps 2 and 3), shared by
//! `POST /sessions` and the demo boot.
//! Invariant: the error texts name what failed and the status, never an endpoint, key or body.

use augchatd_actors::record::{ModelConfig, Provider, S3Location, SessionSpec};

use crate::cold::s3::{ColdError, S3Store};
use crate::llm::ProviderBases;
use crate::llm::models::{ListError, list_models};

/// Writes the probe object into the session's bucket.
pub async fn storage(http: &reqwest::Client, location: &S3Location) -> Result<(), ColdError> {
    S3Store::new(location, http.clone())?.probe().await
}

/// A model of the session whose key the provider refused, or whose provider could not be asked.
#[derive(Debug, thiserror::Error)]
#[error("{}{source}", .fallback.map(|i| format!("fallback_models[{i}]: ")).unwrap_or_default())]
pub struct ModelProbeFailed {
    /// Which fallback model failed; `None` for the session's own model.
    pub fallback: Option<usize>,
    /// Its provider.
    pub provider: Provider,
    /// How the list-models call failed.
    #[source]
    pub source: ListError,
}

/// Lists each of the session's models (its own, then every fallback, each with its own key) at once:
/// a fallback whose key is wrong would otherwise be found only during the outage it is there for.
/// The first failure in that order is reported.
pub async fn llm(http: &reqwest::Client, bases: &ProviderBases, spec: &SessionSpec) -> Result<(), ModelProbeFailed> {
    let models: Vec<&ModelConfig> = std::iter::once(&spec.model).chain(&spec.fallback_models).collect();
    let results = futures_util::future::join_all(models.iter().map(|model| list_models(http, bases, model))).await;
    for (index, (model, result)) in models.into_iter().zip(results).enumerate() {
        if let Err(source) = result {
            return Err(ModelProbeFailed { fallback: index.checked_sub(1), provider: model.provider, source });
        }
    }
    Ok(())
}
