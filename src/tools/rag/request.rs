//! The outbound half of a retrieve call: the model's input parsed and clamped, the `_search` URL and the
//! query body (SPEC §5.6). Invariant: the path comes from the connector's index list alone; no input field
//! reaches it. Pure functions, no I/O.

use augchatd_actors::record::NeuralSearch;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

/// `top_k` when the model sends none, or something that is not an integer.
pub(super) const DEFAULT_TOP_K: u64 = 5;
/// The smallest `top_k`: asking for zero passages is never what the model meant.
pub(super) const MIN_TOP_K: u64 = 1;
/// The largest `top_k`: more passages would crowd the model's context for little gain.
pub(super) const MAX_TOP_K: u64 = 20;

/// Field names OpenSearch is asked to leave out of `_source`: embeddings are large and mean nothing to
/// the model. The formatter drops them again in case the cluster ignores the request.
pub(super) const VECTOR_FIELDS: [&str; 4] = ["embedding", "vector", "_vector", "embeddings"];

/// The bytes JavaScript's `encodeURIComponent` leaves as they are; the SPEC defines the path with it.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The model's validated tool input.
#[derive(Debug, PartialEq)]
pub(super) struct Search<'a> {
    /// The query text, as the model wrote it.
    pub query: &'a str,
    /// Clamped to [`MIN_TOP_K`, `MAX_TOP_K`].
    pub top_k: u64,
}

/// Reads `{"query", "top_k"?}`. Other keys are ignored rather than refused: the model cannot steer the
/// request with them, and a retry costs a turn step. The error is a phrase for `retrieval error: …`.
pub(super) fn parse_input(input: &Value) -> Result<Search<'_>, &'static str> {
    let query = input
        .get("query")
        .and_then(Value::as_str)
        .filter(|query| !query.trim().is_empty())
        .ok_or("the input needs a non-empty string \"query\"")?;
    Ok(Search { query, top_k: top_k(input.get("top_k")) })
}

/// `top_k` clamped to [1, 20]; absent, `null` or not an integer gives the default 5. A whole float
/// (`7.0`) counts as the integer it is, as JSON Schema's `integer` does.
pub(super) fn top_k(value: Option<&Value>) -> u64 {
    let Some(number) = value.and_then(Value::as_number) else {
        return DEFAULT_TOP_K;
    };
    if let Some(whole) = number.as_u64() {
        return whole.clamp(MIN_TOP_K, MAX_TOP_K);
    }
    if number.as_i64().is_some() {
        // A negative integer.
        return MIN_TOP_K;
    }
    match number.as_f64() {
        Some(float) if float.is_finite() && float.fract() == 0.0 => {
            // In range after the clamp, so the conversion is exact.
            float.clamp(MIN_TOP_K as f64, MAX_TOP_K as f64) as u64
        }
        _ => DEFAULT_TOP_K,
    }
}

/// `POST <cluster>/<encodeURIComponent(i) joined ",">/_search`; `cluster` has no trailing `/`.
pub(super) fn search_url(cluster: &str, indexes: &[String]) -> String {
    let path: Vec<String> = indexes.iter().map(|index| utf8_percent_encode(index, URI_COMPONENT).to_string()).collect();
    format!("{cluster}/{}/_search", path.join(","))
}

