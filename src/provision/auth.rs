//! Connector `auth` objects: the three composable MCP shapes (`bearer`, `basic`, `headers`) and the
//! two exclusive RAG shapes (`bearer` or `basic`), SPEC §2.1.
//! Invariant: every credential value becomes a `Secret` here and is never quoted in an error; only
//! header *names* may be quoted. Whatever comes out is sendable: header names are HTTP tokens, values
//! carry no control characters, so a credential cannot smuggle a second header (CR/LF injection).

use augchatd_actors::record::{BasicAuth, McpAuth, RagAuth};
use augchatd_actors::secret::Secret;
use serde_json::Value;

use super::FieldError;
use super::fields::{Object, as_filled_string, as_object, invalid, present, quoted};

/// Headers the HTTP client sets itself: overriding them would corrupt framing or routing.
const RESERVED_HEADERS: [&str; 5] = ["host", "content-length", "transfer-encoding", "connection", "upgrade"];

/// The keys an MCP `auth` object may hold.
const MCP_KEYS: [&str; 3] = ["bearer", "basic", "headers"];

/// Validates an MCP connector's `auth` (required, may be `{}`); `field` is its path.
pub(super) fn parse_mcp_auth(value: Option<&Value>, field: &str) -> Result<McpAuth, FieldError> {
    let auth = as_object(value, field)?;
    reject_unknown_keys(auth, &MCP_KEYS, field)?;
    let bearer = parse_bearer(auth, field)?;
    let basic = match present(auth, "basic") {
        Some(value) => Some(parse_basic(value, &format!("{field}.basic"))?),
        None => None,
    };
    let headers = match present(auth, "headers") {
        Some(value) => parse_headers(value, &format!("{field}.headers"))?,
        None => Vec::new(),
    };
    Ok(McpAuth { bearer, basic, headers })
}

/// Validates a RAG connector's `auth` (required): `{}`, `{"bearer"}` or `{"basic"}`, never both,
/// because a request carries one `Authorization` header and guessing which the integrator meant is unsafe.
pub(super) fn parse_rag_auth(value: Option<&Value>, field: &str) -> Result<RagAuth, FieldError> {
    let auth = as_object(value, field)?;
    if auth.contains_key("headers") {
        return Err(invalid(format!("{field}.headers is not supported for rag connectors (use bearer or basic)")));
    }
    reject_unknown_keys(auth, &["bearer", "basic"], field)?;
    let bearer = parse_bearer(auth, field)?;
    match (bearer, present(auth, "basic")) {
        (Some(_), Some(_)) => Err(invalid(format!("{field} must have bearer or basic, not both"))),
        (Some(token), None) => Ok(RagAuth::Bearer(token)),
        (None, Some(basic)) => Ok(RagAuth::Basic(parse_basic(basic, &format!("{field}.basic"))?)),
        (None, None) => Ok(RagAuth::None),
    }
}

/// An unknown key is refused rather than ignored: a misspelt credential shape would otherwise send
/// unauthenticated requests without anyone noticing.
fn reject_unknown_keys(auth: &Object, allowed: &[&str], field: &str) -> Result<(), FieldError> {
    match auth.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(invalid(format!("{field}: unknown key {} (expected {})", quoted(key), allowed.join(", ")))),
        None => Ok(()),
    }
}

/// `bearer`: a token sent as `Authorization: Bearer <token>`, so it must be a valid header value.
fn parse_bearer(auth: &Object, field: &str) -> Result<Option<Secret>, FieldError> {
    let Some(value) = present(auth, "bearer") else {
        return Ok(None);
    };
    let bearer_field = format!("{field}.bearer");
    let token = as_filled_string(Some(value), &bearer_field)?;
    check_header_value(token, &bearer_field)?;
    Ok(Some(Secret::new(token)))
}

/// `basic`: `{username, password}`, both non-empty. A `:` in the username would move the split point
/// of `base64(u:p)` (RFC 7617), so it is refused.
fn parse_basic(value: &Value, field: &str) -> Result<BasicAuth, FieldError> {
    let basic = as_object(Some(value), field)?;
    let username = as_filled_string(present(basic, "username"), &format!("{field}.username"))?;
    if username.contains(':') {
        return Err(invalid(format!("{field}.username must not contain ':'")));
    }
    let password = as_filled_string(present(basic, "password"), &format!("{field}.password"))?;
    Ok(BasicAuth { username: Secret::new(username), password: Secret::new(password) })
}

