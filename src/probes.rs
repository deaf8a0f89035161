//! The two checks a session must pass before it exists (SPEC §2.1 steps 2 and 3), shared by
//! `POST /sessions` and the demo boot.
//! Invariant: the error texts name what failed and the status, never an endpoint, key or body.

use augchatd_actors::record::{ModelConfig, S3Location};

use crate::cold::s3::{ColdError, S3Store};
use crate::llm::ProviderBases;
use crate::llm::models::{ListError, list_models};

/// Writes the probe object into the session's bucket.
pub async fn storage(http: &reqwest::Client, location: &S3Location) -> Result<(), ColdError> {
    S3Store::new(location, http.clone())?.probe().await
}

/// Lists the provider's models with the session's key.
pub async fn llm(http: &reqwest::Client, bases: &ProviderBases, model: &ModelConfig) -> Result<(), ListError> {
    list_models(http, bases, model).await.map(drop)
}
