//! RAG retrieval against a scripted OpenSearch (SPEC §5.6; §11 items 77–85): `tools::rag::retrieve` called
//! directly with a client built the way the daemon builds it.

use std::time::Duration;

use augchatd::tools::rag::{self, Retrieval};
use augchatd_actors::record::{BasicAuth, Connector, ConnectorKind, NeuralSearch, RagAuth};
use augchatd_actors::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::peers::opensearch::{self, INTERNAL_URL, SearchSeen};
use crate::server::install_crypto;

/// The daemon's client: reqwest without a bundled crypto provider, ring installed first, a connect deadline.
fn client() -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap()
}

fn connector(id: &str, cluster: &str, auth: RagAuth, indexes: &[&str]) -> Connector {
    Connector {
        descriptive_id: id.to_owned(),
        name: format!("KB {id}"),
        description: None,
        default_active: true,
        kind: ConnectorKind::Rag {
            cluster: cluster.to_owned(),
            auth,
            indexes: indexes.iter().map(|i| (*i).to_owned()).collect(),
            language: None,
            neural: None,
        },
    }
}

fn bearer(token: &str) -> RagAuth {
    RagAuth::Bearer(Secret::new(token))
}

fn only_search(requests: &[SearchSeen]) -> &SearchSeen {
    assert_eq!(requests.len(), 1, "{requests:?}");
    &requests[0]
}

fn bm25_body(query: &str, size: u64) -> Value {
    json!({"size": size,
           "_source": {"excludes": ["embedding", "vector", "_vector", "embeddings"]},
           "query": {"multi_match": {"query": query, "fields": ["text_content^2", "metadata.item_name"],
                                     "type": "best_fields", "minimum_should_match": "50%"}}})
}

#[actix_web::test]
async fn a_retrieve_call_posts_the_bm25_body_to_exactly_the_connectors_indexes() {
    // SPEC §11 #77, #78, #80.
    let peer = opensearch::start().await;
    let kb = connector("kb", &peer.url, bearer("tok"), &["docs", "faq"]);
    // The model tries to widen the scope; the schema has no such field and the path ignores it.
    let input = json!({"query": "vacation policy", "top_k": 3, "indexes": ["secrets", "*"], "index": "_all"});
    let out = rag::retrieve(&client(), &kb, &input).await;
    let requests = peer.requests();
    let seen = only_search(&requests);
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/docs,faq/_search");
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.body.as_ref().unwrap(), &bm25_body("vacation policy", 3));
    assert!(out.output.starts_with("Top 3 hit(s):\n\n[1] index=docs id=docs-doc-0 score=3.000\n"), "{}", out.output);
    for hit in &out.hits {
        assert!(["docs", "faq"].contains(&hit.index.as_str()), "{hit:?}");
    }
}

#[actix_web::test]
async fn bearer_auth_is_sent_as_an_authorization_header() {
    let peer = opensearch::start().await;
    let kb = connector("kb", &peer.url, bearer("rag-bearer-token"), &["docs"]);
    rag::retrieve(&client(), &kb, &json!({"query": "q"})).await;
    assert_eq!(only_search(&peer.requests()).authorization.as_deref(), Some("Bearer rag-bearer-token"));
}

#[actix_web::test]
async fn basic_auth_is_sent_as_base64_of_user_and_password() {
    let peer = opensearch::start().await;
    let auth = RagAuth::Basic(BasicAuth { username: Secret::new("reader"), password: Secret::new("s3cr3t:pw") });
    let kb = connector("kb", &peer.url, auth, &["docs"]);
    rag::retrieve(&client(), &kb, &json!({"query": "q"})).await;
    let expected = format!("Basic {}", STANDARD.encode("reader:s3cr3t:pw"));
    assert_eq!(only_search(&peer.requests()).authorization.as_deref(), Some(expected.as_str()));
}

#[actix_web::test]
async fn no_auth_sends_no_authorization_header() {
    let peer = opensearch::start().await;
    let kb = connector("kb", &peer.url, RagAuth::None, &["docs"]);
    rag::retrieve(&client(), &kb, &json!({"query": "q"})).await;
    assert_eq!(only_search(&peer.requests()).authorization, None);
}

