//! RAG retrieval: the `<descriptive_id>__retrieve` tool of one OpenSearch connector (SPEC §5.6).
//!
//! Invariant: a query only ever reaches `<cluster>/<the connector's indexes>/_search`; the model chooses
//! the query text and `top_k`, never an index. What the model reads back (the tool output) never holds the
//! cluster URL or a credential: upstream error bodies are scrubbed before they are quoted. A call never
//! fails: every problem becomes a `retrieval error: …` output. No timeout here; the caller bounds the call.
//!
//! # Layout
//! - `request`: the model's input (query, clamped `top_k`), the `_search` URL, the BM25 or hybrid body.
//! - `format`: OpenSearch hits into the model's text and the browser's source chips.
//! - `scrub`: upstream error text with URLs and credentials removed, cut on character boundaries.

mod format;
mod request;
mod scrub;

use augchatd_actors::record::{Connector, ConnectorKind, RagAuth};
use serde_json::{Value, json};

use crate::provision::index_name_problem;

/// The tool name suffix: the exposed name is "<descriptive_id>__retrieve".
pub const TOOL: &str = "retrieve";

/// The only backend a RAG connector can have today; it appears in the tool description.
const BACKEND: &str = "opensearch";

/// How much of an error body is read: enough for the 200 characters quoted, with room for URLs that
/// the scrub shortens, without buffering a proxy's multi-megabyte error page.
const ERROR_BODY_READ_LIMIT: usize = 8 * 1024;

/// One hit, for the browser's source chip.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The index the hit came from (`_index`); index names may reach the browser (SPEC §12 decision 22).
    pub index: String,
    /// The document id (`_id`).
    pub doc_id: String,
    /// The relevance score; `None` when OpenSearch sent none.
    pub score: Option<f64>,
    /// A short label: a title-like field, else the start of the text, else the doc id.
    pub title: String,
    /// The start of the document's text field, empty when it has none.
    pub snippet: String,
}

/// What one retrieve call produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Retrieval {
    /// The text the LLM sees as the tool result.
    pub output: String,
    /// The hits in rank order; empty on zero hits and on any error.
    pub hits: Vec<Hit>,
    /// The search did not run or did not answer (the output says why); zero hits is not a failure.
    pub failed: bool,
}

impl Retrieval {
    /// A failure: the error text as output, no hits.
    fn failure(output: impl Into<String>) -> Self {
        Self { output: output.into(), hits: Vec::new(), failed: true }
    }
}

/// The LLM-facing description of the retrieve tool, SPEC §5.6 word for word: the index names, then the
/// language instruction when `language` is set, then the integrator's `description` as corpus contents.
/// Only RAG connectors have this tool; any other connector would get an empty index list.
pub fn description(connector: &Connector) -> String {
    let (indexes, language): (&[String], Option<&str>) = match &connector.kind {
        ConnectorKind::Rag { indexes, language, .. } => (indexes, language.as_deref()),
        ConnectorKind::Mcp { .. } => (&[], None),
    };
    let mut text = format!(
        "Retrieve up to top_k passages from the \"{}\" knowledge base ({BACKEND} indexes: {}). Use this whenever \
         you need supporting facts or quotes from this corpus. Input is a natural-language query.",
        connector.name,
        indexes.join(", ")
    );
    if let Some(language) = language {
        text.push_str(&format!(
            " IMPORTANT: this corpus is in {language}. ALWAYS write the query in {language}, translating from the \
             user's language if needed. Lexical search will return zero results if the query language doesn't \
             match the corpus."
        ));
    }
    if let Some(contents) = &connector.description {
        text.push_str(&format!("\n\nCorpus contents: {contents}"));
    }
    text
}

/// The fixed input schema of SPEC §5.6: a required `query`, an optional `top_k` in [1, 20] defaulting to 5.
/// It has no index parameter, by design.
pub fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Natural-language search query."},
            "top_k": {
                "type": "integer",
                "minimum": request::MIN_TOP_K,
                "maximum": request::MAX_TOP_K,
                "default": request::DEFAULT_TOP_K,
                "description": "Maximum number of passages to return."
            }
        },
        "required": ["query"],
        "additionalProperties": false
    })
}

