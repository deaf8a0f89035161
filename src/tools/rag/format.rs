//! OpenSearch hits into the model's tool output and the browser's source chips (SPEC §5.6).
//! Invariant: no vector reaches the output, whether or not the cluster honoured `_source.excludes`: the
//! known vector fields, the connector's neural field and every non-empty array of numbers are left out.
//! Every cut counts characters, never bytes, so multibyte text cannot split.

use serde_json::{Map, Value};

use super::request::VECTOR_FIELDS;
use super::{Hit, Retrieval};
use crate::tools::cut;

/// The fields searched, in order, for a hit's main text.
const TEXT_FIELDS: [&str; 6] = ["text_content", "text", "content", "body", "chunk", "passage"];
/// The fields searched, in order, for a chip title, at the top level and then under `metadata`.
const TITLE_FIELDS: [&str; 3] = ["title", "name", "item_name"];
/// The main text's budget in the model's context.
const MAX_TEXT_CHARS: usize = 1200;
/// The metadata's budget: it helps the model cite, it is not the passage.
const MAX_METADATA_CHARS: usize = 400;
/// A chip title fits on one line.
const MAX_TITLE_CHARS: usize = 80;
/// The chip's expanded view.
const MAX_SNIPPET_CHARS: usize = 300;
/// The output and chips for a `_search` answer; zero hits gives `No results in indexes [a, b].`.
/// `vector_field` is the connector's neural field, left out like the standard vector fields.
pub(super) fn retrieval(answer: &Value, indexes: &[String], vector_field: Option<&str>) -> Retrieval {
    let hits = answer.pointer("/hits/hits").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if hits.is_empty() {
        return Retrieval {
            output: format!("No results in indexes [{}].", indexes.join(", ")),
            hits: Vec::new(),
            failed: false,
        };
    }
    let no_source = Map::new();
    let mut blocks = Vec::with_capacity(hits.len());
    let mut chips = Vec::with_capacity(hits.len());
    for (position, hit) in hits.iter().enumerate() {
        let index = id_text(hit.get("_index"));
        let doc_id = id_text(hit.get("_id"));
        let score = hit.get("_score").and_then(Value::as_f64);
        let source = hit.get("_source").and_then(Value::as_object).unwrap_or(&no_source);
        let score_text = score.map_or_else(|| "?".to_owned(), |score| format!("{score:.3}"));
        blocks.push(format!(
            "[{}] index={index} id={doc_id} score={score_text}\n{}",
            position + 1,
            body(source, vector_field)
        ));
        chips.push(Hit { title: title(source, &doc_id), snippet: snippet(source), index, doc_id, score });
    }
    // "hit(s)" as SPEC §5.6 writes it: the text models were tuned on.
    Retrieval { output: format!("Top {} hit(s):\n\n{}", hits.len(), blocks.join("\n\n")), hits: chips, failed: false }
}

/// `_index` or `_id` as text; OpenSearch sends strings, a number is shown as written.
fn id_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => "?".to_owned(),
    }
}

/// The first non-empty text field, with its name.
fn main_text(source: &Map<String, Value>) -> Option<(&'static str, &str)> {
    TEXT_FIELDS.iter().find_map(|&field| non_empty(source.get(field)).map(|text| (field, text)))
}

/// A string value that is not empty.
fn non_empty(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|text| !text.is_empty())
}

/// One hit's lines: `<field>: <text>` (cut at 1200), then `metadata: <JSON of the rest>` (cut at 400).
fn body(source: &Map<String, Value>, vector_field: Option<&str>) -> String {
    let mut lines = Vec::with_capacity(2);
    let main = main_text(source);
    if let Some((field, text)) = main {
        lines.push(format!("{field}: {}", cut(text, MAX_TEXT_CHARS)));
    }
    let rest: Map<String, Value> = source
        .iter()
        .filter(|(key, value)| {
            main.is_none_or(|(field, _)| field != key.as_str())
                && !VECTOR_FIELDS.contains(&key.as_str())
                && vector_field != Some(key.as_str())
                && !is_number_array(value)
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if !rest.is_empty() {
        let json = Value::Object(rest).to_string();
        lines.push(format!("metadata: {}", cut(&json, MAX_METADATA_CHARS)));
    }
    lines.join("\n")
}

/// A non-empty array of numbers: an embedding under a name we do not know.
fn is_number_array(value: &Value) -> bool {
    value.as_array().is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_number))
}

