//! `GET /session/models` (SPEC §2.11): the model picker's list, from the provider with the session's
//! key, cached per (session, provider) for 10 minutes. Failures are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use augchatd_actors::ids::SessionId;
use augchatd_actors::record::Provider;
use serde_json::json;

use super::AppState;
use super::auth::Authed;
use super::error::ApiError;
use crate::llm::models::{ModelInfo, list_models};

/// How long a provider's list is reused.
const MODEL_CACHE_TTL: Duration = Duration::from_secs(600);

/// A fetched list and when it was fetched.
type CachedList = (Instant, Arc<Vec<ModelInfo>>);

/// Lists fetched for live sessions, by session id.
#[derive(Default)]
pub struct ModelCache(Mutex<HashMap<SessionId, CachedList>>);

impl ModelCache {
    fn get(&self, sid: &SessionId) -> Option<Arc<Vec<ModelInfo>>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Expired entries, including those of ended sessions, go on the next read of any entry.
        map.retain(|_, (at, _)| at.elapsed() < MODEL_CACHE_TTL);
        map.get(sid).map(|(_, models)| Arc::clone(models))
    }

    fn put(&self, sid: SessionId, models: Arc<Vec<ModelInfo>>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(sid, (Instant::now(), models));
    }
}

/// OpenAI lists every model the key can reach; the picker shows chat models only (SPEC §2.11).
fn is_chat_model(id: &str) -> bool {
    let family = id.starts_with("gpt-")
        || id.starts_with("chatgpt-")
        || (id.len() > 1 && id.starts_with('o') && id.as_bytes()[1].is_ascii_digit() && id.as_bytes()[1] != b'0');
    let dated = id.len() > 11 && {
        let tail = &id.as_bytes()[id.len() - 11..];
        tail[0] == b'-'
            && tail[5] == b'-'
            && tail[8] == b'-'
            && [1, 2, 3, 4, 6, 7, 9, 10].iter().all(|&i| tail[i].is_ascii_digit())
    };
    let special =
        ["-audio", "-realtime", "-search-preview", "-search-api", "-transcribe", "-tts", "-deep-research", "-codex"]
            .iter()
            .any(|s| id.contains(s));
    let image = id.starts_with("chatgpt-image") || id.starts_with("gpt-image");
    let legacy = id.starts_with("gpt-3.5") || ["gpt-4", "gpt-4-0613"].contains(&id) || id.starts_with("gpt-4-turbo");
    family && !dated && !special && !image && !legacy
}

/// The session's model list, from the cache or the provider, and whether it came from the cache.
pub async fn session_models(state: &AppState, authed: &Authed) -> Result<(Arc<Vec<ModelInfo>>, bool), ApiError> {
    let record = &authed.0;
    if let Some(models) = state.model_cache.get(&record.id) {
        return Ok((models, true));
    }
    let model = &record.spec.model;
    let mut models = list_models(&state.http, &state.bases, model).await.map_err(|e| {
        tracing::warn!(sid = %record.id, provider = model.provider.as_str(), error = %e, "model list failed");
        ApiError::ProviderListFailed(format!("{}: {e}", model.provider.as_str()))
    })?;
    if model.provider == Provider::OpenAi && model.base_url.is_none() {
        models.retain(|m| is_chat_model(&m.id));
    }
    let models = Arc::new(models);
    state.model_cache.put(record.id.clone(), Arc::clone(&models));
    Ok((models, false))
}

/// `GET /session/models`.
pub async fn list(state: web::Data<AppState>, authed: Authed) -> Result<HttpResponse, ApiError> {
    let (models, cached) = session_models(&state, &authed).await?;
    let provider = authed.0.spec.model.provider.as_str();
    let listed: Vec<_> =
        models.iter().map(|m| json!({"id": m.id, "display_name": m.display_name, "provider": provider})).collect();
    Ok(HttpResponse::Ok().json(json!({
        "models": listed,
        "current_model_id": authed.0.spec.model.model_id,
        "provider": provider,
        "cached": cached,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openai_filter_keeps_current_chat_models_only() {
        // SPEC §2.11, §11 #113
        for keep in ["gpt-4o", "gpt-5", "gpt-4.1-mini", "o3", "o4-mini", "chatgpt-4o-latest"] {
            assert!(is_chat_model(keep), "{keep}");
        }
        for drop in [
            "gpt-4o-2024-08-06",
            "gpt-4o-audio-preview",
            "gpt-4o-realtime-preview",
            "gpt-image-1",
            "gpt-3.5-turbo",
            "gpt-4",
            "gpt-4-turbo",
            "gpt-4-0613",
            "text-embedding-3-small",
            "dall-e-3",
            "whisper-1",
            "gpt-5-codex",
            "o3-deep-research",
            "gpt-4o-mini-tts",
            "omni-moderation-latest",
        ] {
            assert!(!is_chat_model(drop), "{drop}");
        }
    }
}
