//! The two checks a session must pass before it exists (SPEC §2.1 steps 2 and 3), shared by
//! `POST /sessions` and the demo boot, and `Passed`, which remembers recent successes.
//! Invariant: the error texts name what failed and the status, never an endpoint, key or body; `Passed`
//! keeps salted digests, never a credential.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use augchatd_actors::record::{ModelConfig, Provider, S3Location, SessionSpec};
use ring::digest::{Context, SHA256};
use ring::rand::{SecureRandom, SystemRandom};

use crate::cold::s3::{ColdError, S3Store};
use crate::llm::ProviderBases;
use crate::llm::models::{ListError, list_models};

/// How long a passed probe vouches for the same target and credentials. Every user of a tenant usually
/// shares one bucket and one model key, so without this a burst of mints would send one `PutObject`
/// and one list-models call each: an S3 bill and a provider rate limit the integrator pays for. A
/// failure is never remembered: a fixed key is tried again at once.
const VOUCHES_FOR: Duration = Duration::from_secs(60);
/// Remembered successes above which expired ones are dropped (on the next success).
const SWEEP_ABOVE: usize = 4_096;

/// Probes that passed within `VOUCHES_FOR`, by a salted SHA-256 of what was checked.
#[derive(Clone)]
pub struct Passed {
    salt: [u8; 16],
    at: Arc<Mutex<HashMap<[u8; 32], Instant>>>,
}

impl Default for Passed {
    fn default() -> Self {
        let mut salt = [0u8; 16];
        // Without randomness the digests are still one-way; the salt only hides equal credentials across processes.
        let _ = SystemRandom::new().fill(&mut salt);
        Self { salt, at: Arc::default() }
    }
}

impl Passed {
    /// The digest of `parts`, each length-prefixed so no two lists share one.
    fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut context = Context::new(&SHA256);
        context.update(&self.salt);
        for part in parts {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(context.finish().as_ref());
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Instant>> {
        // Each update is one insert or one retain, so a poisoned map is still consistent.
        self.at.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `probe` unless the same `checked` (target and credentials) passed within `VOUCHES_FOR`;
    /// remembers a success.
    fn unless_recent<'a, E, F: Future<Output = Result<(), E>> + 'a>(
        &'a self,
        checked: &[&str],
        probe: F,
    ) -> impl Future<Output = Result<(), E>> + use<'a, E, F> {
        let digest = self.digest(&checked.iter().map(|part| part.as_bytes()).collect::<Vec<_>>());
        async move {
            if self.lock().get(&digest).is_some_and(|at| at.elapsed() < VOUCHES_FOR) {
                return Ok(());
            }
            probe.await?;
            let mut at = self.lock();
            if at.len() >= SWEEP_ABOVE {
                at.retain(|_, passed| passed.elapsed() < VOUCHES_FOR);
            }
            at.insert(digest, Instant::now());
            Ok(())
        }
    }
}

/// Writes the probe object into the session's bucket, unless the same bucket, prefix and credentials
/// passed within `VOUCHES_FOR`.
pub async fn storage(http: &reqwest::Client, location: &S3Location, passed: &Passed) -> Result<(), ColdError> {
    let S3Location { endpoint, region, bucket, prefix, access_key_id, secret_access_key } = location;
    let checked = [endpoint, region, bucket, prefix, access_key_id.expose(), secret_access_key.expose()];
    passed.unless_recent(&checked, async { S3Store::new(location, http.clone())?.probe().await }).await
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
/// A provider, base URL and key that passed within `VOUCHES_FOR` is not asked again. The first failure
/// in that order is reported.
pub async fn llm(
    http: &reqwest::Client,
    bases: &ProviderBases,
    spec: &SessionSpec,
    passed: &Passed,
) -> Result<(), ModelProbeFailed> {
    let models: Vec<&ModelConfig> = std::iter::once(&spec.model).chain(&spec.fallback_models).collect();
    let results = futures_util::future::join_all(models.iter().map(|model| {
        let checked = [model.provider.as_str(), bases.for_model(model), model.api_key.expose()];
        passed.unless_recent(&checked, async { list_models(http, bases, model).await.map(drop) })
    }))
    .await;
    for (index, (model, result)) in models.into_iter().zip(results).enumerate() {
        if let Err(source) = result {
            return Err(ModelProbeFailed { fallback: index.checked_sub(1), provider: model.provider, source });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_success_vouches_for_the_same_target_and_credentials_and_a_failure_for_nothing() {
        let (passed, runs) = (Passed::default(), AtomicUsize::new(0));
        let probe = |ok: bool| {
            runs.fetch_add(1, Ordering::SeqCst);
            async move { if ok { Ok(()) } else { Err(()) } }
        };
        assert!(passed.unless_recent(&["bucket", "key"], probe(false)).await.is_err());
        assert!(passed.unless_recent(&["bucket", "key"], probe(false)).await.is_err(), "a failure is not remembered");
        assert!(passed.unless_recent(&["bucket", "key"], probe(true)).await.is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // A remembered success answers without running the probe (its future is dropped unpolled).
        assert!(passed.unless_recent(&["bucket", "key"], async { Err(()) }).await.is_ok());
        assert!(passed.unless_recent(&["bucket", "other key"], probe(false)).await.is_err(), "other credentials");
        assert!(passed.unless_recent(&["bucketk", "ey"], probe(false)).await.is_err(), "parts do not run together");
    }
}
