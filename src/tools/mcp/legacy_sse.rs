//! The legacy MCP "HTTP+SSE" transport (protocol 2024-11-05), for servers that do not speak streamable
//! HTTP: one long GET whose first `endpoint` event names the URL each client message is POSTed to; the
//! server's messages arrive as `message` events on that GET. rmcp dropped its client for it in 0.11,
//! so this is a small rmcp [`Transport`].
//! Invariant: every request carries the connector's headers, and the POST URL stays on the connector's
//! origin, so credentials never travel to a host the integrator did not name. No task of its own: the
//! GET body is read only when rmcp asks for the next message, and dropping the transport (when the
//! rmcp service stops) closes it.

use std::sync::Arc;

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use http::header::{ACCEPT, WWW_AUTHENTICATE};
use rmcp::RoleClient;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::streamable_http_client::{AuthRequiredError, InsufficientScopeError};
use url::Url;

use super::headers::AuthHeaders;
use crate::sse_events::{Event, Events, SseError};

/// Why the legacy transport failed. The 401/403 variants carry rmcp's own auth error types as their
/// source, so rmcp's `is_authorization_required()` / `auth_challenge()` see them like a streamable 401.
#[derive(Debug, thiserror::Error)]
pub(super) enum LegacySseError {
    /// HTTP 401.
    #[error("the server answered 401")]
    Unauthorized(#[source] AuthRequiredError),
    /// HTTP 403.
    #[error("the server answered 403")]
    Forbidden(#[source] InsufficientScopeError),
    /// Any other non-2xx status.
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// The request or the event stream failed (connect, reset, …); the URL is stripped.
    #[error("legacy SSE request failed")]
    Request(#[source] reqwest::Error),
    /// The event stream was not valid UTF-8 SSE.
    #[error("the event stream is malformed")]
    Malformed,
    /// The GET ended before its `endpoint` event.
    #[error("the event stream ended before its endpoint event")]
    NoEndpoint,
    /// The `endpoint` event named a URL on another origin, or no URL at all.
    #[error("the endpoint event does not name a URL on the server's origin")]
    ForeignEndpoint,
    /// The connector URL does not parse.
    #[error("the connector URL is not a URL")]
    BadUrl,
}

impl LegacySseError {
    /// True for a 401 (a 403 is a scope problem a fresh JWT would not fix).
    pub(super) fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Unauthorized(_))
    }
}

/// An open legacy SSE connection, ready for rmcp to `serve`.
pub(super) struct LegacySse {
    http: reqwest::Client,
    endpoint: Arc<Url>,
    headers: Arc<AuthHeaders>,
    messages: BoxStream<'static, ServerJsonRpcMessage>,
}

/// GETs `url` and waits for its `endpoint` event.
pub(super) async fn open(http: &reqwest::Client, url: &str, headers: AuthHeaders) -> Result<LegacySse, LegacySseError> {
    let base = Url::parse(url).map_err(|_| LegacySseError::BadUrl)?;
    let request = with_headers(http.get(base.clone()), &headers).header(ACCEPT, "text/event-stream");
    let response = request.send().await.map_err(|e| LegacySseError::Request(e.without_url()))?;
    check_status(&response)?;
    let mut events = Events::new(response.bytes_stream());
    let endpoint = loop {
        match events.next().await {
            Some(Ok(event)) if event.event == "endpoint" => break endpoint_url(&base, event.data.trim())?,
            Some(Ok(_)) => continue,
            Some(Err(SseError::Transport(e))) => {
                return Err(LegacySseError::Request(e.without_url()));
            }
            Some(Err(_)) => return Err(LegacySseError::Malformed),
            None => return Err(LegacySseError::NoEndpoint),
        }
    };
    Ok(LegacySse {
        http: http.clone(),
        endpoint: Arc::new(endpoint),
        headers: Arc::new(headers),
        messages: Box::pin(server_messages(events)),
    })
}

/// The `endpoint` data resolved against the connector URL; it must stay on the same origin.
fn endpoint_url(base: &Url, data: &str) -> Result<Url, LegacySseError> {
    let endpoint = base.join(data).map_err(|_| LegacySseError::ForeignEndpoint)?;
    if endpoint.origin() != base.origin() {
        return Err(LegacySseError::ForeignEndpoint);
    }
    Ok(endpoint)
}

/// The `message` events as JSON-RPC messages. The stream ends at the first transport or parse error of
/// the SSE framing, which rmcp sees as the connection closing; an unreadable message is skipped.
fn server_messages<S, E>(events: S) -> impl Stream<Item = ServerJsonRpcMessage> + Send + 'static
where
    S: Stream<Item = Result<Event, SseError<E>>> + Send + 'static,
    E: Send + 'static,
{
    events.take_while(|event| std::future::ready(event.is_ok())).filter_map(|event| {
        std::future::ready(match event {
            Ok(event) if event.event == "message" => match serde_json::from_str(&event.data) {
                Ok(message) => Some(message),
                Err(err) => {
                    tracing::warn!(error = %err, "mcp legacy sse message unreadable, skipped");
                    None
                }
            },
            _ => None,
        })
    })
}

/// A 2xx passes; 401/403 keep their challenge for rmcp's helpers.
fn check_status(response: &reqwest::Response) -> Result<(), LegacySseError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let challenge =
        response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Err(match status.as_u16() {
        401 => LegacySseError::Unauthorized(AuthRequiredError::new(challenge)),
        403 => LegacySseError::Forbidden(InsufficientScopeError::new(challenge, None)),
        other => LegacySseError::Status(other),
    })
}

