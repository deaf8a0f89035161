//! `McpClient` against real MCP servers (SPEC §5.3–5.5; §11 items 62–70, 72–74): credentials on every
//! request, the read_only filter, naming, result flattening, and how each failure is classified.

use std::time::{Duration, Instant};

use augchatd::tools::mcp::{McpClient, McpError};
use augchatd_actors::record::{BasicAuth, Connector, ConnectorKind, McpAuth};
use augchatd_actors::secret::Secret;
use serde_json::json;

use crate::peers::mcp::{self, BASIC_PASSWORD, BASIC_USER, CLIENT_ID};
use crate::server::install_crypto;

/// Deadline for connects and calls that are expected to succeed.
const DEADLINE: Duration = Duration::from_secs(10);
/// Deadline for the calls and connects that are meant to run out of time.
const SHORT: Duration = Duration::from_millis(700);

/// A client built the way the daemon builds its shared one.
fn http() -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap()
}

fn bearer(token: &str) -> McpAuth {
    McpAuth { bearer: Some(Secret::new(token)), ..McpAuth::default() }
}

fn connector(url: &str, auth: McpAuth) -> Connector {
    Connector {
        descriptive_id: "docs".to_owned(),
        name: "Docs".to_owned(),
        description: None,
        default_active: true,
        kind: ConnectorKind::Mcp { url: url.to_owned(), auth, read_only: true, tools: Default::default() },
    }
}

fn writable(mut connector: Connector) -> Connector {
    if let ConnectorKind::Mcp { read_only, .. } = &mut connector.kind {
        *read_only = false;
    }
    connector
}

fn sorted_names(client: &McpClient) -> Vec<String> {
    let mut names: Vec<String> = client.tools().iter().map(|tool| tool.exposed_name.clone()).collect();
    names.sort();
    names
}

/// Polls `done` for up to 5 s.
async fn wait_for(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "condition not met within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn connected(url: &str, auth: McpAuth) -> McpClient {
    McpClient::connect(&http(), &connector(url, auth), DEADLINE).await.unwrap()
}

// SPEC §11 #63
#[actix_web::test]
async fn the_bearer_token_reaches_the_server_on_every_request() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = connected(&peer.url, bearer("tok-a")).await;
    assert_eq!(client.call("whoami", json!({}), DEADLINE).await.unwrap(), "ok");
    let seen = peer.seen();
    let methods: Vec<_> = seen.iter().filter_map(|s| s.rpc_method.as_deref()).collect();
    for expected in ["initialize", "notifications/initialized", "tools/list", "tools/call"] {
        assert!(methods.contains(&expected), "{expected} missing from {methods:?}");
    }
    assert!(seen.iter().all(|s| s.authorization.as_deref() == Some("Bearer tok-a")), "{seen:?}");
}

// SPEC §11 #64
#[actix_web::test]
async fn basic_auth_is_sent_as_base64_of_user_and_password() {
    let peer = mcp::start(&["tok-a"]).await;
    let auth = McpAuth {
        basic: Some(BasicAuth { username: Secret::new(BASIC_USER), password: Secret::new(BASIC_PASSWORD) }),
        ..McpAuth::default()
    };
    let client = connected(&peer.url, auth).await;
    assert_eq!(client.call("whoami", json!({}), DEADLINE).await.unwrap(), "ok");
    assert!(peer.seen().iter().all(|s| s.authorization.as_deref() == Some("Basic YWxpY2U6d29uZGVy")));
}

// SPEC §11 #65
#[actix_web::test]
async fn the_headers_shape_is_forwarded_verbatim() {
    let peer = mcp::start(&["tok-a"]).await;
    let auth = McpAuth { headers: vec![("X-Mcp-Client-Id".to_owned(), Secret::new(CLIENT_ID))], ..McpAuth::default() };
    let client = connected(&peer.url, auth).await;
    assert_eq!(client.call("whoami", json!({}), DEADLINE).await.unwrap(), "ok");
    let seen = peer.seen();
    assert!(seen.iter().all(|s| s.client_id.as_deref() == Some(CLIENT_ID) && s.authorization.is_none()), "{seen:?}");
}

// SPEC §11 #65: with bearer and headers both naming Authorization, the later shape wins, alone.
#[actix_web::test]
async fn an_authorization_in_headers_replaces_the_bearer() {
    let peer = mcp::start(&["tok-a"]).await;
    let auth = McpAuth {
        bearer: Some(Secret::new("tok-stale")),
        headers: vec![("Authorization".to_owned(), Secret::new("Bearer tok-a"))],
        ..McpAuth::default()
    };
    let client = connected(&peer.url, auth).await;
    assert_eq!(client.call("whoami", json!({}), DEADLINE).await.unwrap(), "ok");
    assert!(peer.seen().iter().all(|s| s.authorization.as_deref() == Some("Bearer tok-a")));
}

