//! MCP tools (SPEC §5.3–5.5): one client per session and connector, over streamable HTTP (rmcp) with a
//! fallback to legacy HTTP+SSE, offering the server's tools to the model and running its calls.
//! Invariant: a client belongs to one session and sends only that session's credentials, on every
//! request; it is never shared or keyed by URL (SPEC §5.4). Nothing here logs a URL, a header value or a
//! token, and no error text carries one. No stdio transport exists (SPEC §11 #75).
//!
//! - `headers`: the `auth` shapes → one header map.
//! - `catalog`: `read_only` filter, exposed names, descriptions.
//! - `result`: a `tools/call` result → the text the model reads.
//! - `errors`: rmcp errors → [`McpError`]; redaction of URLs and credentials.
//! - `legacy_sse`: the legacy HTTP+SSE transport.

mod catalog;
mod errors;
mod headers;
mod legacy_sse;
mod result;

use std::fmt;
use std::time::Duration;

use augchatd_actors::record::{Connector, ConnectorKind};
use futures_util::FutureExt;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CancelledNotificationParam, ClientCapabilities, ClientConfig,
    ClientRequest, Implementation, ProtocolVersion, RequestId,
};
use rmcp::service::{PeerRequestOptions, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{Peer, RoleClient, ServiceExt};

use self::errors::Redactor;
use self::headers::AuthHeaders;

/// The name augchatd gives itself in `initialize` (SPEC §5.3).
const CLIENT_NAME: &str = "augchatd";

/// One tool as offered to the model.
#[derive(Clone, Debug, PartialEq)]
pub struct McpTool {
    /// `<descriptive_id>__<tool name>`: what the model and the browser see.
    pub exposed_name: String,
    /// The server's name for it, used in `tools/call`.
    pub original_name: String,
    /// The tool's description, prefixed with the connector's when it has one.
    pub description: String,
    /// The tool's `inputSchema`, unchanged.
    pub input_schema: serde_json::Value,
}

/// Why an MCP connect or call failed; the caller handles each differently (SPEC §4.5, §5.5).
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The server answered HTTP 401: the session's credentials are no longer accepted.
    #[error("the MCP server refused the credentials")]
    Unauthorized,
    /// No answer within the deadline.
    #[error("the MCP server did not answer in time")]
    Timeout,
    /// The server answered the call with a JSON-RPC error; the connection is fine.
    #[error("{0}")]
    Tool(String),
    /// Anything else (transport, protocol); the text names no URL and no credential.
    #[error("MCP failure: {0}")]
    Failed(String),
}

/// A connected MCP server for one session (never shared across sessions). Dropping it stops the rmcp
/// service (its `DropGuard` cancels the worker), which closes the connection.
pub struct McpClient {
    descriptive_id: String,
    service: RunningService<RoleClient, ClientConfig>,
    tools: Vec<McpTool>,
    redactor: Redactor,
}

impl fmt::Debug for McpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tools: Vec<&str> = self.tools.iter().map(|tool| tool.exposed_name.as_str()).collect();
        f.debug_struct("McpClient").field("descriptive_id", &self.descriptive_id).field("tools", &tools).finish()
    }
}

impl McpClient {
    /// Connects (streamable HTTP first via rmcp; on a failure that is not 401/403, legacy HTTP+SSE), runs
    /// `initialize` and `tools/list`, filters and names the tools. The whole connect, both attempts
    /// included, is bounded by `timeout`. Logs the outcome (`mcp connected` / `mcp connect failed`).
    pub async fn connect(
        http: &reqwest::Client,
        connector: &Connector,
        timeout: Duration,
    ) -> Result<McpClient, McpError> {
        let connector_id = connector.descriptive_id.as_str();
        let outcome = match tokio::time::timeout(timeout, Self::connect_unbounded(http, connector)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(McpError::Timeout),
        };
        match &outcome {
            Ok(client) => tracing::info!(connector = connector_id, tools = client.tools.len(), "mcp connected"),
            Err(err) => tracing::warn!(connector = connector_id, error = %err, "mcp connect failed"),
        }
        outcome
    }

