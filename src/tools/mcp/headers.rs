//! The one header map every request to an MCP server carries: SPEC §2.1's three `auth` shapes applied in
//! the order bearer → basic → headers, so a later shape replaces an earlier one on the same header name.
//! Invariant: every value is marked sensitive (hidden from `Debug`, never indexed by HTTP/2); an error
//! names at most a header *name*, never a value.

use std::collections::HashMap;

use augchatd_actors::record::McpAuth;
use base64::Engine;
use http::{HeaderName, HeaderValue, header::AUTHORIZATION};

use super::McpError;

/// Headers the MCP transports set themselves (content negotiation, session, resumption). An integrator's
/// copy would fight them (rmcp refuses these names outright), so they are left out.
const TRANSPORT_HEADERS: [&str; 4] = ["accept", "mcp-session-id", "mcp-protocol-version", "last-event-id"];

/// Header name → value; one value per name, which is what makes "later shape wins" hold.
pub(super) type AuthHeaders = HashMap<HeaderName, HeaderValue>;

/// Builds the connector's headers. Provisioning already checked names and values, so a failure here
/// means a record built some other way.
pub(super) fn auth_headers(auth: &McpAuth) -> Result<AuthHeaders, McpError> {
    let mut headers = AuthHeaders::new();
    if let Some(token) = &auth.bearer {
        headers.insert(AUTHORIZATION, sensitive(&format!("Bearer {}", token.expose()), "Authorization")?);
    }
    if let Some(basic) = &auth.basic {
        let pair = format!("{}:{}", basic.username.expose(), basic.password.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        headers.insert(AUTHORIZATION, sensitive(&format!("Basic {encoded}"), "Authorization")?);
    }
    for (name, value) in &auth.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| McpError::Failed(format!("connector auth header name {name:?} is not a valid header name")))?;
        if TRANSPORT_HEADERS.contains(&header.as_str()) {
            tracing::debug!(header = %header, "mcp auth header left out: the transport sets it");
            continue;
        }
        let value = sensitive(value.expose(), header.as_str())?;
        headers.insert(header, value);
    }
    Ok(headers)
}

/// A header value flagged sensitive; `name` only labels the error.
fn sensitive(value: &str, name: &str) -> Result<HeaderValue, McpError> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| McpError::Failed(format!("connector auth header {name} has a value that cannot be sent")))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use augchatd_actors::record::BasicAuth;
    use augchatd_actors::secret::Secret;

    use super::*;

    fn value<'a>(headers: &'a AuthHeaders, name: &str) -> &'a str {
        // By `HeaderName`: its hash is not the hash of its text, so a `&str` lookup would miss.
        headers.get(&HeaderName::from_bytes(name.as_bytes()).unwrap()).unwrap().to_str().unwrap()
    }

    fn basic() -> BasicAuth {
        BasicAuth { username: Secret::new("alice"), password: Secret::new("wonder") }
    }

    #[test]
    fn empty_auth_sends_no_headers() {
        assert!(auth_headers(&McpAuth::default()).unwrap().is_empty());
    }

    // SPEC §11 #63
    #[test]
    fn bearer_becomes_an_authorization_bearer_header() {
        let auth = McpAuth { bearer: Some(Secret::new("tok-1")), ..McpAuth::default() };
        let headers = auth_headers(&auth).unwrap();
        assert_eq!(value(&headers, "authorization"), "Bearer tok-1");
        assert!(headers[&AUTHORIZATION].is_sensitive());
    }

    // SPEC §11 #64
    #[test]
    fn basic_becomes_base64_of_user_colon_password() {
        let auth = McpAuth { basic: Some(basic()), ..McpAuth::default() };
        let headers = auth_headers(&auth).unwrap();
        assert_eq!(value(&headers, "authorization"), "Basic YWxpY2U6d29uZGVy");
    }

    #[test]
    fn basic_wins_over_bearer_because_it_is_applied_later() {
        let auth = McpAuth { bearer: Some(Secret::new("tok-1")), basic: Some(basic()), ..McpAuth::default() };
        let headers = auth_headers(&auth).unwrap();
        assert_eq!(value(&headers, "authorization"), "Basic YWxpY2U6d29uZGVy");
        assert_eq!(headers.len(), 1);
    }

    // SPEC §11 #65
    #[test]
    fn headers_are_forwarded_verbatim_and_sensitive() {
        let auth = McpAuth {
            bearer: Some(Secret::new("tok-1")),
            headers: vec![("X-Mcp-Client-Id".to_owned(), Secret::new("client-7"))],
            ..McpAuth::default()
        };
        let headers = auth_headers(&auth).unwrap();
        assert_eq!(value(&headers, "x-mcp-client-id"), "client-7");
        assert_eq!(value(&headers, "authorization"), "Bearer tok-1");
        assert!(headers.values().all(HeaderValue::is_sensitive));
    }

    // SPEC §11 #65: the later shape wins on a clash, whatever the case of the header name.
    #[test]
    fn a_headers_authorization_wins_over_bearer_and_basic() {
        let auth = McpAuth {
            bearer: Some(Secret::new("tok-1")),
            basic: Some(basic()),
            headers: vec![("authorization".to_owned(), Secret::new("Token custom"))],
        };
        let headers = auth_headers(&auth).unwrap();
        assert_eq!(value(&headers, "Authorization"), "Token custom");
        assert_eq!(headers.len(), 1);
    }

    #[test]
    fn transport_headers_are_left_to_the_transport() {
        let auth = McpAuth { headers: vec![("Accept".to_owned(), Secret::new("text/html"))], ..McpAuth::default() };
        assert!(auth_headers(&auth).unwrap().is_empty());
    }

    #[test]
    fn a_bad_value_is_refused_without_quoting_it() {
        let auth = McpAuth { bearer: Some(Secret::new("tok\nX-Evil: 1")), ..McpAuth::default() };
        let err = auth_headers(&auth).unwrap_err().to_string();
        assert!(!err.contains("tok"), "{err}");
    }
}