/// The chip title: `title`, `name` or `item_name` at the top level, then under `metadata`, then the main
/// text; cut at 80. The doc id is the last resort, so a chip always has a label.
fn title(source: &Map<String, Value>, doc_id: &str) -> String {
    let top_level = TITLE_FIELDS.iter().find_map(|field| non_empty(source.get(*field)));
    let under_metadata = || {
        let metadata = source.get("metadata").and_then(Value::as_object)?;
        TITLE_FIELDS.iter().find_map(|field| non_empty(metadata.get(*field)))
    };
    let from_text = || main_text(source).map(|(_, text)| text);
    match top_level.or_else(under_metadata).or_else(from_text) {
        Some(text) => cut(text, MAX_TITLE_CHARS),
        None => doc_id.to_owned(),
    }
}

/// The chip snippet: the main text cut at 300, or empty.
fn snippet(source: &Map<String, Value>) -> String {
    main_text(source).map(|(_, text)| cut(text, MAX_SNIPPET_CHARS)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn indexes() -> Vec<String> {
        vec!["docs".into(), "faq".into()]
    }

    fn one_hit(source: Value) -> Value {
        json!({"hits": {"hits": [{"_index": "docs", "_id": "d1", "_score": 1.23456, "_source": source}]}})
    }

    fn output(source: Value) -> String {
        retrieval(&one_hit(source), &indexes(), None).output
    }

    fn chip(source: Value) -> Hit {
        retrieval(&one_hit(source), &indexes(), None).hits.remove(0)
    }

    #[test]
    fn zero_hits_name_the_searched_indexes() {
        // SPEC §11 #83.
        for answer in [json!({"hits": {"hits": []}}), json!({"hits": {}}), json!({})] {
            let result = retrieval(&answer, &indexes(), None);
            assert_eq!(result.output, "No results in indexes [docs, faq].");
            assert!(result.hits.is_empty());
        }
    }

    #[test]
    fn hits_are_numbered_with_index_id_and_a_three_decimal_score() {
        let answer = json!({"hits": {"hits": [
            {"_index": "docs", "_id": "a", "_score": 2.0, "_source": {"text": "first"}},
            {"_index": "faq", "_id": "b", "_score": 0.12345, "_source": {"text": "second"}}
        ]}});
        assert_eq!(
            retrieval(&answer, &indexes(), None).output,
            "Top 2 hit(s):\n\n[1] index=docs id=a score=2.000\ntext: first\n\n[2] index=faq id=b score=0.123\ntext: second"
        );
    }

    #[test]
    fn one_hit_is_singular_and_a_missing_score_is_a_question_mark() {
        let answer =
            json!({"hits": {"hits": [{"_index": "docs", "_id": "a", "_score": null, "_source": {"body": "b"}}]}});
        let result = retrieval(&answer, &indexes(), None);
        assert_eq!(result.output, "Top 1 hit(s):\n\n[1] index=docs id=a score=?\nbody: b");
        assert_eq!(result.hits[0].score, None);
    }

    #[test]
    fn the_first_non_empty_text_field_is_the_body() {
        assert_eq!(
            output(json!({"text_content": "", "text": "the text", "content": "not this"})),
            "Top 1 hit(s):\n\n[1] index=docs id=d1 score=1.235\ntext: the text\nmetadata: {\"content\":\"not this\",\"text_content\":\"\"}"
        );
        for field in TEXT_FIELDS {
            let text = output(json!({field: "x", "unrelated": 1}));
            assert!(text.contains(&format!("\n{field}: x\nmetadata: {{\"unrelated\":1}}")), "{text}");
        }
    }

    #[test]
    fn text_longer_than_1200_characters_is_cut_and_marked() {
        // SPEC §11 #85.
        let long = "é".repeat(1500);
        let text = output(json!({"text_content": long}));
        let body = text.split_once("\ntext_content: ").unwrap().1;
        assert_eq!(body, format!("{}… [truncated]", "é".repeat(1200)));
        let exact = output(json!({"text_content": "a".repeat(1200)}));
        assert!(exact.ends_with(&format!("text_content: {}", "a".repeat(1200))), "1200 characters fit");
    }

    #[test]
    fn vector_fields_and_number_arrays_never_reach_the_output() {
        // SPEC §11 #85.
        let text = output(json!({
            "text": "t", "embedding": [0.1, 0.2], "vector": [1], "_vector": [2], "embeddings": [[0.5]],
            "chunk_vec": [0.25, 0.75], "tags": ["a", "b"], "empty": [], "mixed": [1, "x"], "page": 3
        }));
        assert!(
            text.ends_with("\ntext: t\nmetadata: {\"empty\":[],\"mixed\":[1,\"x\"],\"page\":3,\"tags\":[\"a\",\"b\"]}"),
            "{text}"
        );
    }

    #[test]
    fn the_connectors_neural_field_is_left_out_too() {
        let answer = one_hit(json!({"text": "t", "passage_embedding": {"knn": "blob"}, "page": 1}));
        let text = retrieval(&answer, &indexes(), Some("passage_embedding")).output;
        assert!(text.ends_with("\ntext: t\nmetadata: {\"page\":1}"), "{text}");
    }

    #[test]
    fn metadata_is_cut_at_400_characters() {
        let text = output(json!({"text": "t", "note": "x".repeat(500)}));
        let metadata = text.split_once("\nmetadata: ").unwrap().1;
        assert_eq!(metadata, format!("{}… [truncated]", &format!("{{\"note\":\"{}", "x".repeat(500))[..400]));
    }

    #[test]
    fn a_hit_with_nothing_but_vectors_has_an_empty_body() {
        assert_eq!(output(json!({"embedding": [0.1]})), "Top 1 hit(s):\n\n[1] index=docs id=d1 score=1.235\n");
        let answer = json!({"hits": {"hits": [{"_index": "docs", "_id": "d1"}]}});
        assert_eq!(retrieval(&answer, &indexes(), None).output, "Top 1 hit(s):\n\n[1] index=docs id=d1 score=?\n");
    }

    #[test]
    fn chips_carry_index_doc_id_score_title_and_snippet() {
        // SPEC §11 #82.
        let hit = chip(json!({"title": "Leave policy", "text_content": "Employees get 25 days."}));
        assert_eq!(
            hit,
            Hit {
                index: "docs".into(),
                doc_id: "d1".into(),
                score: Some(1.23456),
                title: "Leave policy".into(),
                snippet: "Employees get 25 days.".into()
            }
        );
    }

    #[test]
    fn the_title_prefers_top_level_then_metadata_then_text_then_the_doc_id() {
        assert_eq!(chip(json!({"name": "N", "title": "", "metadata": {"title": "M"}, "text": "T"})).title, "N");
        assert_eq!(chip(json!({"item_name": "I", "metadata": {"title": "M"}})).title, "I");
        assert_eq!(chip(json!({"metadata": {"item_name": "Meta item"}, "text": "T"})).title, "Meta item");
        assert_eq!(chip(json!({"metadata": {"title": ""}, "chunk": "Chunk text"})).title, "Chunk text");
        assert_eq!(chip(json!({"title": 7, "page": 2})).title, "d1");
    }

    #[test]
    fn the_title_is_cut_at_80_and_the_snippet_at_300() {
        let hit = chip(json!({"text": "ü".repeat(400)}));
        assert_eq!(hit.title, format!("{}… [truncated]", "ü".repeat(80)));
        assert_eq!(hit.snippet, format!("{}… [truncated]", "ü".repeat(300)));
        assert_eq!(chip(json!({"title": "t"})).snippet, "");
    }

    #[test]
    fn cut_counts_characters_not_bytes() {
        assert_eq!(cut("日本語テキスト", 3), "日本語… [truncated]");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("", 0), "");
        assert_eq!(cut("a", 0), "… [truncated]");
    }
}
