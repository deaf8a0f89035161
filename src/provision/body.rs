//! The top level of a session body: `user_id`, `system_prompt`, `ttl_seconds`, `theme`, and the order
//! in which every part is checked, so the first error reported is the first field in SPEC §2.1 order
//! (`fallback_models` and `limits`, which the SPEC does not have, right after `model` and `ttl_seconds`).
//! Invariant: unknown top-level keys are ignored (forward compatibility); known keys are never ignored
//! when malformed, except `ttl_seconds` in the demo file, which SPEC §7.3 says is not read.

use augchatd_actors::ids::UserId;
use augchatd_actors::record::{SessionSpec, Theme};
use serde_json::Value;

use super::connectors::parse_connectors;
use super::fields::{Object, invalid, present, required_string};
use super::limits::parse_limits;
use super::model::{parse_fallback_models, parse_model};
use super::storage::parse_storage;
use super::{DEFAULT_TTL_SECONDS, FieldError, MAX_TTL_SECONDS, Options, SessionRequest};

/// Validates a whole session body (the `POST /sessions` JSON, or `local/demo_session.json`) into a
/// [`SessionRequest`]. The first invalid field wins; nothing is partially applied.
pub fn parse_session_request(body: &Value, options: &Options) -> Result<SessionRequest, FieldError> {
    let Some(body) = body.as_object() else {
        return Err(FieldError { code: "body_must_be_object", detail: "the body must be a JSON object".to_owned() });
    };
    let user = parse_user_id(body)?;
    let system_prompt = required_string(body, "system_prompt", "")?.to_owned();
    let model = parse_model(body.get("model"), options.reject_placeholder_keys)?;
    let fallback_models = parse_fallback_models(body.get("fallback_models"), options.reject_placeholder_keys)?;
    let ttl_seconds = if options.allow_theme { DEFAULT_TTL_SECONDS } else { parse_ttl(body)? };
    let limits = parse_limits(body.get("limits"))?;
    let connectors = match body.get("connectors") {
        Some(value) => parse_connectors(value)?,
        None => Vec::new(),
    };
    let storage = parse_storage(body.get("storage"), options.storage_required)?;
    let theme = if options.allow_theme { parse_theme(body)? } else { Theme::default() };
    let spec = SessionSpec { user, system_prompt, model, fallback_models, limits, connectors, storage, theme };
    Ok(SessionRequest { spec, ttl_seconds })
}

/// `user_id`, missing or not, under its own error code (SPEC §2.1 names `invalid_user_id`).
fn parse_user_id(body: &Object) -> Result<UserId, FieldError> {
    let invalid_user_id =
        || FieldError { code: "invalid_user_id", detail: "user_id must match ^[a-zA-Z0-9._-]{1,100}$".to_owned() };
    let raw = body.get("user_id").and_then(Value::as_str).ok_or_else(invalid_user_id)?;
    UserId::try_from(raw).map_err(|_| invalid_user_id())
}

/// `ttl_seconds`: a JSON integer in 1..=[`MAX_TTL_SECONDS`], [`DEFAULT_TTL_SECONDS`] when absent.
/// `60.0` and `"60"` are rejected: a TTL is a count of seconds, and guessing would hide a client bug.
fn parse_ttl(body: &Object) -> Result<u64, FieldError> {
    let Some(value) = present(body, "ttl_seconds") else {
        return Ok(DEFAULT_TTL_SECONDS);
    };
    match value.as_u64() {
        Some(seconds) if (1..=MAX_TTL_SECONDS).contains(&seconds) => Ok(seconds),
        Some(seconds) if seconds > MAX_TTL_SECONDS => {
            Err(invalid(format!("ttl_seconds must be at most {MAX_TTL_SECONDS} (one year)")))
        }
        _ => Err(invalid("ttl_seconds must be a positive integer")),
    }
}