#[actix_web::test]
async fn top_k_is_clamped_into_the_size_of_the_query() {
    // SPEC §11 #79.
    let peer = opensearch::start().await;
    let kb = connector("kb", &peer.url, RagAuth::None, &["docs"]);
    let http = client();
    for input in [
        json!({"query": "q", "top_k": 50}),
        json!({"query": "q", "top_k": 0}),
        json!({"query": "q"}),
        json!({"query": "q", "top_k": "7"}),
    ] {
        rag::retrieve(&http, &kb, &input).await;
    }
    let sizes: Vec<Value> = peer.requests().iter().map(|seen| seen.body.as_ref().unwrap()["size"].clone()).collect();
    assert_eq!(sizes, [json!(20), json!(1), json!(5), json!(5)]);
}

#[actix_web::test]
async fn zero_hits_say_no_results_in_the_connectors_indexes() {
    // SPEC §11 #83.
    let peer = opensearch::start().await;
    let kb = connector("kb", &peer.url, RagAuth::None, &["docs", "faq"]);
    let out = rag::retrieve(&client(), &kb, &json!({"query": "nothing at all"})).await;
    assert_eq!(out, Retrieval { output: "No results in indexes [docs, faq].".into(), hits: vec![], failed: false });
}

#[actix_web::test]
async fn an_opensearch_500_is_a_retrieval_error_without_the_internal_url() {
    // SPEC §11 #84; §4.3 URL scrubbing.
    let peer = opensearch::start().await;
    peer.fail_with(Some(500));
    let kb = connector("kb", &peer.url, bearer("tok-never-echoed"), &["docs"]);
    let out = rag::retrieve(&client(), &kb, &json!({"query": "q"})).await;
    assert!(out.output.starts_with("retrieval error: HTTP 500 "), "{}", out.output);
    assert!(out.output.contains("search_phase_execution_exception"), "{}", out.output);
    assert!(!out.output.contains(INTERNAL_URL) && !out.output.contains("internal.example"), "{}", out.output);
    assert!(!out.output.contains("127.0.0.1") && !out.output.contains(&peer.url), "{}", out.output);
    assert!(out.output.chars().count() <= "retrieval error: HTTP 500 ".len() + 200);
    assert!(out.hits.is_empty());

    peer.fail_with(None);
    let out = rag::retrieve(&client(), &kb, &json!({"query": "q"})).await;
    assert!(out.output.starts_with("Top "), "{}", out.output);
}

#[actix_web::test]
async fn an_unreachable_cluster_is_a_retrieval_error_without_its_address() {
    let kb = connector("kb", "http://127.0.0.1:1", bearer("tok"), &["docs"]);
    let out = rag::retrieve(&client(), &kb, &json!({"query": "q"})).await;
    assert_eq!(out.output, "retrieval error: could not connect to the search cluster");
    assert!(out.hits.is_empty());
}

#[actix_web::test]
async fn long_text_is_truncated_and_vectors_never_reach_the_llm() {
    // SPEC §11 #85.
    let peer = opensearch::start().await;
    let kb = connector("kb", &peer.url, RagAuth::None, &["docs"]);
    let out = rag::retrieve(&client(), &kb, &json!({"query": "a long one"})).await;
    let expected_text = format!("text_content: {}… [truncated]\n", "L".repeat(1200));
    assert!(out.output.contains(&expected_text), "{}", out.output);
    assert!(!out.output.contains(&"L".repeat(1201)));
    assert!(!out.output.contains("embedding") && !out.output.contains("chunk_vector"), "{}", out.output);
    assert!(!out.output.contains("0.125") && !out.output.contains("1.5"), "{}", out.output);
    assert_eq!(out.hits[0].snippet, format!("{}… [truncated]", "L".repeat(300)));
}

