//! The `model` object of a session body (provider, model id, key, optional base URL) and the
//! `fallback_models` array of objects of the same shape.
//! Invariant: only `anthropic` and `openai` come out of here; `offline` is the zero-config demo's own
//! provider and is never accepted from a body. The key is wrapped in `Secret` at once.

use augchatd_actors::record::{ModelConfig, Provider};
use augchatd_actors::secret::Secret;
use serde_json::Value;

use super::FieldError;
use super::fields::{Query, as_object, http_url, invalid, optional_string, required_string, without_trailing_slash};

/// Values of `api_key` in `local/demo_session.json.example` and the README: a file still holding one
/// was copied but never edited, and probing the provider with it would only give a confusing 401.
const PLACEHOLDER_KEYS: [&str; 2] = ["sk-replace-me", "REPLACE_ME"];

/// The most fallback models a session may name: each one is probed when the session is minted, and a
/// turn may try them all before it answers.
pub(super) const MAX_FALLBACK_MODELS: usize = 3;

/// Validates `model`. `reject_placeholder_keys` is the demo file's extra rule.
pub(super) fn parse_model(value: Option<&Value>, reject_placeholder_keys: bool) -> Result<ModelConfig, FieldError> {
    parse_model_at(value, "model", reject_placeholder_keys)
}

/// Validates `fallback_models`: absent, `null` or an array of up to [`MAX_FALLBACK_MODELS`] objects
/// shaped like `model`, each with its own key.
pub(super) fn parse_fallback_models(
    value: Option<&Value>,
    reject_placeholder_keys: bool,
) -> Result<Vec<ModelConfig>, FieldError> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let list = value.as_array().ok_or_else(|| invalid("fallback_models must be an array"))?;
    if list.len() > MAX_FALLBACK_MODELS {
        return Err(invalid(format!("fallback_models may name at most {MAX_FALLBACK_MODELS} models")));
    }
    list.iter()
        .enumerate()
        .map(|(i, model)| parse_model_at(Some(model), &format!("fallback_models[{i}]"), reject_placeholder_keys))
        .collect()
}

/// One model object at `field` (`model` or `fallback_models[i]`); details name that path.
fn parse_model_at(
    value: Option<&Value>,
    field: &str,
    reject_placeholder_keys: bool,
) -> Result<ModelConfig, FieldError> {
    let model = as_object(value, field)?;
    let provider = parse_provider(required_string(model, "provider", field)?, field)?;
    let model_id = required_string(model, "model_id", field)?.to_owned();
    let api_key = required_string(model, "api_key", field)?;
    if reject_placeholder_keys && PLACEHOLDER_KEYS.contains(&api_key.trim()) {
        return Err(invalid(format!(
            "{field}.api_key still has the template placeholder; put a real provider key there"
        )));
    }
    let base_url = match optional_string(model, "base_url", field)? {
        Some(raw) => Some(without_trailing_slash(http_url(raw, &format!("{field}.base_url"), Query::Forbidden)?)),
        None => None,
    };
    Ok(ModelConfig { provider, model_id, api_key: Secret::new(api_key), base_url })
}

