//! A `tools/call` result flattened into the one string the model reads (SPEC §5.3).
//! Invariant: `isError` changes nothing here; the model sees an error result like any other text.

use rmcp::model::{CallToolResult, ServerResult};
use serde_json::Value;

/// Every text item joined with `\n`; with no text item, the JSON of `content`; a legacy
/// `{"toolResult": …}` answer is the JSON of `toolResult`; any other answer is its JSON.
pub(super) fn flatten(result: &ServerResult) -> String {
    match result {
        ServerResult::CallToolResult(call) => flatten_content(call),
        ServerResult::CustomResult(custom) => match &custom.0 {
            Value::Object(fields) if fields.contains_key("toolResult") => json(&fields["toolResult"]),
            other => json(other),
        },
        other => json(other),
    }
}

fn flatten_content(call: &CallToolResult) -> String {
    let texts: Vec<&str> = call.content.iter().filter_map(|item| item.as_text()).map(|t| t.text.as_str()).collect();
    if texts.is_empty() { json(&call.content) } else { texts.join("\n") }
}

/// Compact JSON; serializing rmcp's own types cannot fail, and an empty string is the harmless fallback.
fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn flat(raw: Value) -> String {
        flatten(&serde_json::from_value::<ServerResult>(raw).unwrap())
    }

    // SPEC §11 #70
    #[test]
    fn text_items_are_joined_with_newlines() {
        let raw = json!({"content": [
            {"type": "text", "text": "first"},
            {"type": "image", "data": "aGk=", "mimeType": "image/png"},
            {"type": "text", "text": "second"}
        ]});
        assert_eq!(flat(raw), "first\nsecond");
    }

    #[test]
    fn content_without_text_is_its_json() {
        let raw = json!({"content": [{"type": "image", "data": "aGk=", "mimeType": "image/png"}]});
        let out: Value = serde_json::from_str(&flat(raw)).unwrap();
        assert_eq!(out, json!([{"type": "image", "data": "aGk=", "mimeType": "image/png"}]));
    }

    #[test]
    fn empty_content_is_an_empty_json_array() {
        assert_eq!(flat(json!({"content": [], "structuredContent": {"n": 1}})), "[]");
    }

    #[test]
    fn is_error_gets_no_special_handling() {
        let raw = json!({"content": [{"type": "text", "text": "no such doc"}], "isError": true});
        assert_eq!(flat(raw), "no such doc");
    }

    #[test]
    fn a_legacy_tool_result_is_its_json() {
        assert_eq!(flat(json!({"toolResult": {"hits": 3}})), r#"{"hits":3}"#);
    }

    #[test]
    fn anything_else_is_its_json() {
        assert_eq!(flat(json!({"answer": 42})), r#"{"answer":42}"#);
    }
}