/// The `_search` body. Without `neural` it is exactly the BM25 body of SPEC §5.6 (the impl's). With it,
/// the same `multi_match` and a `neural` clause go into a `hybrid` query, whose scores only combine
/// through a `normalization-processor`; it is sent as a temporary pipeline in the body, so the integrator
/// need not create one. Shapes from the OpenSearch docs: "Hybrid query" (query-dsl/compound/hybrid),
/// "Neural query" (query-dsl/specialized/neural: `neural.<vector_field>.{query_text, model_id, k}`),
/// "Normalization processor" (search-pipelines/normalization-processor: `phase_results_processors`,
/// `min_max`, `arithmetic_mean`) and "Using a search pipeline" (search-pipelines/using-search-pipeline:
/// a `search_pipeline` object in the request body is a pipeline for that query only).
pub(super) fn body(query: &str, top_k: u64, neural: Option<&NeuralSearch>) -> Value {
    let multi_match = json!({"multi_match": {
        "query": query,
        "fields": ["text_content^2", "metadata.item_name"],
        "type": "best_fields",
        "minimum_should_match": "50%"
    }});
    let Some(neural) = neural else {
        return json!({"size": top_k, "_source": {"excludes": VECTOR_FIELDS}, "query": multi_match});
    };
    let mut excludes: Vec<&str> = VECTOR_FIELDS.to_vec();
    if !excludes.contains(&neural.vector_field.as_str()) {
        excludes.push(&neural.vector_field);
    }
    let mut vector_clause = Map::new();
    vector_clause
        .insert(neural.vector_field.clone(), json!({"query_text": query, "model_id": neural.model_id, "k": top_k}));
    json!({
        "size": top_k,
        "_source": {"excludes": excludes},
        "query": {"hybrid": {"queries": [multi_match, {"neural": vector_clause}]}},
        "search_pipeline": {"phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": "min_max"},
            "combination": {"technique": "arithmetic_mean"}
        }}]}
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn top_k_is_clamped_to_1_through_20() {
        // SPEC §11 #79.
        assert_eq!(top_k(Some(&json!(50))), 20);
        assert_eq!(top_k(Some(&json!(20))), 20);
        assert_eq!(top_k(Some(&json!(0))), 1);
        assert_eq!(top_k(Some(&json!(-3))), 1);
        assert_eq!(top_k(Some(&json!(u64::MAX))), 20);
        assert_eq!(top_k(Some(&json!(7))), 7);
    }

    #[test]
    fn a_missing_or_non_integer_top_k_gives_5() {
        // SPEC §11 #79.
        assert_eq!(top_k(None), 5);
        for value in [json!(null), json!("7"), json!(2.5), json!(true), json!([3]), json!({"n": 3})] {
            assert_eq!(top_k(Some(&value)), 5, "{value}");
        }
    }

    #[test]
    fn a_whole_float_top_k_counts_as_its_integer() {
        assert_eq!(top_k(Some(&json!(7.0))), 7);
        assert_eq!(top_k(Some(&json!(100.0))), 20);
        assert_eq!(top_k(Some(&json!(-1.0))), 1);
    }

    #[test]
    fn the_input_needs_a_non_empty_query() {
        assert_eq!(
            parse_input(&json!({"query": "vacation policy"})).unwrap(),
            Search { query: "vacation policy", top_k: 5 }
        );
        assert_eq!(parse_input(&json!({"query": "q", "top_k": 50})).unwrap().top_k, 20);
        for bad in
            [json!({}), json!({"query": ""}), json!({"query": "  "}), json!({"query": 3}), json!("q"), json!(null)]
        {
            assert_eq!(parse_input(&bad).unwrap_err(), "the input needs a non-empty string \"query\"", "{bad}");
        }
    }

    #[test]
    fn extra_input_keys_cannot_reach_the_path() {
        // SPEC §11 #80: an `indexes` key from the model is ignored, the URL is built from the connector alone.
        let input = json!({"query": "q", "indexes": ["secret"], "index": "secret"});
        assert_eq!(parse_input(&input).unwrap(), Search { query: "q", top_k: 5 });
    }

    #[test]
    fn the_url_joins_the_encoded_indexes_with_commas() {
        // SPEC §11 #77.
        let indexes = ["docs".to_owned(), "faq".to_owned()];
        assert_eq!(search_url("https://os.example:9200", &indexes), "https://os.example:9200/docs,faq/_search");
        assert_eq!(search_url("https://h/base", &["logs-2024.01".to_owned()]), "https://h/base/logs-2024.01/_search");
    }

    #[test]
    fn index_names_are_encoded_like_encode_uri_component() {
        let indexes = ["données".to_owned(), "a%b".to_owned(), "x'(y)!~".to_owned()];
        assert_eq!(search_url("http://h", &indexes), "http://h/donn%C3%A9es,a%25b,x'(y)!~/_search");
    }

    #[test]
    fn the_bm25_body_is_the_spec_body() {
        // SPEC §11 #78.
        let expected: Value = serde_json::from_str(
            r#"{"size": 7,
                "_source": {"excludes": ["embedding","vector","_vector","embeddings"]},
                "query": {"multi_match": {"query": "vacation policy", "fields": ["text_content^2","metadata.item_name"],
                                          "type": "best_fields", "minimum_should_match": "50%"}}}"#,
        )
        .unwrap();
        assert_eq!(body("vacation policy", 7, None), expected);
    }

    #[test]
    fn the_hybrid_body_adds_a_neural_clause_and_a_temporary_normalization_pipeline() {
        let neural = NeuralSearch { model_id: "m-1".into(), vector_field: "passage_embedding".into() };
        let expected: Value = serde_json::from_str(
            r#"{"size": 4,
                "_source": {"excludes": ["embedding","vector","_vector","embeddings","passage_embedding"]},
                "query": {"hybrid": {"queries": [
                    {"multi_match": {"query": "q", "fields": ["text_content^2","metadata.item_name"],
                                     "type": "best_fields", "minimum_should_match": "50%"}},
                    {"neural": {"passage_embedding": {"query_text": "q", "model_id": "m-1", "k": 4}}}
                ]}},
                "search_pipeline": {"phase_results_processors": [{"normalization-processor": {
                    "normalization": {"technique": "min_max"},
                    "combination": {"technique": "arithmetic_mean"}}}]}}"#,
        )
        .unwrap();
        assert_eq!(body("q", 4, Some(&neural)), expected);
    }

    #[test]
    fn a_vector_field_already_excluded_is_not_listed_twice() {
        let neural = NeuralSearch { model_id: "m".into(), vector_field: "embedding".into() };
        assert_eq!(body("q", 5, Some(&neural))["_source"]["excludes"], json!(VECTOR_FIELDS));
    }
}
