//! The demo session template (SPEC §7): from `local/demo_session.json` (Design B), else from the
//! `DEMO_*` variables (Design A), else, for the `demo` subcommand only, the built-in offline model.
//! Every demo session is minted from this template for tenant `demo`.
//! Invariant: a broken demo configuration stops the boot with one line; it never silently falls back.

use std::path::Path;

use augchatd_actors::budget::Limits;
use augchatd_actors::ids::UserId;
use augchatd_actors::record::{ModelConfig, Provider, SessionSpec, Theme};
use augchatd_actors::secret::Secret;
use serde_json::{Value, json};

use crate::config::{ConfigError, DemoEnv, DemoSettings};
use crate::llm::{ProviderBases, offline};
use crate::probes;
use crate::provision::{Options, parse_connectors, parse_s3_uri, parse_session_request};

/// Where the demo session came from; printed in the boot banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoSource {
    /// `local/demo_session.json` (or `AUGCHATD_DEMO_SESSION_FILE`).
    File,
    /// The `DEMO_*` variables.
    Environment,
    /// The built-in offline model of `augchatd demo`.
    Builtin,
}

/// What every demo session is minted from.
#[derive(Debug, Clone)]
pub struct DemoTemplate {
    /// The session body.
    pub spec: SessionSpec,
    /// `DEMO_TTL_SECONDS`.
    pub ttl_seconds: u64,
    /// Which configuration was used.
    pub source: DemoSource,
}

/// Builds the template from the first configuration present.
pub fn load(settings: &DemoSettings) -> Result<DemoTemplate, ConfigError> {
    let (spec, source) = if settings.session_file.exists() {
        (from_file(&settings.session_file)?, DemoSource::File)
    } else if settings.env.is_set() {
        (from_env(&settings.env)?, DemoSource::Environment)
    } else if settings.builtin_fallback {
        (builtin(theme(&settings.env)?), DemoSource::Builtin)
    } else {
        return Err(ConfigError(format!(
            "demo mode needs a model: {} does not exist and no DEMO_MODEL_* variables are set. \
             Run `cp local/demo_session.json.example local/demo_session.json` and put your provider key in it, \
             set DEMO_MODEL_PROVIDER, DEMO_MODEL_ID, DEMO_MODEL_API_KEY and DEMO_SYSTEM_PROMPT, \
             or run `augchatd demo` for the built-in offline model.",
            settings.session_file.display()
        )));
    };
    Ok(DemoTemplate { spec, ttl_seconds: settings.ttl_seconds, source })
}

/// Checks the template's credentials the way `POST /sessions` would: the LLM key, then the bucket.
pub async fn probe(template: &DemoTemplate, http: &reqwest::Client, bases: &ProviderBases) -> Result<(), ConfigError> {
    let spec = &template.spec;
    probes::llm(http, bases, spec, &probes::Passed::default())
        .await
        .map_err(|e| ConfigError(format!("LLM credential probe failed for {}: {e}", e.provider.as_str())))?;
    if let Some(storage) = &spec.storage {
        probes::storage(http, storage, &probes::Passed::default())
            .await
            .map_err(|e| ConfigError(format!("S3 writability probe failed for bucket \"{}\": {e}", storage.bucket)))?;
    }
    Ok(())
}

fn from_file(path: &Path) -> Result<SessionSpec, ConfigError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("{shown}: cannot be read ({e})")))?;
    let body: Value = serde_json::from_str(&text).map_err(|e| ConfigError(format!("{shown}: not valid JSON ({e})")))?;
    parse_session_request(&body, &Options::DEMO_FILE)
        .map(|request| request.spec)
        .map_err(|e| ConfigError(format!("{shown}: {e}")))
}

/// Design A: the same validation as the file, on a body assembled from the variables.
fn from_env(env: &DemoEnv) -> Result<SessionSpec, ConfigError> {
    let require = |value: Option<&str>, name: &str| {
        value
            .map(str::to_owned)
            .ok_or_else(|| ConfigError(format!("{name} is required in demo mode when DEMO_MODEL_* is used")))
    };
    let connectors = match (&env.connectors_json, &env.connectors_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError("DEMO_CONNECTORS and DEMO_CONNECTORS_FILE are both set; set only one".into()));
        }
        (Some(json), None) => parse_connector_json(json.expose(), "DEMO_CONNECTORS")?,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("DEMO_CONNECTORS_FILE: cannot read {} ({e})", path.display())))?;
            parse_connector_json(&text, "DEMO_CONNECTORS_FILE")?
        }
        (None, None) => Vec::new(),
    };
    let storage = env
        .s3_uri
        .as_ref()
        .map(|uri| parse_s3_uri(uri.expose()).map_err(|e| ConfigError(format!("DEMO_S3_URI: {e}"))))
        .transpose()?;
    let theme = theme(env)?;
    // The model part goes through the file validation, so placeholder keys and providers are checked once.
    let body = json!({
        "user_id": "demo",
        "system_prompt": require(env.system_prompt.as_deref(), "DEMO_SYSTEM_PROMPT")?,
        "model": {
            "provider": require(env.model_provider.as_deref(), "DEMO_MODEL_PROVIDER")?,
            "model_id": require(env.model_id.as_deref(), "DEMO_MODEL_ID")?,
            "api_key": require(env.model_api_key.as_ref().map(Secret::expose), "DEMO_MODEL_API_KEY")?,
        },
    });
    let mut spec = parse_session_request(&body, &Options::DEMO_FILE)
        .map_err(|e| ConfigError(format!("demo environment: {e}")))?
        .spec;
    spec.connectors = connectors;
    spec.storage = storage;
    spec.theme = theme;
    Ok(spec)
}

/// `DEMO_THEME`, light by default; it applies to the built-in offline demo too.
fn theme(env: &DemoEnv) -> Result<Theme, ConfigError> {
    match env.theme.as_deref() {
        None => Ok(Theme::Light),
        Some(t) if t.eq_ignore_ascii_case("light") => Ok(Theme::Light),
        Some(t) if t.eq_ignore_ascii_case("dark") => Ok(Theme::Dark),
        Some(t) => Err(ConfigError(format!("DEMO_THEME must be \"light\" or \"dark\" (got {t:?})"))),
    }
}

fn parse_connector_json(text: &str, var: &str) -> Result<Vec<augchatd_actors::record::Connector>, ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError(format!("{var}: not valid JSON ({e})")))?;
    parse_connectors(&value).map_err(|e| ConfigError(format!("{var}: {e}")))
}

/// The zero-config demo: no network, no key, a canned reply that says how to configure a provider.
fn builtin(theme: Theme) -> SessionSpec {
    SessionSpec {
        user: UserId::demo(),
        system_prompt: "You are augchatd's built-in offline demo model.".into(),
        model: ModelConfig {
            provider: Provider::Offline,
            model_id: offline::MODEL_ID.into(),
            api_key: Secret::new(""),
            base_url: None,
        },
        fallback_models: Vec::new(),
        limits: Limits::default(),
        connectors: Vec::new(),
        storage: None,
        theme,
    }
}