#[actix_web::test]
async fn hits_carry_index_doc_id_score_title_and_snippet() {
    // SPEC §11 #82 (the chip data; the chunk itself is the chat loop's).
    let peer = opensearch::start().await;
    let kb = connector("kb", &peer.url, RagAuth::None, &["docs", "faq"]);
    let out = rag::retrieve(&client(), &kb, &json!({"query": "leave", "top_k": 2})).await;
    assert_eq!(out.hits.len(), 2);
    let first = &out.hits[0];
    assert_eq!((first.index.as_str(), first.doc_id.as_str()), ("docs", "docs-doc-0"));
    assert_eq!(first.score, Some(3.0));
    assert_eq!(first.title, "Document 0 of docs");
    assert_eq!(first.snippet, "Passage 0 from docs about leave.");
    assert_eq!((out.hits[1].index.as_str(), out.hits[1].doc_id.as_str()), ("faq", "faq-doc-1"));
    assert_eq!(out.hits[1].score, Some(1.5));
    assert!(
        out.output.contains(
            "[2] index=faq id=faq-doc-1 score=1.500\ntext_content: Passage 1 from faq about leave.\n\
             metadata: {\"metadata\":{\"item_name\":\"Item 1\",\"page\":2},\"title\":\"Document 1 of faq\"}"
        ),
        "{}",
        out.output
    );

    let unscored = rag::retrieve(&client(), &kb, &json!({"query": "unscored"})).await;
    assert_eq!(unscored.hits[0].score, None);
    assert!(unscored.output.contains(" score=?\n"), "{}", unscored.output);
}

#[actix_web::test]
async fn a_neural_connector_sends_a_hybrid_query_through_a_temporary_pipeline() {
    // SPEC §5.6 [PROPOSAL] (a), §12 decision 5.
    let peer = opensearch::start().await;
    let mut kb = connector("kb", &peer.url, bearer("tok"), &["docs"]);
    if let ConnectorKind::Rag { neural, .. } = &mut kb.kind {
        *neural = Some(NeuralSearch { model_id: "model-abc".into(), vector_field: "passage_embedding".into() });
    }
    let out = rag::retrieve(&client(), &kb, &json!({"query": "remote work", "top_k": 4})).await;
    let requests = peer.requests();
    let seen = only_search(&requests);
    assert_eq!(seen.path, "/docs/_search");
    let expected = json!({
        "size": 4,
        "_source": {"excludes": ["embedding", "vector", "_vector", "embeddings", "passage_embedding"]},
        "query": {"hybrid": {"queries": [
            {"multi_match": {"query": "remote work", "fields": ["text_content^2", "metadata.item_name"],
                             "type": "best_fields", "minimum_should_match": "50%"}},
            {"neural": {"passage_embedding": {"query_text": "remote work", "model_id": "model-abc", "k": 4}}}
        ]}},
        "search_pipeline": {"phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": "min_max"}, "combination": {"technique": "arithmetic_mean"}}}]}
    });
    assert_eq!(seen.body.as_ref().unwrap(), &expected);
    assert!(out.output.starts_with("Top 3 hit(s):"), "{}", out.output);
}

#[actix_web::test]
async fn two_connectors_on_one_cluster_hit_disjoint_paths_with_their_own_credentials() {
    // SPEC §11 #81.
    let peer = opensearch::start().await;
    let alice = connector("hr", &peer.url, bearer("alice-token"), &["hr-policies"]);
    let bob_auth = RagAuth::Basic(BasicAuth { username: Secret::new("bob"), password: Secret::new("bob-pw") });
    let bob = connector("eng", &peer.url, bob_auth, &["eng-docs", "eng-faq"]);
    let http = client();
    let from_alice = rag::retrieve(&http, &alice, &json!({"query": "holidays"})).await;
    let from_bob = rag::retrieve(&http, &bob, &json!({"query": "holidays"})).await;

    let requests = peer.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/hr-policies/_search");
    assert_eq!(requests[0].authorization.as_deref(), Some("Bearer alice-token"));
    assert_eq!(requests[1].path, "/eng-docs,eng-faq/_search");
    assert_eq!(requests[1].authorization, Some(format!("Basic {}", STANDARD.encode("bob:bob-pw"))));
    assert!(from_alice.hits.iter().all(|hit| hit.index == "hr-policies"), "{:?}", from_alice.hits);
    assert!(from_bob.hits.iter().all(|hit| hit.index.starts_with("eng-")), "{:?}", from_bob.hits);
}

#[actix_web::test]
async fn the_cluster_answers_its_info_on_get_root() {
    // The peer's probe endpoint (SPEC §5.6 connect probe), so a later boot probe can be tested against it.
    let peer = opensearch::start().await;
    let info: Value = client().get(format!("{}/", peer.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["version"]["distribution"], "opensearch");
    assert_eq!(peer.requests()[0].method, "GET");
}