/// Runs one retrieve call for `connector` (must be ConnectorKind::Rag) with the model's tool input
/// (`{"query", "top_k"?}`). Never fails: HTTP errors, network errors and bad input become an output text
/// ("retrieval error: …") with no hits; the text never contains the cluster URL or credentials. No timeout
/// inside (the caller bounds it).
pub async fn retrieve(http: &reqwest::Client, connector: &Connector, input: &Value) -> Retrieval {
    let ConnectorKind::Rag { cluster, auth, indexes, neural, .. } = &connector.kind else {
        return Retrieval::failure("retrieval error: this connector is not a knowledge base");
    };
    // Provision already refuses these; checking again keeps a wildcard off the wire even if a
    // connector is ever built some other way.
    if indexes.is_empty() || indexes.iter().any(|index| index_name_problem(index).is_some()) {
        return Retrieval::failure("retrieval error: the connector's index list is not usable");
    }
    let search = match request::parse_input(input) {
        Ok(search) => search,
        Err(problem) => return Retrieval::failure(format!("retrieval error: {problem}")),
    };
    let body = request::body(search.query, search.top_k, neural.as_ref());
    let outbound = with_auth(http.post(request::search_url(cluster, indexes)), auth).json(&body);
    let connector_id = connector.descriptive_id.as_str();
    let response = match outbound.send().await {
        Ok(response) => response,
        Err(err) => {
            let text = transport_error_text(&err);
            // The URL is dropped so the log line names the connector, not the integrator's cluster.
            tracing::warn!(connector = connector_id, error = %err.without_url(), "rag search failed");
            return Retrieval::failure(text);
        }
    };
    let status = response.status();
    if !status.is_success() {
        let upstream = read_prefix(response, ERROR_BODY_READ_LIMIT).await;
        tracing::warn!(connector = connector_id, status = status.as_u16(), "rag search answered an error status");
        return Retrieval::failure(scrub::http_error(
            status.as_u16(),
            &upstream,
            &scrub::Redactions::new(cluster, auth),
        ));
    }
    match response.json::<Value>().await {
        Ok(answer) => format::retrieval(&answer, indexes, neural.as_ref().map(|neural| neural.vector_field.as_str())),
        Err(err) => {
            tracing::warn!(connector = connector_id, error = %err.without_url(), "rag search answer unreadable");
            Retrieval::failure("retrieval error: the search cluster sent an unreadable answer")
        }
    }
}

/// The connector's credentials on the request. `bearer_auth` and `basic_auth` mark the header
/// sensitive, so reqwest's own `Debug` output never shows it.
fn with_auth(request: reqwest::RequestBuilder, auth: &RagAuth) -> reqwest::RequestBuilder {
    match auth {
        RagAuth::None => request,
        RagAuth::Bearer(token) => request.bearer_auth(token.expose()),
        RagAuth::Basic(basic) => request.basic_auth(basic.username.expose(), Some(basic.password.expose())),
    }
}

/// A fixed text per failure class: reqwest's own message would carry the URL, and its source chain the
/// host name.
fn transport_error_text(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "retrieval error: the search cluster did not answer in time"
    } else if err.is_connect() {
        "retrieval error: could not connect to the search cluster"
    } else {
        "retrieval error: the request to the search cluster failed"
    }
}