    async fn connect_unbounded(http: &reqwest::Client, connector: &Connector) -> Result<McpClient, McpError> {
        let ConnectorKind::Mcp { url, auth, read_only, tools } = &connector.kind else {
            return Err(McpError::Failed("not an MCP connector".to_owned()));
        };
        let redactor = Redactor::new(url, auth);
        let headers = headers::auth_headers(auth)?;
        let service = open(http, url, headers, &redactor).await?;
        let listed = service.list_all_tools().await.map_err(|err| errors::from_service(&err, &redactor))?;
        let catalog = catalog::catalog(connector, *read_only, tools, listed);
        if !catalog.not_allowed.is_empty() {
            tracing::info!(
                connector = %connector.descriptive_id,
                skipped = %catalog::summarize(&catalog.not_allowed),
                "mcp tools hidden by allowed_tools"
            );
        }
        if !catalog.not_read_only.is_empty() {
            tracing::info!(
                connector = %connector.descriptive_id,
                skipped = %catalog::summarize(&catalog.not_read_only),
                "mcp tools hidden by read_only"
            );
        }
        if !catalog.unnamable.is_empty() {
            tracing::info!(
                connector = %connector.descriptive_id,
                skipped = %catalog::summarize(&catalog.unnamable),
                "mcp tools hidden: name not usable by the model"
            );
        }
        Ok(McpClient { descriptive_id: connector.descriptive_id.clone(), service, tools: catalog.offered, redactor })
    }

    /// The tools offered to the model, in the server's order.
    pub fn tools(&self) -> &[McpTool] {
        &self.tools
    }

    /// `tools/call` with the server's own tool name; the result flattened per SPEC §5.3 (text items
    /// joined with `\n`, otherwise JSON). `isError` gets no special handling. Bounded by `timeout`;
    /// a call that runs out of time is cancelled on the server (`notifications/cancelled`).
    pub async fn call(
        &self,
        original_name: &str,
        input: serde_json::Value,
        timeout: Duration,
    ) -> Result<String, McpError> {
        let mut params = CallToolRequestParams::new(original_name.to_owned());
        match input {
            serde_json::Value::Object(arguments) => params = params.with_arguments(arguments),
            serde_json::Value::Null => {}
            _ => return Err(McpError::Failed("tool input must be a JSON object".to_owned())),
        }
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let outcome = tokio::time::timeout(timeout, async {
            let handle = self.service.send_cancellable_request(request, PeerRequestOptions::no_options()).await?;
            let abandon = CancelOnDrop { peer: handle.peer.clone(), id: Some(handle.id.clone()) };
            let response = handle.await_response().await;
            abandon.disarm();
            response
        })
        .await;
        match outcome {
            Err(_) => Err(McpError::Timeout),
            Ok(Err(err)) => Err(errors::from_service(&err, &self.redactor)),
            Ok(Ok(result)) => Ok(result::flatten(&result)),
        }
    }
}

/// Streamable HTTP first; legacy HTTP+SSE when that fails for a reason other than 401/403.
async fn open(
    http: &reqwest::Client,
    url: &str,
    headers: AuthHeaders,
    redactor: &Redactor,
) -> Result<RunningService<RoleClient, ClientConfig>, McpError> {
    let config = StreamableHttpClientTransportConfig::with_uri(url).custom_headers(headers.clone());
    let transport = StreamableHttpClientTransport::with_client(http.clone(), config);
    let streamable_err = match client_config().serve(transport).await {
        Ok(service) => return Ok(service),
        Err(err) => match errors::from_initialize(&err, redactor) {
            McpError::Unauthorized => return Err(McpError::Unauthorized),
            other => other,
        },
    };
    let legacy = match legacy_sse::open(http, url, headers).await {
        Ok(transport) => client_config().serve(transport).await.map_err(|err| errors::from_initialize(&err, redactor)),
        Err(err) if err.is_unauthorized() => Err(McpError::Unauthorized),
        Err(err) => Err(McpError::Failed(redactor.describe(&err))),
    };
    match legacy {
        Ok(service) => Ok(service),
        Err(McpError::Failed(legacy_err)) => {
            Err(McpError::Failed(format!("streamable HTTP: {}; legacy SSE: {legacy_err}", detail(&streamable_err))))
        }
        Err(other) => Err(other),
    }
}

fn detail(err: &McpError) -> String {
    match err {
        McpError::Failed(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `initialize` as augchatd, with no client capabilities, at the newest version that still has the
/// `initialize` handshake (a legacy server answers with its own older version).
fn client_config() -> ClientConfig {
    ClientConfig::new(ClientCapabilities::default(), Implementation::new(CLIENT_NAME, env!("CARGO_PKG_VERSION")))
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
}

/// Tells the server to stop a request whose caller stopped waiting (the call's deadline dropped the
/// future). Best effort and never blocking: the notice is queued only if rmcp's channel has room now.
struct CancelOnDrop {
    peer: Peer<RoleClient>,
    id: Option<RequestId>,
}

impl CancelOnDrop {
    fn disarm(mut self) {
        self.id = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let notice = CancelledNotificationParam::new(Some(id), Some("deadline exceeded".to_owned()));
            // One poll queues the notice; the send's own completion is not awaited (no task to own it).
            let _queued_or_dropped = self.peer.notify_cancelled(notice).now_or_never();
        }
    }
}