/// The provider by its API name. Anything else is `unsupported_provider`, a code of its own so an
/// integrator can tell "we do not speak this API" from a malformed body.
fn parse_provider(name: &str, field: &str) -> Result<Provider, FieldError> {
    match name {
        "anthropic" => Ok(Provider::Anthropic),
        "openai" => Ok(Provider::OpenAi),
        // The value is not quoted: a key pasted into the wrong field must not come back in the error.
        _ => Err(FieldError {
            code: "unsupported_provider",
            detail: format!("{field}.provider is not supported (only \"anthropic\" or \"openai\")"),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn model(value: Value) -> Result<ModelConfig, FieldError> {
        parse_model(Some(&value), false)
    }

    #[test]
    fn a_complete_model_parses_with_its_key_kept_secret() {
        let parsed = model(json!({"provider": "anthropic", "model_id": "claude-opus-4-7", "api_key": "k"})).unwrap();
        assert_eq!(parsed.provider, Provider::Anthropic);
        assert_eq!(parsed.model_id, "claude-opus-4-7");
        assert_eq!(parsed.api_key.expose(), "k");
        assert_eq!(parsed.base_url, None);
    }

    #[test]
    fn model_must_be_an_object() {
        // SPEC §11 #12: a missing model is a 4xx.
        assert_eq!(parse_model(None, false).unwrap_err().detail, "model must be an object");
        assert_eq!(model(json!("openai")).unwrap_err().code, "invalid_field");
    }

    #[test]
    fn provider_model_id_and_api_key_must_be_non_empty_strings() {
        let full = json!({"provider": "openai", "model_id": "gpt-4o", "api_key": "k"});
        for key in ["provider", "model_id", "api_key"] {
            for bad in [json!(null), json!(""), json!(5)] {
                let mut body = full.clone();
                body[key] = bad;
                let err = model(body).unwrap_err();
                assert_eq!(err.code, "invalid_field");
                assert_eq!(err.detail, format!("model.{key} must be a non-empty string"));
            }
        }
    }

    #[test]
    fn offline_and_unknown_providers_are_unsupported() {
        for name in ["offline", "gemini", "OpenAI"] {
            let err = model(json!({"provider": name, "model_id": "m", "api_key": "k"})).unwrap_err();
            assert_eq!(err.code, "unsupported_provider", "{name}");
            assert_eq!(err.detail, "model.provider is not supported (only \"anthropic\" or \"openai\")");
        }
    }

    #[test]
    fn base_url_must_be_an_http_url_and_loses_one_trailing_slash() {
        let ok =
            model(json!({"provider": "openai", "model_id": "m", "api_key": "k", "base_url": "http://llm:8000/v1/"}));
        assert_eq!(ok.unwrap().base_url.as_deref(), Some("http://llm:8000/v1"));
        for bad in [json!("llm:8000"), json!(""), json!(true)] {
            let err =
                model(json!({"provider": "openai", "model_id": "m", "api_key": "k", "base_url": bad})).unwrap_err();
            assert_eq!(err.code, "invalid_field");
            assert!(err.detail.starts_with("model.base_url "), "{}", err.detail);
        }
    }

    fn fallbacks(value: Value) -> Result<Vec<ModelConfig>, FieldError> {
        parse_fallback_models(Some(&value), false)
    }

    #[test]
    fn fallback_models_are_an_ordered_list_of_models_each_with_its_own_key() {
        let parsed = fallbacks(json!([
            {"provider": "openai", "model_id": "gpt-4o", "api_key": "k1", "base_url": "http://llm/v1/"},
            {"provider": "anthropic", "model_id": "claude-haiku-4-5", "api_key": "k2"}
        ]))
        .unwrap();
        let ids: Vec<(&str, &str)> = parsed.iter().map(|m| (m.model_id.as_str(), m.api_key.expose())).collect();
        assert_eq!(ids, [("gpt-4o", "k1"), ("claude-haiku-4-5", "k2")]);
        assert_eq!(parsed[0].base_url.as_deref(), Some("http://llm/v1"));
        assert!(parse_fallback_models(None, false).unwrap().is_empty());
        assert!(fallbacks(json!(null)).unwrap().is_empty());
        assert!(fallbacks(json!([])).unwrap().is_empty());
    }

    #[test]
    fn a_bad_fallback_model_is_named_by_its_index() {
        let good = json!({"provider": "openai", "model_id": "gpt-4o", "api_key": "k"});
        let cases = [
            (json!({"provider": "openai"}), "invalid_field", "fallback_models must be an array"),
            (json!([good, "gpt-4o"]), "invalid_field", "fallback_models[1] must be an object"),
            (
                json!([good, {"provider": "openai", "model_id": "m", "api_key": ""}]),
                "invalid_field",
                "fallback_models[1].api_key must be a non-empty string",
            ),
            (
                json!([{"provider": "gemini", "model_id": "m", "api_key": "k"}]),
                "unsupported_provider",
                "fallback_models[0].provider is not supported (only \"anthropic\" or \"openai\")",
            ),
            (
                json!([{"provider": "openai", "model_id": "m", "api_key": "k", "base_url": "ftp://x"}]),
                "invalid_field",
                "fallback_models[0].base_url must be an absolute http:// or https:// URL",
            ),
            (json!([good, good, good, good]), "invalid_field", "fallback_models may name at most 3 models"),
        ];
        for (value, code, detail) in cases {
            let err = fallbacks(value.clone()).unwrap_err();
            assert_eq!((err.code, err.detail.as_str()), (code, detail), "{value}");
        }
        let placeholder = json!([{"provider": "openai", "model_id": "m", "api_key": "sk-replace-me"}]);
        let err = parse_fallback_models(Some(&placeholder), true).unwrap_err();
        assert!(err.detail.starts_with("fallback_models[0].api_key still has the template placeholder"));
    }

    #[test]
    fn the_demo_file_rejects_the_template_placeholder_keys() {
        // SPEC §11 #141.
        for placeholder in ["sk-replace-me", "REPLACE_ME"] {
            let body = json!({"provider": "openai", "model_id": "m", "api_key": placeholder});
            let err = parse_model(Some(&body), true).unwrap_err();
            assert_eq!(err.code, "invalid_field");
            assert!(err.detail.contains("model.api_key still has the template placeholder"));
            assert!(parse_model(Some(&body), false).is_ok());
        }
    }
}