/// `headers`: `{name: value}`, forwarded verbatim. Names must be HTTP tokens and unique ignoring
/// case; values are strings (empty allowed: an empty header is legal HTTP) without control characters.
fn parse_headers(value: &Value, field: &str) -> Result<Vec<(String, Secret)>, FieldError> {
    let headers = as_object(Some(value), field)?;
    let mut parsed: Vec<(String, Secret)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        // An invalid name is not quoted: the likely mistake is `"Authorization: Bearer <token>"` as a key.
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(invalid(format!(
                "{field}: a key is not a valid HTTP header name (use {{\"Name\": \"value\"}})"
            )));
        }
        if RESERVED_HEADERS.iter().any(|reserved| name.eq_ignore_ascii_case(reserved)) {
            return Err(invalid(format!("{field}: {} is set by augchatd and cannot be overridden", quoted(name))));
        }
        if parsed.iter().any(|(seen, _)| seen.eq_ignore_ascii_case(name)) {
            return Err(invalid(format!("{field}: a header name appears twice (header names ignore case)")));
        }
        let value_field = format!("{field}[{}]", quoted(name));
        let value = value.as_str().ok_or_else(|| invalid(format!("{value_field} must be a string")))?;
        check_header_value(value, &value_field)?;
        parsed.push((name.clone(), Secret::new(value)));
    }
    Ok(parsed)
}