// SPEC §11 #62, #67
#[actix_web::test]
async fn read_only_by_default_offers_only_read_only_tools_named_id_double_underscore_tool() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = connected(&peer.url, bearer("tok-a")).await;
    assert_eq!(sorted_names(&client), ["docs__broken", "docs__expired", "docs__search", "docs__slow", "docs__whoami"]);
    let search = client.tools().iter().find(|tool| tool.original_name == "search").unwrap();
    assert_eq!(search.exposed_name, "docs__search");
    assert_eq!(search.description, "Search the fake docs");
    assert_eq!(search.input_schema["properties"]["q"]["type"], "string");
}

// SPEC §11 #68
#[actix_web::test]
async fn read_only_false_offers_all_seven_tools() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = McpClient::connect(&http(), &writable(connector(&peer.url, bearer("tok-a"))), DEADLINE).await.unwrap();
    assert_eq!(
        sorted_names(&client),
        [
            "docs__broken",
            "docs__delete_doc",
            "docs__expired",
            "docs__search",
            "docs__slow",
            "docs__unannotated",
            "docs__whoami"
        ]
    );
}

// SPEC §11 #69
#[actix_web::test]
async fn the_connector_description_prefixes_each_tool_description() {
    let peer = mcp::start(&["tok-a"]).await;
    let mut connector = connector(&peer.url, bearer("tok-a"));
    connector.description = Some("The team handbook".to_owned());
    let client = McpClient::connect(&http(), &connector, DEADLINE).await.unwrap();
    assert!(!client.tools().is_empty());
    for tool in client.tools() {
        assert!(tool.description.starts_with("[Docs: The team handbook]\n\n"), "{:?}", tool.description);
    }
    let search = client.tools().iter().find(|tool| tool.original_name == "search").unwrap();
    assert_eq!(search.description, "[Docs: The team handbook]\n\nSearch the fake docs");
}

// SPEC §11 #70
#[actix_web::test]
async fn a_call_returns_the_flattened_text() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = connected(&peer.url, bearer("tok-a")).await;
    let out = client.call("search", json!({"q": "rust"}), DEADLINE).await.unwrap();
    assert_eq!(out, r#"1 hit for "rust""#);
    assert_eq!(peer.calls("search"), 1);
}

// SPEC §11 #72
#[actix_web::test]
async fn a_tool_error_is_a_tool_error_and_names_no_url() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = connected(&peer.url, bearer("tok-a")).await;
    let err = client.call("broken", json!({}), DEADLINE).await.unwrap_err();
    let McpError::Tool(text) = &err else { panic!("expected Tool, got {err:?}") };
    assert!(text.contains("index offline"), "{text}");
    for leak in ["http://", "internal.example", "127.0.0.1", "tok-a"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[actix_web::test]
async fn a_tool_that_never_answers_times_out() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = connected(&peer.url, bearer("tok-a")).await;
    let started = Instant::now();
    let err = client.call("slow", json!({}), SHORT).await.unwrap_err();
    assert!(matches!(err, McpError::Timeout), "{err:?}");
    assert!(started.elapsed() < SHORT + Duration::from_secs(1), "{:?}", started.elapsed());
    // The connection is still usable afterwards, and the server was told to stop working on the call.
    assert_eq!(client.call("whoami", json!({}), DEADLINE).await.unwrap(), "ok");
    wait_for(|| peer.seen().iter().any(|s| s.rpc_method.as_deref() == Some("notifications/cancelled"))).await;
}

// SPEC §11 #71 (the client's half: a 401 is told apart from other failures)
#[actix_web::test]
async fn an_http_401_on_a_call_is_unauthorized() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = connected(&peer.url, bearer("tok-a")).await;
    let err = client.call("expired", json!({}), DEADLINE).await.unwrap_err();
    assert!(matches!(err, McpError::Unauthorized), "{err:?}");
}

#[actix_web::test]
async fn a_wrong_token_at_connect_is_unauthorized() {
    let peer = mcp::start(&["tok-a"]).await;
    let err = McpClient::connect(&http(), &connector(&peer.url, bearer("tok-wrong")), DEADLINE).await.unwrap_err();
    assert!(matches!(err, McpError::Unauthorized), "{err:?}");
}