/// Up to `limit` bytes of the body as text (lossy UTF-8); a body that breaks off keeps what arrived.
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(limit);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use augchatd_actors::record::BasicAuth;
    use augchatd_actors::secret::Secret;

    use super::*;

    fn connector(language: Option<&str>, description: Option<&str>) -> Connector {
        Connector {
            descriptive_id: "kb".into(),
            name: "Handbook".into(),
            description: description.map(str::to_owned),
            default_active: true,
            kind: ConnectorKind::Rag {
                cluster: "https://os.internal:9200".into(),
                auth: RagAuth::Basic(BasicAuth { username: Secret::new("u"), password: Secret::new("p") }),
                indexes: vec!["docs".into(), "faq".into()],
                language: language.map(str::to_owned),
                neural: None,
            },
        }
    }

    /// A client like the daemon's: reqwest is built without a crypto provider, so ring is installed first.
    fn client() -> reqwest::Client {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().build().unwrap()
    }

    const BASE: &str = "Retrieve up to top_k passages from the \"Handbook\" knowledge base (opensearch indexes: docs, \
                        faq). Use this whenever you need supporting facts or quotes from this corpus. Input is a \
                        natural-language query.";

    #[test]
    fn the_description_names_the_corpus_and_its_indexes() {
        assert_eq!(description(&connector(None, None)), BASE);
    }

    #[test]
    fn a_language_adds_the_query_language_instruction() {
        // SPEC §11 #86.
        let expected = format!(
            "{BASE} IMPORTANT: this corpus is in fr. ALWAYS write the query in fr, translating from the user's \
             language if needed. Lexical search will return zero results if the query language doesn't match the \
             corpus."
        );
        assert_eq!(description(&connector(Some("fr"), None)), expected);
    }

    #[test]
    fn a_description_is_appended_as_corpus_contents_after_the_language() {
        let text = description(&connector(Some("fr"), Some("HR policies")));
        assert!(text.starts_with(BASE));
        assert!(text.ends_with("match the corpus.\n\nCorpus contents: HR policies"), "{text}");
        assert_eq!(
            description(&connector(None, Some("HR policies"))),
            format!("{BASE}\n\nCorpus contents: HR policies")
        );
    }

    #[test]
    fn the_description_never_names_the_cluster() {
        assert!(!description(&connector(Some("fr"), Some("x"))).contains("os.internal"));
    }

    #[test]
    fn the_input_schema_is_the_fixed_one() {
        // SPEC §11 #76.
        let expected: Value = serde_json::from_str(
            r#"{"type":"object","properties":{"query":{"type":"string","description":"Natural-language search query."},"top_k":{"type":"integer","minimum":1,"maximum":20,"default":5,"description":"Maximum number of passages to return."}},"required":["query"],"additionalProperties":false}"#,
        )
        .unwrap();
        assert_eq!(input_schema(), expected);
    }

    #[test]
    fn the_tool_suffix_is_retrieve() {
        assert_eq!(format!("kb__{TOOL}"), "kb__retrieve");
    }

    #[tokio::test]
    async fn an_mcp_connector_is_refused_without_a_request() {
        let mcp = Connector {
            kind: ConnectorKind::Mcp {
                url: "http://127.0.0.1:1/mcp".into(),
                auth: Default::default(),
                read_only: true,
                tools: Default::default(),
            },
            ..connector(None, None)
        };
        let out = retrieve(&client(), &mcp, &json!({"query": "x"})).await;
        assert_eq!(out, Retrieval::failure("retrieval error: this connector is not a knowledge base"));
    }

    #[tokio::test]
    async fn bad_input_is_a_retrieval_error_before_any_request() {
        // The cluster is unroutable: reaching it would give a connect error instead.
        let out = retrieve(&client(), &connector(None, None), &json!({"top_k": 3})).await;
        assert_eq!(out.output, "retrieval error: the input needs a non-empty string \"query\"");
        assert!(out.hits.is_empty());
    }

    #[tokio::test]
    async fn a_wildcard_index_is_never_sent() {
        let mut wild = connector(None, None);
        if let ConnectorKind::Rag { indexes, .. } = &mut wild.kind {
            indexes.push("*".into());
        }
        let out = retrieve(&client(), &wild, &json!({"query": "x"})).await;
        assert_eq!(out.output, "retrieval error: the connector's index list is not usable");
    }
}