/// RFC 9110 `tchar`: the bytes an HTTP header name may contain.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A header value may not hold CR, LF, NUL or other control characters (tab excepted): the HTTP
/// client would refuse it at chat time, far from the integrator's mistake, or worse, split a header.
fn check_header_value(value: &str, field: &str) -> Result<(), FieldError> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(invalid(format!("{field} must not contain control characters (CR, LF, NUL)")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn mcp(auth: Value) -> Result<McpAuth, FieldError> {
        parse_mcp_auth(Some(&auth), "connectors[0].auth")
    }

    fn rag(auth: Value) -> Result<RagAuth, FieldError> {
        parse_rag_auth(Some(&auth), "connectors[0].auth")
    }

    #[test]
    fn an_empty_mcp_auth_means_no_credentials() {
        let auth = mcp(json!({})).unwrap();
        assert!(auth.bearer.is_none() && auth.basic.is_none() && auth.headers.is_empty());
    }

    #[test]
    fn mcp_auth_shapes_compose() {
        // SPEC §11 #63-65: all three shapes may be given together; the sender applies them in order.
        let auth = mcp(json!({
            "bearer": "tok",
            "basic": {"username": "u", "password": "p"},
            "headers": {"X-Mcp-Client-Id": "c1", "X-Empty": ""}
        }))
        .unwrap();
        assert_eq!(auth.bearer.unwrap().expose(), "tok");
        let basic = auth.basic.unwrap();
        assert_eq!((basic.username.expose(), basic.password.expose()), ("u", "p"));
        // serde_json may or may not keep key order (feature `preserve_order`), so compare sorted.
        let mut headers: Vec<_> = auth.headers.iter().map(|(n, v)| (n.as_str(), v.expose())).collect();
        headers.sort_unstable();
        assert_eq!(headers, [("X-Empty", ""), ("X-Mcp-Client-Id", "c1")]);
    }

    #[test]
    fn mcp_auth_must_be_an_object() {
        assert_eq!(parse_mcp_auth(None, "a").unwrap_err().detail, "a must be an object");
        assert_eq!(mcp(json!([])).unwrap_err().detail, "connectors[0].auth must be an object");
    }

    #[test]
    fn bearer_must_be_a_non_empty_string() {
        for bad in [json!(""), json!(1), json!({"token": "x"})] {
            assert_eq!(
                mcp(json!({"bearer": bad})).unwrap_err().detail,
                "connectors[0].auth.bearer must be a non-empty string"
            );
        }
    }

    #[test]
    fn bearer_must_not_contain_a_line_break() {
        let err = mcp(json!({"bearer": "tok\r\nX-Evil: 1"})).unwrap_err();
        assert!(err.detail.starts_with("connectors[0].auth.bearer must not contain control characters"));
    }

    #[test]
    fn basic_needs_a_non_empty_username_and_password() {
        for (basic, field) in [
            (json!({"password": "p"}), "username"),
            (json!({"username": "u"}), "password"),
            (json!({"username": "", "password": "p"}), "username"),
            (json!({"username": "u", "password": 3}), "password"),
        ] {
            let err = mcp(json!({"basic": basic})).unwrap_err();
            assert_eq!(err.detail, format!("connectors[0].auth.basic.{field} must be a non-empty string"));
        }
        assert_eq!(mcp(json!({"basic": "u:p"})).unwrap_err().detail, "connectors[0].auth.basic must be an object");
    }

    #[test]
    fn a_basic_username_must_not_contain_a_colon() {
        let err = mcp(json!({"basic": {"username": "a:b", "password": "p"}})).unwrap_err();
        assert_eq!(err.detail, "connectors[0].auth.basic.username must not contain ':'");
    }

    #[test]
    fn header_names_must_be_http_tokens() {
        for bad in ["", "X Space", "X:Colon", "Ünï", "X\nY"] {
            let err = mcp(json!({"headers": {bad: "v"}})).unwrap_err();
            assert!(err.detail.contains("a key is not a valid HTTP header name"), "{bad:?}: {}", err.detail);
        }
    }

    #[test]
    fn header_values_must_be_strings_without_line_breaks() {
        let err = mcp(json!({"headers": {"X-A": 1}})).unwrap_err();
        assert_eq!(err.detail, "connectors[0].auth.headers[\"X-A\"] must be a string");
        for bad in ["a\rb", "a\nb", "a\0b"] {
            assert!(
                mcp(json!({"headers": {"X-A": bad}}))
                    .unwrap_err()
                    .detail
                    .contains("must not contain control characters")
            );
        }
        assert!(mcp(json!({"headers": {"X-A": "tab\tok"}})).is_ok());
    }

    #[test]
    fn headers_must_be_an_object() {
        assert_eq!(
            mcp(json!({"headers": ["X-A: 1"]})).unwrap_err().detail,
            "connectors[0].auth.headers must be an object"
        );
    }

    #[test]
    fn framing_headers_cannot_be_overridden() {
        for name in ["Host", "content-length", "Transfer-Encoding"] {
            assert!(mcp(json!({"headers": {name: "x"}})).unwrap_err().detail.contains("cannot be overridden"));
        }
    }

    #[test]
    fn header_names_are_unique_ignoring_case() {
        let err = mcp(json!({"headers": {"X-A": "1", "x-a": "2"}})).unwrap_err();
        assert!(err.detail.contains("appears twice"), "{}", err.detail);
    }

    #[test]
    fn an_unknown_auth_key_is_rejected() {
        let err = mcp(json!({"oauth": {"client_id": "x"}})).unwrap_err();
        assert_eq!(err.detail, "connectors[0].auth: unknown key \"oauth\" (expected bearer, basic, headers)");
    }

    #[test]
    fn rag_auth_takes_nothing_bearer_or_basic() {
        assert!(matches!(rag(json!({})).unwrap(), RagAuth::None));
        assert!(matches!(rag(json!({"bearer": "t"})).unwrap(), RagAuth::Bearer(t) if t.expose() == "t"));
        let RagAuth::Basic(basic) = rag(json!({"basic": {"username": "u", "password": "p"}})).unwrap() else {
            unreachable!()
        };
        assert_eq!(basic.password.expose(), "p");
    }

    #[test]
    fn rag_auth_rejects_headers() {
        let err = rag(json!({"headers": {"X-A": "1"}})).unwrap_err();
        assert_eq!(err.code, "invalid_field");
        assert_eq!(err.detail, "connectors[0].auth.headers is not supported for rag connectors (use bearer or basic)");
    }

    #[test]
    fn rag_auth_rejects_bearer_and_basic_together() {
        let err = rag(json!({"bearer": "t", "basic": {"username": "u", "password": "p"}})).unwrap_err();
        assert_eq!(err.detail, "connectors[0].auth must have bearer or basic, not both");
    }

    #[test]
    fn rag_auth_must_be_an_object() {
        assert_eq!(parse_rag_auth(None, "x.auth").unwrap_err().detail, "x.auth must be an object");
    }
}