/// `theme` of the demo file: `"light"` (the default) or `"dark"`, in any case.
fn parse_theme(body: &Object) -> Result<Theme, FieldError> {
    let Some(value) = present(body, "theme") else {
        return Ok(Theme::default());
    };
    match value.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("light") => Ok(Theme::Light),
        Some("dark") => Ok(Theme::Dark),
        _ => Err(invalid("theme must be \"light\" or \"dark\"")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use augchatd_actors::record::Provider;
    use serde_json::json;

    use super::*;

    fn minimal() -> Value {
        json!({
            "user_id": "alice",
            "system_prompt": "You are helpful.",
            "model": {"provider": "openai", "model_id": "gpt-4o", "api_key": "sk-test"},
            "storage": {"s3": {
                "endpoint": "https://s3.us-east-1.amazonaws.com", "region": "us-east-1", "bucket": "cold",
                "access_key_id": "AKIA", "secret_access_key": "shh"
            }}
        })
    }

    fn api(body: &Value) -> Result<SessionRequest, FieldError> {
        parse_session_request(body, &Options::API)
    }

    fn demo(body: &Value) -> Result<SessionRequest, FieldError> {
        parse_session_request(body, &Options::DEMO_FILE)
    }

    fn without(key: &str) -> Value {
        let mut body = minimal();
        body.as_object_mut().unwrap().remove(key);
        body
    }

    fn with(key: &str, value: Value) -> Value {
        let mut body = minimal();
        body[key] = value;
        body
    }

    #[test]
    fn a_minimal_body_gives_plain_chat_with_the_default_ttl() {
        // SPEC §11 #9, #10.
        let request = api(&minimal()).unwrap();
        assert_eq!(request.ttl_seconds, 60);
        assert_eq!(request.spec.user.as_str(), "alice");
        assert_eq!(request.spec.system_prompt, "You are helpful.");
        assert_eq!(request.spec.model.provider, Provider::OpenAi);
        assert!(request.spec.connectors.is_empty());
        assert_eq!(request.spec.storage.unwrap().bucket, "cold");
        assert_eq!(request.spec.theme, Theme::Light);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_rejected_with_its_own_code() {
        for body in [json!([]), json!("x"), json!(null), json!(1)] {
            assert_eq!(api(&body).unwrap_err().code, "body_must_be_object");
        }
    }

    #[test]
    fn a_missing_user_id_is_an_invalid_user_id() {
        // SPEC §11 #12.
        assert_eq!(api(&without("user_id")).unwrap_err().code, "invalid_user_id");
        assert_eq!(api(&with("user_id", json!(42))).unwrap_err().code, "invalid_user_id");
    }

    #[test]
    fn a_user_id_outside_the_alphabet_or_too_long_is_an_invalid_user_id() {
        // SPEC §11 #13.
        for bad in ["a/b", "", "..", "a b", &"x".repeat(101)] {
            let err = api(&with("user_id", json!(bad))).unwrap_err();
            assert_eq!(err.code, "invalid_user_id", "{bad:?}");
        }
        assert!(api(&with("user_id", json!("x".repeat(100)))).is_ok());
    }

    #[test]
    fn a_missing_or_empty_system_prompt_is_rejected() {
        // SPEC §11 #12.
        let expected = "system_prompt must be a non-empty string";
        assert_eq!(api(&without("system_prompt")).unwrap_err().detail, expected);
        assert_eq!(api(&with("system_prompt", json!(""))).unwrap_err().detail, expected);
        assert_eq!(api(&with("system_prompt", json!(["x"]))).unwrap_err().code, "invalid_field");
    }

    #[test]
    fn a_missing_model_is_rejected() {
        // SPEC §11 #12.
        let err = api(&without("model")).unwrap_err();
        assert_eq!((err.code, err.detail.as_str()), ("invalid_field", "model must be an object"));
    }

    #[test]
    fn a_missing_storage_s3_is_rejected_by_the_api() {
        // SPEC §11 #12.
        assert_eq!(api(&without("storage")).unwrap_err().code, "invalid_field");
        assert_eq!(api(&with("storage", json!({}))).unwrap_err().code, "invalid_field");
    }

    #[test]
    fn ttl_seconds_is_kept_when_it_is_a_positive_integer() {
        // SPEC §11 #11.
        assert_eq!(api(&with("ttl_seconds", json!(1800))).unwrap().ttl_seconds, 1800);
        assert_eq!(api(&with("ttl_seconds", json!(1))).unwrap().ttl_seconds, 1);
        assert_eq!(api(&with("ttl_seconds", json!(MAX_TTL_SECONDS))).unwrap().ttl_seconds, MAX_TTL_SECONDS);
        assert_eq!(api(&with("ttl_seconds", json!(null))).unwrap().ttl_seconds, 60);
    }

    #[test]
    fn ttl_seconds_must_be_a_positive_integer() {
        for bad in [json!(0), json!(-5), json!(60.0), json!(1.5), json!("60"), json!(true), json!({})] {
            let err = api(&with("ttl_seconds", bad.clone())).unwrap_err();
            assert_eq!(err.detail, "ttl_seconds must be a positive integer", "{bad}");
        }
    }

    #[test]
    fn ttl_seconds_must_be_at_most_one_year() {
        let err = api(&with("ttl_seconds", json!(MAX_TTL_SECONDS + 1))).unwrap_err();
        assert_eq!(err.code, "invalid_field");
        assert!(err.detail.starts_with("ttl_seconds must be at most"));
        assert!(api(&with("ttl_seconds", json!(u64::MAX))).is_err());
    }

    #[test]
    fn unknown_top_level_keys_are_ignored() {
        let request = api(&with("future_field", json!({"anything": [1, 2]}))).unwrap();
        assert_eq!(request.spec.user.as_str(), "alice");
    }

    #[test]
    fn the_api_ignores_theme() {
        assert_eq!(api(&with("theme", json!("dark"))).unwrap().spec.theme, Theme::Light);
        assert!(api(&with("theme", json!(7))).is_ok());
    }

    #[test]
    fn the_demo_file_reads_theme_in_any_case() {
        // SPEC §11 #145.
        assert_eq!(demo(&with("theme", json!("DARK"))).unwrap().spec.theme, Theme::Dark);
        assert_eq!(demo(&with("theme", json!("Light"))).unwrap().spec.theme, Theme::Light);
        assert_eq!(demo(&minimal()).unwrap().spec.theme, Theme::Light);
    }

    #[test]
    fn the_demo_file_rejects_any_other_theme() {
        for bad in [json!("blue"), json!(""), json!(1)] {
            let err = demo(&with("theme", bad)).unwrap_err();
            assert_eq!((err.code, err.detail.as_str()), ("invalid_field", "theme must be \"light\" or \"dark\""));
        }
    }

    #[test]
    fn the_demo_file_ignores_ttl_seconds() {
        assert_eq!(demo(&with("ttl_seconds", json!("soon"))).unwrap().ttl_seconds, DEFAULT_TTL_SECONDS);
        assert_eq!(demo(&with("ttl_seconds", json!(900))).unwrap().ttl_seconds, DEFAULT_TTL_SECONDS);
    }

    #[test]
    fn the_demo_file_may_omit_storage() {
        // SPEC §11 #144.
        assert!(demo(&without("storage")).unwrap().spec.storage.is_none());
    }

    #[test]
    fn the_demo_file_rejects_a_placeholder_key_but_the_api_does_not() {
        // SPEC §11 #141.
        let mut body = minimal();
        body["model"]["api_key"] = json!("sk-replace-me");
        assert!(demo(&body).unwrap_err().detail.contains("model.api_key still has the template placeholder"));
        assert!(api(&body).is_ok());
    }

    #[test]
    fn connectors_absent_null_or_empty_mean_plain_chat() {
        assert!(api(&with("connectors", json!(null))).unwrap().spec.connectors.is_empty());
        assert!(api(&with("connectors", json!([]))).unwrap().spec.connectors.is_empty());
        assert_eq!(api(&with("connectors", json!({}))).unwrap_err().detail, "connectors must be an array");
    }

    #[test]
    fn fallback_models_and_limits_are_read_and_default_to_none() {
        let request = api(&minimal()).unwrap();
        assert!(request.spec.fallback_models.is_empty());
        assert_eq!(request.spec.limits, augchatd_actors::budget::Limits::default());
        let mut body = minimal();
        body["fallback_models"] = json!([{"provider": "anthropic", "model_id": "claude-haiku-4-5", "api_key": "k2"}]);
        body["limits"] = json!({"max_turns": 3});
        let request = api(&body).unwrap();
        assert_eq!(request.spec.fallback_models[0].model_id, "claude-haiku-4-5");
        assert_eq!(request.spec.limits.max_turns, Some(3));
        body["limits"] = json!({"max_turns": 0});
        assert_eq!(api(&body).unwrap_err().code, "invalid_limits");
    }

    #[test]
    fn checks_run_in_field_order() {
        // A body with several faults reports the first one, so a client fixes them top-down.
        let mut body = minimal();
        body["system_prompt"] = json!("");
        body["model"] = json!(null);
        assert_eq!(api(&body).unwrap_err().detail, "system_prompt must be a non-empty string");
    }
}
