//! The `POST /chat` body: `{"id": "<conversation_id>", "messages": [UIMessage…]}` checked in the
//! SPEC §2.4 order, and the client's thread turned into rows to store.
//! The server trusts the client's thread (SPEC §12 decision 17): a user can only rewrite their own
//! conversation. It still must be well-formed to be stored and replayed.

use augchatd_actors::ids::ConversationId;
use augchatd_actors::user_db::{Role, StoredMessage};
use serde_json::{Map, Value};

use crate::http::error::ApiError;

/// The longest message id a thread may carry.
const MAX_MESSAGE_ID_CHARS: usize = 200;

/// A validated chat request.
#[derive(Debug)]
pub struct ChatRequest {
    /// The conversation the turn belongs to.
    pub cid: ConversationId,
    /// The full thread, ending with the new user message.
    pub messages: Vec<StoredMessage>,
}

/// Checks `messages` before `id` (SPEC §2.4 steps 4 and 5), then each message's shape.
pub fn parse(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::InvalidJson);
    };
    let messages = match body.get("messages") {
        Some(Value::Array(list)) if !list.is_empty() => list,
        _ => return Err(ApiError::MissingMessages),
    };
    let cid = match body.get("id") {
        Some(Value::String(id)) if !id.is_empty() => {
            ConversationId::try_from(id.as_str()).map_err(|_| ApiError::InvalidConversationId)?
        }
        _ => return Err(ApiError::MissingConversationId),
    };
    let messages = messages.iter().enumerate().map(|(i, m)| message(i, m)).collect::<Result<_, _>>()?;
    Ok(ChatRequest { cid, messages })
}

fn message(index: usize, value: &Value) -> Result<StoredMessage, ApiError> {
    let bad = |what: &str| ApiError::InvalidMessages(format!("messages[{index}]: {what}"));
    let object: &Map<String, Value> = value.as_object().ok_or_else(|| bad("must be an object"))?;
    // Counted in characters, as the OpenAPI document's `maxLength` counts them; the id is only ever a
    // SQLite key and a JSON value, never part of a path.
    let id = match object.get("id") {
        Some(Value::String(id)) if !id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID_CHARS => id.clone(),
        _ => {
            return Err(bad("\"id\" must be a non-empty string of at most 200 characters"));
        }
    };
    let role = object
        .get("role")
        .and_then(Value::as_str)
        .and_then(Role::parse)
        .ok_or_else(|| bad("\"role\" must be \"user\", \"assistant\" or \"system\""))?;
    // Every UIMessage part is an object named by its `type`; anything else could not be replayed to the
    // model or rendered, so it is refused here rather than stored.
    let parts = match object.get("parts") {
        Some(parts @ Value::Array(items)) if items.iter().all(|p| p.get("type").is_some_and(Value::is_string)) => {
            parts.to_string()
        }
        _ => return Err(bad("\"parts\" must be an array of objects with a string \"type\"")),
    };
    let metadata_json = match object.get("metadata") {
        None | Some(Value::Null) => None,
        Some(meta @ Value::Object(_)) => Some(meta.to_string()),
        Some(_) => return Err(bad("\"metadata\" must be an object")),
    };
    Ok(StoredMessage { message_id: id, ordinal: 0, role, parts_json: parts, metadata_json })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn code(body: &str) -> String {
        parse(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn checks_follow_the_spec_order() {
        // SPEC §11 #44, #45, #46
        assert_eq!(code("not json"), "invalid_json");
        assert_eq!(code("[]"), "invalid_json");
        assert_eq!(code(r#"{"id":"c"}"#), "missing_messages");
        assert_eq!(code(r#"{"id":"c","messages":[]}"#), "missing_messages");
        assert_eq!(code(r#"{"id":"c","messages":{}}"#), "missing_messages");
        assert_eq!(code(r#"{"messages":[{}]}"#), "missing_conversation_id");
        assert_eq!(code(r#"{"id":"","messages":[{}]}"#), "missing_conversation_id");
        assert_eq!(code(r#"{"id":7,"messages":[{}]}"#), "missing_conversation_id");
        assert_eq!(code(r#"{"id":"../x","messages":[{}]}"#), "invalid_conversation_id");
        assert_eq!(code(r#"{"id":"c","messages":[{}]}"#), "invalid_messages");
        assert_eq!(code(r#"{"id":"c","messages":[{"id":"m","role":"tool","parts":[]}]}"#), "invalid_messages");
        let long_ids = [("é".repeat(200), true), ("é".repeat(201), false), ("a".repeat(201), false)];
        for (id, ok) in long_ids {
            let body = format!(r#"{{"id":"c","messages":[{{"id":"{id}","role":"user","parts":[]}}]}}"#);
            assert_eq!(parse(body.as_bytes()).is_ok(), ok, "{} characters", id.chars().count());
        }
        for parts in ["[null]", "[[]]", r#"[{"text":"x"}]"#, r#"[{"type":7}]"#, "{}"] {
            let body = format!(r#"{{"id":"c","messages":[{{"id":"m","role":"user","parts":{parts}}}]}}"#);
            assert_eq!(code(&body), "invalid_messages", "{parts}");
        }
    }

    #[test]
    fn a_valid_thread_keeps_parts_and_metadata_as_sent() {
        let body = r#"{"id":"c1","trigger":"submit-message","messages":[
            {"id":"u1","role":"user","parts":[{"type":"text","text":"hi"}],"metadata":{"custom":{}}}]}"#;
        let request = parse(body.as_bytes()).unwrap();
        assert_eq!(request.cid.as_str(), "c1");
        assert_eq!(request.messages[0].parts_json, r#"[{"text":"hi","type":"text"}]"#);
        assert_eq!(request.messages[0].metadata_json.as_deref(), Some(r#"{"custom":{}}"#));
    }
}
