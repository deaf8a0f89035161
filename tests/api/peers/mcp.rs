//! MCP servers on 127.0.0.1:0: a streamable-HTTP one (rmcp 3.11 behind a hyper auth check) and a legacy
//! HTTP+SSE one (rmcp 0.10 behind axum). Both record every HTTP request (JSON-RPC method, tool name,
//! `Authorization`, `X-Mcp-Client-Id`) for the tests' assertions.
//!
//! Streamable tools: `search {q}`, `whoami`, `slow` (sleeps an hour), `broken` (a JSON-RPC error),
//! `expired` (the HTTP wrapper answers 401) — all read-only; `delete_doc {id}` (destructive) and
//! `unannotated`. Legacy tools: `search {q}` (read-only).

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use tokio_util::sync::CancellationToken;

/// The `WWW-Authenticate` every refusal carries.
pub const MCP_CHALLENGE: &str = r#"Bearer realm="mcp", error="invalid_token""#;
/// The Basic credentials the streamable peer accepts.
pub const BASIC_USER: &str = "alice";
pub const BASIC_PASSWORD: &str = "wonder";
/// A request with this `X-Mcp-Client-Id` and no `Authorization` is accepted too.
pub const CLIENT_ID: &str = "client-7";

/// One HTTP request as the server saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct McpSeen {
    /// `GET`, `POST`, `DELETE`.
    pub http_method: String,
    /// The JSON-RPC `method` of the body, if it had one.
    pub rpc_method: Option<String>,
    /// `params.name` of a `tools/call`.
    pub tool: Option<String>,
    pub authorization: Option<String>,
    pub client_id: Option<String>,
}

pub struct McpPeer {
    /// `http://127.0.0.1:<port>/mcp` (streamable) or `…/sse` (legacy).
    pub url: String,
    seen: Arc<Mutex<Vec<McpSeen>>>,
    revoked: Arc<AtomicBool>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl McpPeer {
    /// Every HTTP request so far, in arrival order.
    pub fn seen(&self) -> Vec<McpSeen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many `tools/call` requests named `tool`.
    pub fn calls(&self, tool: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.rpc_method.as_deref() == Some("tools/call") && s.tool.as_deref() == Some(tool))
            .count()
    }

    /// From now on every request answers 401 + `WWW-Authenticate`.
    pub fn revoke(&self) {
        self.revoked.store(true, Ordering::SeqCst);
    }
}