#[actix_web::test]
async fn a_call_after_the_token_is_revoked_is_unauthorized() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = connected(&peer.url, bearer("tok-a")).await;
    peer.revoke();
    let err = client.call("search", json!({"q": "x"}), DEADLINE).await.unwrap_err();
    assert!(matches!(err, McpError::Unauthorized), "{err:?}");
}

// SPEC §11 #73 (the client's half: the failure is prompt and says nothing about the URL)
#[actix_web::test]
async fn an_unreachable_server_fails_promptly_without_naming_its_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let started = Instant::now();
    let err = McpClient::connect(&http(), &connector(&url, bearer("tok-a")), DEADLINE).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let McpError::Failed(text) = &err else { panic!("expected Failed, got {err:?}") };
    for leak in ["http://", "127.0.0.1", &port.to_string(), "tok-a"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[actix_web::test]
async fn a_server_that_accepts_but_never_answers_times_out() {
    // The kernel completes the handshake into the backlog; nobody ever reads the request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", silent.local_addr().unwrap());
    let started = Instant::now();
    let err = McpClient::connect(&http(), &connector(&url, bearer("tok-a")), SHORT).await.unwrap_err();
    assert!(matches!(err, McpError::Timeout), "{err:?}");
    assert!(started.elapsed() < SHORT + Duration::from_secs(1), "{:?}", started.elapsed());
}

// SPEC §11 #74
#[actix_web::test]
async fn a_legacy_sse_server_works_through_the_fallback() {
    let peer = mcp::start_legacy("tok-legacy").await;
    let client = connected(&peer.url, bearer("tok-legacy")).await;
    assert_eq!(sorted_names(&client), ["docs__search"]);
    let out = client.call("search", json!({"q": "rust"}), DEADLINE).await.unwrap();
    assert_eq!(out, r#"1 hit for "rust""#);
    assert_eq!(peer.calls("search"), 1);
    let seen = peer.seen();
    assert!(seen.iter().any(|s| s.http_method == "GET"), "{seen:?}");
    assert!(seen.iter().all(|s| s.authorization.as_deref() == Some("Bearer tok-legacy")), "{seen:?}");
}

#[actix_web::test]
async fn a_legacy_sse_server_refusing_the_token_is_unauthorized() {
    let peer = mcp::start_legacy("tok-legacy").await;
    let err = McpClient::connect(&http(), &connector(&peer.url, bearer("tok-wrong")), DEADLINE).await.unwrap_err();
    assert!(matches!(err, McpError::Unauthorized), "{err:?}");
}

#[actix_web::test]
async fn a_legacy_call_after_the_token_is_revoked_is_unauthorized() {
    let peer = mcp::start_legacy("tok-legacy").await;
    let client = connected(&peer.url, bearer("tok-legacy")).await;
    peer.revoke();
    let err = client.call("search", json!({"q": "x"}), DEADLINE).await.unwrap_err();
    assert!(matches!(err, McpError::Unauthorized), "{err:?}");
}

// SPEC §11 #66, §5.4
#[actix_web::test]
async fn two_clients_for_the_same_url_each_send_their_own_token() {
    let peer = mcp::start(&["tok-alice", "tok-bob"]).await;
    let alice = connected(&peer.url, bearer("tok-alice")).await;
    let bob = connected(&peer.url, bearer("tok-bob")).await;
    let (a, b) = tokio::join!(
        alice.call("search", json!({"q": "alice"}), DEADLINE),
        bob.call("search", json!({"q": "bob"}), DEADLINE)
    );
    assert_eq!(a.unwrap(), r#"1 hit for "alice""#);
    assert_eq!(b.unwrap(), r#"1 hit for "bob""#);
    let seen = peer.seen();
    let tokens: std::collections::HashSet<_> = seen.iter().filter_map(|s| s.authorization.as_deref()).collect();
    assert_eq!(tokens, ["Bearer tok-alice", "Bearer tok-bob"].into_iter().collect());
    assert_eq!(peer.calls("search"), 2);
}

#[actix_web::test]
async fn dropping_a_client_ends_its_mcp_session() {
    let peer = mcp::start(&["tok-a"]).await;
    let client = connected(&peer.url, bearer("tok-a")).await;
    drop(client);
    wait_for(|| peer.seen().iter().any(|s| s.http_method == "DELETE")).await;
    let delete = peer.seen().into_iter().find(|s| s.http_method == "DELETE").unwrap();
    assert_eq!(delete.authorization.as_deref(), Some("Bearer tok-a"));
}
