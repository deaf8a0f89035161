//! OpenSearch retrieval through `POST /chat` (SPEC §5.6, §4.2 item 6; §11 items 61, 76–84): one
//! retrieve tool per active RAG connector, its hits as source chips, and nothing of the cluster's
//! address or credentials in the stream.

use serde_json::{Value, json};

use crate::peers::ai_sdk::check_ui_stream;
use crate::peers::opensearch::{self, INTERNAL_URL, OpenSearchPeer};
use crate::server::TestServer;
use crate::tool_loop::{ask, chunks, final_text, of_type, session};

fn kb(peer: &OpenSearchPeer) -> Value {
    kb_with(peer, json!({"bearer": "os-token"}), &["docs", "faq"])
}

/// A scope of one RAG connector `kb` on `peer`, with this auth and these indexes.
fn kb_with(peer: &OpenSearchPeer, auth: Value, indexes: &[&str]) -> Value {
    json!([{"descriptive_id": "kb", "name": "Handbook", "type": "rag", "default_active": true,
            "backend": "opensearch", "cluster": peer.url, "auth": auth, "indexes": indexes}])
}

#[actix_web::test]
async fn a_retrieve_call_searches_exactly_the_connectors_indexes_and_streams_source_chips() {
    // SPEC §11 #61, #76, #77, #79, #82
    let peer = opensearch::start().await;
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", ("openai", "gpt-4o"), kb(&peer)).await;
    let (status, _, body) =
        srv.chat(&jwt, &ask("c1", r#"call: kb__retrieve {"query": "rust", "top_k": 50, "indexes": ["secret"]}"#)).await;
    assert_eq!(status, 200);
    let checked = check_ui_stream(&body);
    assert_eq!(checked["ok"], true, "{checked}");

    let first = srv.llm.seen().into_iter().find_map(|s| s.body).unwrap();
    let tools = first["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "kb__retrieve");
    assert_eq!(tools[0]["parameters"]["required"], json!(["query"]));
    assert_eq!(tools[0]["parameters"]["properties"]["top_k"]["maximum"], 20);

    let searches: Vec<_> = peer.requests().into_iter().filter(|r| r.path.ends_with("/_search")).collect();
    assert_eq!(searches.len(), 1);
    assert_eq!(searches[0].path, "/docs,faq/_search");
    assert_eq!(searches[0].authorization.as_deref(), Some("Bearer os-token"));
    assert_eq!(searches[0].body.as_ref().unwrap()["size"], 20);

    let chunks = chunks(&body);
    let call_id = of_type(&chunks, "tool-input-start")[0]["toolCallId"].as_str().unwrap().to_owned();
    let sources = of_type(&chunks, "source-document");
    assert_eq!(sources.len(), 3);
    assert_eq!(sources[0]["sourceId"], format!("{call_id}:docs-doc-0"));
    assert_eq!(sources[0]["mediaType"], "text/plain");
    assert_eq!(sources[0]["title"], "Document 0 of docs");
    let meta = &sources[0]["providerMetadata"]["augchatd"];
    assert_eq!((meta["source_descriptive_id"].clone(), meta["index"].clone()), (json!("kb"), json!("docs")));
    assert_eq!(meta["doc_id"], "docs-doc-0");
    assert_eq!(meta["score"], 3.0);
    assert!(
        meta["snippet"].as_str().unwrap().starts_with("text_content: Passage 0")
            || meta["snippet"].as_str().unwrap().starts_with("Passage 0")
    );
    let assembled = checked["message"]["parts"].as_array().unwrap();
    assert_eq!(assembled.iter().filter(|p| p["type"] == "source-document").count(), 3);
    assert!(final_text(&checked).starts_with("Tool results: Top 3 hit(s):"));
    assert!(!body.contains(&peer.url) && !body.contains("os-token") && !body.contains("embedding"));
}

#[actix_web::test]
async fn zero_hits_and_a_failing_cluster_are_plain_tool_outputs() {
    // SPEC §4.5, §11 #83, #84
    let peer = opensearch::start().await;
    let srv = TestServer::start(|_, _| {}).await;
    let jwt = session(&srv, "u", ("anthropic", "claude-haiku-4-5"), kb(&peer)).await;
    let (_, _, body) = srv.chat(&jwt, &ask("c1", r#"call: kb__retrieve {"query": "nothing"}"#)).await;
    let outputs = chunks(&body);
    assert_eq!(of_type(&outputs, "tool-output-available")[0]["output"], "No results in indexes [docs, faq].");
    assert!(of_type(&outputs, "source-document").is_empty());

    peer.fail_with(Some(500));
    let (_, _, body) = srv.chat(&jwt, &ask("c2", r#"call: kb__retrieve {"query": "rust"}"#)).await;
    let outputs = chunks(&body);
    let output = of_type(&outputs, "tool-output-available")[0]["output"].as_str().unwrap().to_owned();
    assert!(output.starts_with("retrieval error: HTTP 500"), "{output}");
    assert!(!body.contains(INTERNAL_URL) && !body.contains(&peer.url), "{body}");
}

#[actix_web::test]
async fn two_sessions_with_disjoint_scopes_on_one_cluster_search_only_their_own_indexes_with_their_own_auth() {
    // SPEC §11 #81, through POST /chat: each session's connector, same descriptive id, same cluster.
    let peer = opensearch::start().await;
    let srv = TestServer::start(|_, _| {}).await;
    let scope = |auth: Value, indexes: &[&str]| kb_with(&peer, auth, indexes);
    let alice = session(&srv, "alice", ("openai", "gpt-4o"), scope(json!({"bearer": "alice-os"}), &["docs"])).await;
    let bob = session(
        &srv,
        "bob",
        ("openai", "gpt-4o"),
        scope(json!({"basic": {"username": "bob", "password": "pw"}}), &["faq"]),
    )
    .await;
    for jwt in [&alice, &bob, &alice] {
        let (status, _, body) =
            srv.chat(jwt, &ask("c1", r#"call: kb__retrieve {"query": "rust", "indexes": ["docs", "faq"]}"#)).await;
        assert_eq!(status, 200, "{body}");
    }
    let searches: Vec<(String, Option<String>)> = peer
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/_search"))
        .map(|r| (r.path, r.authorization))
        .collect();
    let basic = format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "bob:pw"));
    assert_eq!(
        searches,
        [
            ("/docs/_search".to_owned(), Some("Bearer alice-os".to_owned())),
            ("/faq/_search".to_owned(), Some(basic)),
            ("/docs/_search".to_owned(), Some("Bearer alice-os".to_owned())),
        ]
    );
}