impl Drop for McpPeer {
    fn drop(&mut self) {
        self.stop.cancel();
        self.task.abort();
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    q: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct DeleteArgs {
    #[allow(dead_code)]
    id: String,
}

#[derive(Clone)]
pub struct FakeDocs {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl FakeDocs {
    #[tool(description = "Search the fake docs", annotations(read_only_hint = true))]
    fn search(&self, Parameters(SearchArgs { q }): Parameters<SearchArgs>) -> String {
        format!("1 hit for {q:?}")
    }

    #[tool(description = "Who the server thinks you are", annotations(read_only_hint = true))]
    fn whoami(&self) -> String {
        "ok".to_owned()
    }

    #[tool(description = "Delete a document", annotations(destructive_hint = true))]
    fn delete_doc(&self, Parameters(_args): Parameters<DeleteArgs>) -> String {
        "deleted".to_owned()
    }

    #[tool(description = "A tool that says nothing about itself")]
    fn unannotated(&self) -> String {
        "unannotated".to_owned()
    }

    #[tool(description = "Never answers", annotations(read_only_hint = true))]
    async fn slow(&self) -> String {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        "finally".to_owned()
    }

    #[tool(description = "Always fails", annotations(read_only_hint = true))]
    fn broken(&self) -> Result<String, ErrorData> {
        Err(ErrorData::internal_error("index offline at http://internal.example:9200/docs", None))
    }

    #[tool(description = "Its call is refused with HTTP 401 by the wrapper", annotations(read_only_hint = true))]
    fn expired(&self) -> String {
        "unreachable".to_owned()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FakeDocs {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn header(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// What a request's headers and JSON-RPC body say.
fn observe(method: &http::Method, headers: &http::HeaderMap, body: &[u8]) -> McpSeen {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let rpc_method = json.as_ref().and_then(|j| j["method"].as_str()).map(str::to_owned);
    let tool = json
        .as_ref()
        .filter(|_| rpc_method.as_deref() == Some("tools/call"))
        .and_then(|j| j["params"]["name"].as_str())
        .map(str::to_owned);
    McpSeen {
        http_method: method.to_string(),
        rpc_method,
        tool,
        authorization: header(headers, "authorization"),
        client_id: header(headers, "x-mcp-client-id"),
    }
}

fn unauthorized() -> hyper::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>> {
    hyper::Response::builder()
        .status(401)
        .header("www-authenticate", MCP_CHALLENGE)
        .body(Full::new(Bytes::from_static(b"invalid token")).boxed())
        .unwrap()
}

/// Streamable HTTP on `/mcp`, accepting `Bearer <t>` for each of `tokens`, Basic alice:wonder, or a bare
/// `X-Mcp-Client-Id: client-7`.
pub async fn start(tokens: &[&str]) -> McpPeer {
    let tokens: Arc<Vec<String>> = Arc::new(tokens.iter().map(|t| format!("Bearer {t}")).collect());
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{BASIC_USER}:{BASIC_PASSWORD}")));
    let stop = CancellationToken::new();
    let mcp = StreamableHttpService::new(
        || Ok(FakeDocs { tool_router: FakeDocs::tool_router() }),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default().with_sse_keep_alive(None).with_cancellation_token(stop.child_token()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let revoked = Arc::new(AtomicBool::new(false));
    let (seen_by_server, revoked_for_server) = (Arc::clone(&seen), Arc::clone(&revoked));
    let task = tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let Ok((sock, _)) = listener.accept().await else { continue };
            let (mcp, tokens, basic) = (mcp.clone(), Arc::clone(&tokens), basic.clone());
            let (seen, revoked) = (Arc::clone(&seen_by_server), Arc::clone(&revoked_for_server));
            let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (mut mcp, tokens, basic) = (mcp.clone(), Arc::clone(&tokens), basic.clone());
                let (seen, revoked) = (Arc::clone(&seen), Arc::clone(&revoked));
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let observed = observe(&parts.method, &parts.headers, &body);
                    seen.lock().unwrap().push(observed.clone());
                    let accepted = match &observed.authorization {
                        Some(auth) => tokens.contains(auth) || *auth == basic,
                        None => observed.client_id.as_deref() == Some(CLIENT_ID),
                    };
                    if revoked.load(Ordering::SeqCst) || !accepted || observed.tool.as_deref() == Some("expired") {
                        return Ok::<_, Infallible>(unauthorized());
                    }
                    if parts.uri.path() != "/mcp" {
                        return Ok(hyper::Response::builder().status(404).body(Full::default().boxed()).unwrap());
                    }
                    let req = hyper::Request::from_parts(parts, Full::new(body));
                    tower_service::Service::call(&mut mcp, req).await
                }
            });
            let conn = http.serve_connection(TokioIo::new(sock), svc).into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    McpPeer { url, seen, revoked, stop, task }
}

/// A legacy HTTP+SSE server (GET `/sse`, POST `/message`) accepting only `Bearer <token>`.
pub async fn start_legacy(token: &str) -> McpPeer {
    use rmcp010::transport::sse_server::{SseServer, SseServerConfig};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let (sse, router) = SseServer::new(SseServerConfig {
        bind: addr,
        sse_path: "/sse".into(),
        post_path: "/message".into(),
        ct: stop.child_token(),
        sse_keep_alive: None,
    });
    let _service_ct = sse.with_service(|| LegacyDocs);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let revoked = Arc::new(AtomicBool::new(false));
    let guard =
        LegacyGuard { expected: format!("Bearer {token}"), seen: Arc::clone(&seen), revoked: Arc::clone(&revoked) };
    let app = router.layer(axum::middleware::from_fn(move |req, next| legacy_guard(guard.clone(), req, next)));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    McpPeer { url: format!("http://{addr}/sse"), seen, revoked, stop, task }
}

#[derive(Clone)]
struct LegacyGuard {
    expected: String,
    seen: Arc<Mutex<Vec<McpSeen>>>,
    revoked: Arc<AtomicBool>,
}

/// Records the request, then lets it through only with the expected bearer token.
async fn legacy_guard(
    guard: LegacyGuard,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;

    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let observed = observe(&parts.method, &parts.headers, &body);
    guard.seen.lock().unwrap().push(observed.clone());
    if guard.revoked.load(Ordering::SeqCst) || observed.authorization.as_deref() != Some(guard.expected.as_str()) {
        return (axum::http::StatusCode::UNAUTHORIZED, [("www-authenticate", MCP_CHALLENGE)]).into_response();
    }
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(body))).await
}

/// The legacy server's tools, written out by hand: rmcp 0.10's macros emit `rmcp::` paths, which resolve
/// to rmcp 3.11 under the renamed dependency.
#[derive(Clone)]
struct LegacyDocs;

impl rmcp010::ServerHandler for LegacyDocs {
    fn get_info(&self) -> rmcp010::model::ServerInfo {
        rmcp010::model::ServerInfo {
            capabilities: rmcp010::model::ServerCapabilities::builder().enable_tools().build(),
            ..Default::default()
        }
    }

    async fn list_tools(
        &self,
        _: Option<rmcp010::model::PaginatedRequestParam>,
        _: rmcp010::service::RequestContext<rmcp010::RoleServer>,
    ) -> Result<rmcp010::model::ListToolsResult, rmcp010::ErrorData> {
        let schema = serde_json::json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
        let mut search =
            rmcp010::model::Tool::new("search", "Search the legacy docs", schema.as_object().unwrap().clone());
        search.annotations = Some(rmcp010::model::ToolAnnotations::new().read_only(true));
        Ok(rmcp010::model::ListToolsResult::with_all_items(vec![search]))
    }

    async fn call_tool(
        &self,
        req: rmcp010::model::CallToolRequestParam,
        _: rmcp010::service::RequestContext<rmcp010::RoleServer>,
    ) -> Result<rmcp010::model::CallToolResult, rmcp010::ErrorData> {
        let q = req.arguments.as_ref().and_then(|a| a.get("q")).and_then(|v| v.as_str()).unwrap_or("");
        Ok(rmcp010::model::CallToolResult::success(vec![rmcp010::model::Content::text(format!("1 hit for {q:?}"))]))
    }
}
