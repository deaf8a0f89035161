//! Typed accessors over one JSON object, the URL rule shared by every URL field, and the error
//! constructors of the provision module.
//! Invariant: a detail built here names a field path and never quotes the field's value, so these
//! helpers are safe on secret fields. `null` counts as absent everywhere.

use serde_json::{Map, Value};

use super::FieldError;

/// A JSON object, as serde_json holds it.
pub(super) type Object = Map<String, Value>;

/// The longest quoted value in a detail: enough to recognise a typo, short enough for a log line.
const QUOTE_LIMIT: usize = 40;

/// An `invalid_field` error with this detail.
pub(super) fn invalid(detail: impl Into<String>) -> FieldError {
    FieldError { code: "invalid_field", detail: detail.into() }
}

/// `parent.key`, or `key` at the top level (empty parent).
pub(super) fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// A non-secret value quoted for a detail: escaped so it cannot forge a log line, and shortened.
pub(super) fn quoted(value: &str) -> String {
    let mut short: String = value.chars().take(QUOTE_LIMIT).collect();
    if short.len() < value.len() {
        short.push('…');
    }
    format!("{short:?}")
}

/// The value under `key`, with `null` treated as absent.
pub(super) fn present<'a>(object: &'a Object, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

/// True when the string has something besides whitespace: a blank name or key is always a mistake.
pub(super) fn is_filled(value: &str) -> bool {
    !value.trim().is_empty()
}

/// `value` as an object, or `<field> must be an object`.
pub(super) fn as_object<'a>(value: Option<&'a Value>, field: &str) -> Result<&'a Object, FieldError> {
    value.and_then(Value::as_object).ok_or_else(|| invalid(format!("{field} must be an object")))
}

/// `value` as a non-blank string, or `<field> must be a non-empty string`.
pub(super) fn as_filled_string<'a>(value: Option<&'a Value>, field: &str) -> Result<&'a str, FieldError> {
    value
        .and_then(Value::as_str)
        .filter(|text| is_filled(text))
        .ok_or_else(|| invalid(format!("{field} must be a non-empty string")))
}

/// The required non-blank string under `key`.
pub(super) fn required_string<'a>(object: &'a Object, key: &str, parent: &str) -> Result<&'a str, FieldError> {
    as_filled_string(present(object, key), &path(parent, key))
}

/// The optional string under `key`: absent or `null` gives `None`, otherwise it must be non-blank.
pub(super) fn optional_string<'a>(object: &'a Object, key: &str, parent: &str) -> Result<Option<&'a str>, FieldError> {
    match present(object, key) {
        None => Ok(None),
        value => as_filled_string(value, &path(parent, key)).map(Some),
    }
}

/// The required boolean under `key`.
pub(super) fn required_bool(object: &Object, key: &str, parent: &str) -> Result<bool, FieldError> {
    present(object, key)
        .and_then(Value::as_bool)
        .ok_or_else(|| invalid(format!("{} must be a boolean", path(parent, key))))
}

/// The optional boolean under `key`, `default` when absent or `null`.
pub(super) fn optional_bool(object: &Object, key: &str, parent: &str, default: bool) -> Result<bool, FieldError> {
    match present(object, key) {
        None => Ok(default),
        Some(_) => required_bool(object, key, parent),
    }
}

/// Whether a URL field may carry a query string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Query {
    /// A base URL that augchatd appends paths to: a query would end up in the middle of the result.
    Forbidden,
    /// A complete endpoint (an MCP server URL), used as written.
    Allowed,
}

/// Checks that `raw` is an absolute `http://` or `https://` URL with a host and no credentials, and
/// returns it as written. `url` alone is too lenient (`http:host` parses), so the scheme is checked
/// on the raw text. Credentials in a URL would be printed by `Debug`; they belong in `auth`.
pub(super) fn http_url(raw: &str, field: &str, query: Query) -> Result<String, FieldError> {
    let not_http = || invalid(format!("{field} must be an absolute http:// or https:// URL"));
    if raw.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\') {
        return Err(not_http());
    }
    let lower = raw.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(not_http());
    }
    let parsed = url::Url::parse(raw).map_err(|_| not_http())?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(not_http());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(format!("{field} must not contain credentials; put them in auth")));
    }
    if query == Query::Forbidden && (parsed.query().is_some() || parsed.fragment().is_some()) {
        return Err(invalid(format!("{field} must not have a query or fragment")));
    }
    Ok(raw.to_owned())
}

/// A base URL with one trailing `/` removed, so `<base>/<path>` never has a double slash.
pub(super) fn without_trailing_slash(raw: String) -> String {
    match raw.strip_suffix('/') {
        Some(stripped) => stripped.to_owned(),
        None => raw,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Object {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_blank_string_is_not_a_filled_string() {
        let body = object(json!({"a": "  ", "b": "", "c": 3, "d": "x"}));
        for key in ["a", "b", "c", "missing"] {
            let err = required_string(&body, key, "model").unwrap_err();
            assert_eq!(err.detail, format!("model.{key} must be a non-empty string"));
        }
        assert_eq!(required_string(&body, "d", "").unwrap(), "x");
    }

    #[test]
    fn null_counts_as_absent_for_optional_fields() {
        let body = object(json!({"s": null, "b": null}));
        assert_eq!(optional_string(&body, "s", "").unwrap(), None);
        assert!(optional_bool(&body, "b", "", true).unwrap());
    }

    #[test]
    fn an_optional_field_of_the_wrong_type_is_rejected() {
        let body = object(json!({"s": 1, "b": "true"}));
        assert_eq!(optional_string(&body, "s", "x").unwrap_err().detail, "x.s must be a non-empty string");
        assert_eq!(optional_bool(&body, "b", "x", true).unwrap_err().detail, "x.b must be a boolean");
    }

    #[test]
    fn http_urls_must_be_absolute_http_or_https_with_a_host() {
        for good in ["http://localhost:9000", "https://api.example.com/v1/", "HTTPS://x.example"] {
            assert_eq!(http_url(good, "f", Query::Forbidden).unwrap(), good);
        }
        for bad in ["", "stdio:./server", "file:///tmp/x", "http:host", "ftp://h/", "https:// h", "https://", "//h/x"] {
            let err = http_url(bad, "f", Query::Allowed).unwrap_err();
            assert_eq!(err.detail, "f must be an absolute http:// or https:// URL", "{bad:?}");
        }
    }

    #[test]
    fn http_urls_must_not_carry_credentials() {
        let err = http_url("https://u:p@h.example/", "f", Query::Allowed).unwrap_err();
        assert_eq!(err.detail, "f must not contain credentials; put them in auth");
    }

    #[test]
    fn a_base_url_must_not_have_a_query_but_an_endpoint_may() {
        assert!(http_url("https://h.example/mcp?tenant=1", "f", Query::Allowed).is_ok());
        assert!(http_url("https://h.example/?x=1", "f", Query::Forbidden).is_err());
    }

    #[test]
    fn only_one_trailing_slash_is_removed() {
        assert_eq!(without_trailing_slash("https://h/".to_owned()), "https://h");
        assert_eq!(without_trailing_slash("https://h//".to_owned()), "https://h/");
        assert_eq!(without_trailing_slash("https://h".to_owned()), "https://h");
    }

    #[test]
    fn quoted_values_are_escaped_and_shortened() {
        assert_eq!(quoted("ftp"), "\"ftp\"");
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
        assert_eq!(quoted(&"x".repeat(100)), format!("{:?}", format!("{}…", "x".repeat(40))));
    }
}
