//! rmcp's errors sorted into `McpError`, and the redaction every error text goes through.
//! Invariant: an HTTP 401/403 is recognised from the transport's typed error (rmcp's
//! `is_authorization_required()` / `auth_challenge()`), never from upstream wording; a `Failed` text
//! holds no URL, no host of the connector and no credential, and is short.

use std::error::Error as StdError;

use augchatd_actors::record::McpAuth;
use base64::Engine;
use rmcp::ServiceError;
use rmcp::service::ClientInitializeError;
use rmcp::transport::streamable_http_client::StreamableHttpError;

use super::McpError;

/// Longest error text kept: it ends up in a log line and as a tool result the model reads.
const MAX_DETAIL_CHARS: usize = 300;

/// Removes the connector's URL, host and credentials, and anything URL-like, from error texts.
#[derive(Clone, Default)]
pub(super) struct Redactor {
    /// Exact strings to blank, longest first so a URL goes before its host.
    needles: Vec<(String, &'static str)>,
}

impl Redactor {
    /// Knows `url` and every credential of `auth`.
    pub(super) fn new(url: &str, auth: &McpAuth) -> Self {
        let mut needles: Vec<(String, &'static str)> = vec![(url.to_owned(), "<url>")];
        if let Ok(parsed) = url::Url::parse(url)
            && let Some(host) = parsed.host_str()
        {
            needles.push((host.to_owned(), "<host>"));
        }
        let mut secrets: Vec<String> = auth.bearer.iter().map(|token| token.expose().to_owned()).collect();
        if let Some(basic) = &auth.basic {
            let pair = format!("{}:{}", basic.username.expose(), basic.password.expose());
            secrets.push(base64::engine::general_purpose::STANDARD.encode(&pair));
            secrets.extend([pair, basic.username.expose().to_owned(), basic.password.expose().to_owned()]);
        }
        secrets.extend(auth.headers.iter().map(|(_, value)| value.expose().to_owned()));
        needles.extend(secrets.into_iter().map(|secret| (secret, "***")));
        needles.retain(|(needle, _)| !needle.is_empty());
        needles.sort_by_key(|(needle, _)| std::cmp::Reverse(needle.len()));
        Self { needles }
    }

    /// `text` with every known needle and every `scheme://…` word replaced, cut to [`MAX_DETAIL_CHARS`].
    pub(super) fn clean(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (needle, replacement) in &self.needles {
            text = text.replace(needle.as_str(), replacement);
        }
        let words: Vec<&str> = text.split(' ').map(|word| if word.contains("://") { "<url>" } else { word }).collect();
        let cleaned = words.join(" ");
        match cleaned.char_indices().nth(MAX_DETAIL_CHARS) {
            Some((cut, _)) => format!("{}…", &cleaned[..cut]),
            None => cleaned,
        }
    }

    /// An error and its causes as one cleaned line; a cause already quoted by its parent is not repeated.
    pub(super) fn describe(&self, err: &(dyn StdError + 'static)) -> String {
        let mut line = err.to_string();
        let mut cause = err.source();
        while let Some(current) = cause {
            let text = current.to_string();
            if !line.contains(&text) {
                line = format!("{line}: {text}");
            }
            cause = current.source();
        }
        self.clean(&line)
    }

    /// A transport's error without rmcp's wrapper noise (its transport type name): an HTTP client error
    /// is described from reqwest's own cause chain, which rmcp's `Client` variant does not link.
    fn describe_transport(&self, err: &(dyn StdError + 'static)) -> String {
        match err.downcast_ref() {
            Some(StreamableHttpError::<reqwest::Error>::Client(inner)) => self.describe(inner),
            _ => self.describe(err),
        }
    }
}

/// A failed connect (initialize over either transport).
pub(super) fn from_initialize(err: &ClientInitializeError, redactor: &Redactor) -> McpError {
    let unauthorized = err.is_authorization_required()
        || matches!(err, ClientInitializeError::TransportError { error, .. } if unchallenged_401(error.error.as_ref()));
    if unauthorized {
        return McpError::Unauthorized;
    }
    match err {
        ClientInitializeError::TransportError { error, context } => {
            McpError::Failed(format!("{context}: {}", redactor.describe_transport(error.error.as_ref())))
        }
        other => McpError::Failed(redactor.describe(other)),
    }
}

/// A failed request on a running connection (`tools/list`, `tools/call`).
pub(super) fn from_service(err: &ServiceError, redactor: &Redactor) -> McpError {
    if err.is_authorization_required() {
        return McpError::Unauthorized;
    }
    match err {
        ServiceError::TransportSend(error) if unchallenged_401(error.error.as_ref()) => McpError::Unauthorized,
        ServiceError::TransportSend(error) => McpError::Failed(redactor.describe_transport(error.error.as_ref())),
        ServiceError::Timeout { .. } => McpError::Timeout,
        ServiceError::McpError(data) => {
            McpError::Tool(redactor.clean(&format!("the server answered error {}: {}", data.code.0, data.message)))
        }
        other => McpError::Failed(redactor.describe(other)),
    }
}

/// rmcp turns a 401 that lacks `WWW-Authenticate` into `UnexpectedServerResponse("HTTP 401 …")`, its
/// own wording around the status it read, so the status is recovered from that variant only. A 403 is
/// a scope problem, not expired credentials: a fresh JWT would not fix it, so it is a plain failure.
fn unchallenged_401(err: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(error) = current {
        if let Some(StreamableHttpError::<reqwest::Error>::UnexpectedServerResponse(text)) = error.downcast_ref() {
            return text.starts_with("HTTP 401 ");
        }
        current = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use augchatd_actors::record::BasicAuth;
    use augchatd_actors::secret::Secret;

    use super::*;

    fn redactor() -> Redactor {
        let auth = McpAuth {
            bearer: Some(Secret::new("tok-secret")),
            basic: Some(BasicAuth { username: Secret::new("alice"), password: Secret::new("wonder") }),
            headers: vec![("X-Key".to_owned(), Secret::new("hdr-secret"))],
        };
        Redactor::new("https://user:pw@mcp.internal.example:8443/mcp?key=abc", &auth)
    }

    #[test]
    fn urls_hosts_and_credentials_are_blanked() {
        let text = "error sending request for url (https://user:pw@mcp.internal.example:8443/mcp?key=abc): \
                    dns error for mcp.internal.example, token tok-secret, user alice, header hdr-secret, \
                    redirected to http://elsewhere.example/x";
        let cleaned = redactor().clean(text);
        for leak in ["https://", "http://", "mcp.internal", "tok-secret", "alice", "hdr-secret", "elsewhere", "key=abc"]
        {
            assert!(!cleaned.contains(leak), "{leak} in {cleaned}");
        }
        assert!(cleaned.contains("dns error"), "{cleaned}");
    }

    #[test]
    fn long_texts_are_cut() {
        let cleaned = Redactor::default().clean(&"x".repeat(1000));
        assert_eq!(cleaned.chars().count(), MAX_DETAIL_CHARS + 1);
    }

    #[test]
    fn a_jsonrpc_error_keeps_its_code_and_cleaned_message() {
        let data = rmcp::ErrorData::internal_error("index offline at https://mcp.internal.example/idx", None);
        let McpError::Tool(text) = from_service(&ServiceError::McpError(data), &redactor()) else { panic!() };
        assert_eq!(text, "the server answered error -32603: index offline at <url>");
    }

    fn transport_send(error: StreamableHttpError<reqwest::Error>) -> ServiceError {
        ServiceError::TransportSend(rmcp::transport::DynamicTransportError::from_parts(
            "test",
            std::any::TypeId::of::<()>(),
            Box::new(error),
        ))
    }

    #[test]
    fn a_401_with_a_challenge_is_unauthorized() {
        use rmcp::transport::streamable_http_client::AuthRequiredError;
        let err = transport_send(StreamableHttpError::AuthRequired(AuthRequiredError::new("Bearer".to_owned())));
        assert!(matches!(from_service(&err, &redactor()), McpError::Unauthorized));
    }

    #[test]
    fn a_401_without_a_challenge_is_unauthorized_too_and_a_403_is_not() {
        let err = transport_send(StreamableHttpError::UnexpectedServerResponse("HTTP 401 Unauthorized: nope".into()));
        assert!(matches!(from_service(&err, &redactor()), McpError::Unauthorized));
        let err = transport_send(StreamableHttpError::UnexpectedServerResponse("HTTP 403 Forbidden: nope".into()));
        assert!(matches!(from_service(&err, &redactor()), McpError::Failed(_)));
        let err = transport_send(StreamableHttpError::UnexpectedServerResponse("HTTP 400 Bad Request: 401".into()));
        assert!(matches!(from_service(&err, &redactor()), McpError::Failed(_)));
    }

    #[test]
    fn an_rmcp_timeout_is_a_timeout() {
        let err = ServiceError::Timeout { timeout: std::time::Duration::from_secs(1) };
        assert!(matches!(from_service(&err, &redactor()), McpError::Timeout));
    }
}