fn with_headers(mut request: reqwest::RequestBuilder, headers: &AuthHeaders) -> reqwest::RequestBuilder {
    for (name, value) in headers {
        request = request.header(name.clone(), value.clone());
    }
    request
}

impl Transport<RoleClient> for LegacySse {
    type Error = LegacySseError;

    /// POSTs one message to the endpoint; the answer comes later as a `message` event.
    fn send(&mut self, item: ClientJsonRpcMessage) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let request = with_headers(self.http.post(self.endpoint.as_str()), &self.headers).json(&item);
        async move {
            let response = request.send().await.map_err(|e| LegacySseError::Request(e.without_url()))?;
            check_status(&response)
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ServerJsonRpcMessage>> + Send {
        self.messages.next()
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // The GET closes when the transport is dropped; the legacy protocol has no goodbye message.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_relative_endpoint_resolves_against_the_connector_url() {
        let base = Url::parse("http://127.0.0.1:9/sse").unwrap();
        assert_eq!(
            endpoint_url(&base, "/message?sessionId=1").unwrap().as_str(),
            "http://127.0.0.1:9/message?sessionId=1"
        );
        assert_eq!(endpoint_url(&base, "messages/").unwrap().as_str(), "http://127.0.0.1:9/messages/");
    }

    #[test]
    fn an_endpoint_on_another_origin_is_refused() {
        let base = Url::parse("http://127.0.0.1:9/sse").unwrap();
        assert!(endpoint_url(&base, "http://attacker.example/message").is_err());
        assert!(endpoint_url(&base, "//attacker.example/message").is_err());
        assert!(endpoint_url(&base, "http://127.0.0.1:10/message").is_err());
    }

    #[tokio::test]
    async fn only_message_events_become_messages_and_errors_end_the_stream() {
        let raw = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n\
                   event: ping\ndata: x\n\n\
                   event: message\ndata: not json\n\n\
                   event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";
        let bytes = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(raw))]);
        let messages: Vec<_> = server_messages(Events::new(bytes)).collect().await;
        assert_eq!(messages.len(), 2);
        assert!(matches!(messages[0], ServerJsonRpcMessage::Response(_)));
        assert!(matches!(messages[1], ServerJsonRpcMessage::Notification(_)));
    }
}
