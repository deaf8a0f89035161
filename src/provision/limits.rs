//! The `limits` object of a session body: the session's optional budget (`max_tokens`, `max_turns`,
//! `requests_per_minute`).
//! Invariant: every problem is the `invalid_limits` code; an unknown key is refused rather than ignored,
//! because a misspelt limit silently ignored would be no limit at all.

use augchatd_actors::budget::Limits;
use serde_json::Value;

use super::FieldError;
use super::fields::{Object, present, quoted};

/// The largest `max_tokens`: a trillion tokens is no limit in practice, and stays far below 2^53, so the
/// value survives every JSON client.
pub(super) const MAX_TOKENS_LIMIT: u64 = 1_000_000_000_000;
/// The largest `max_turns`.
pub(super) const MAX_TURNS_LIMIT: u64 = 1_000_000;
/// The largest `requests_per_minute`; the rate window keeps one timestamp per request it counts.
pub(super) const MAX_REQUESTS_PER_MINUTE: u64 = 1_000;

const KEYS: [(&str, u64); 3] = [
    ("max_tokens", MAX_TOKENS_LIMIT),
    ("max_turns", MAX_TURNS_LIMIT),
    ("requests_per_minute", MAX_REQUESTS_PER_MINUTE),
];

fn invalid_limits(detail: String) -> FieldError {
    FieldError { code: "invalid_limits", detail }
}

/// Validates `limits`: absent or `null` is no limit at all; each key is optional (`null` too).
pub(super) fn parse_limits(value: Option<&Value>) -> Result<Limits, FieldError> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(Limits::default()) };
    let object = value.as_object().ok_or_else(|| invalid_limits("limits must be an object".to_owned()))?;
    if let Some(unknown) = object.keys().find(|key| !KEYS.iter().any(|(known, _)| known == key)) {
        return Err(invalid_limits(format!(
            "limits has an unknown key {}; the keys are max_tokens, max_turns and requests_per_minute",
            quoted(unknown)
        )));
    }
    let [max_tokens, max_turns, requests_per_minute] = KEYS.map(|(key, max)| bounded(object, key, max));
    Ok(Limits {
        max_tokens: max_tokens?,
        max_turns: max_turns?.map(narrow),
        requests_per_minute: requests_per_minute?.map(narrow),
    })
}

/// The integer under `limits.<key>`, 1..=`max`, or `None` when absent.
fn bounded(object: &Object, key: &str, max: u64) -> Result<Option<u64>, FieldError> {
    let Some(value) = present(object, key) else { return Ok(None) };
    match value.as_u64() {
        Some(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(invalid_limits(format!("limits.{key} must be an integer from 1 to {max}"))),
    }
}

/// Both narrowed limits are bounded far below `u32::MAX`.
fn narrow(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn limits(value: Value) -> Result<Limits, FieldError> {
        parse_limits(Some(&value))
    }

    #[test]
    fn absent_or_null_limits_mean_none() {
        assert_eq!(parse_limits(None).unwrap(), Limits::default());
        assert_eq!(limits(json!(null)).unwrap(), Limits::default());
        assert_eq!(limits(json!({})).unwrap(), Limits::default());
        assert_eq!(limits(json!({"max_turns": null})).unwrap(), Limits::default());
    }

    #[test]
    fn each_limit_is_kept() {
        let parsed = limits(json!({"max_tokens": 50_000, "max_turns": 20, "requests_per_minute": 6})).unwrap();
        assert_eq!(parsed, Limits { max_tokens: Some(50_000), max_turns: Some(20), requests_per_minute: Some(6) });
        let top = limits(json!({"max_tokens": MAX_TOKENS_LIMIT, "max_turns": MAX_TURNS_LIMIT,
            "requests_per_minute": MAX_REQUESTS_PER_MINUTE}))
        .unwrap();
        assert_eq!(top.max_turns, Some(1_000_000));
    }

    #[test]
    fn limits_must_be_an_object_of_known_keys() {
        for (value, detail) in [
            (json!([1]), "limits must be an object"),
            (json!(5), "limits must be an object"),
            (
                json!({"max_token": 5}),
                "limits has an unknown key \"max_token\"; the keys are max_tokens, max_turns and requests_per_minute",
            ),
        ] {
            let err = limits(value).unwrap_err();
            assert_eq!((err.code, err.detail.as_str()), ("invalid_limits", detail));
        }
    }

    #[test]
    fn each_limit_must_be_a_positive_integer_within_its_bound() {
        for (key, max) in KEYS {
            for bad in [json!(0), json!(-1), json!(1.5), json!("10"), json!(true), json!(max + 1)] {
                let err = limits(json!({key: bad})).unwrap_err();
                assert_eq!(err.code, "invalid_limits", "{key} {bad}");
                assert_eq!(err.detail, format!("limits.{key} must be an integer from 1 to {max}"));
            }
        }
    }
}
