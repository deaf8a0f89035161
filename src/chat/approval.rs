//! Tool approval (the AI SDK v6 protocol): a call of a tool its connector lists in `require_approval` does not
//! run in the turn that made it. The turn streams the call's input and a `tool-approval-request`, stores the
//! reply with the call waiting (`approval-requested`) and finishes without calling the model again. The browser
//! answers on its next `POST /chat`, whose last message is that reply with the call `approval-responded`; the
//! turn then continues the same assistant message: approved calls run, denied ones are reported to the model,
//! and the tool loop goes on.
//! Invariant: what runs is the call as augchatd stored it (tool name and input from the stored reply); only the
//! approve/deny bit and the reason come from the browser. An answer that matches no waiting call is refused.

use augchatd_actors::user_db::{Role, StoredMessage};
use serde_json::{Value, json};

use super::out::Out;
use super::step::{Call, Halt};
use super::{Turn, report, run_calls};
use crate::http::error::ApiError;
use crate::llm::Usage;
use crate::llm::transcript::{self, Item};
use crate::tools::set::ToolSet;

/// The longest denial reason kept; it goes to the model and into the stored thread.
const MAX_REASON_CHARS: usize = 500;
/// The states of a call that waits for an answer or has one that has not been acted on yet (a continuation
/// cut short before the call ran stores it `approval-responded`; the browser may answer it again).
const WAITING: [&str; 2] = ["approval-requested", "approval-responded"];

/// A stored reply continued after the user answered its approvals.
#[derive(Debug)]
pub struct Resumed {
    /// The stored reply's id: the continuation streams into the same assistant message.
    pub message_id: String,
    /// The stored reply's parts, each waiting call marked `approval-responded` with the user's answer.
    pub parts: Vec<Value>,
    /// The tokens the stored reply's model calls used, from its metadata: the continued message sums them too.
    pub usage: Usage,
    /// The waiting calls, in the reply's order, with the answers.
    decisions: Vec<Decision>,
}

/// One waiting call and the user's answer.
#[derive(Debug)]
struct Decision {
    call: Call,
    approved: bool,
}

/// Whether the thread's last message answers tool approvals, so it continues a stored reply.
pub fn answers(messages: &[StoredMessage]) -> bool {
    messages.last().is_some_and(|last| {
        last.role == Role::Assistant && parts(&last.parts_json).iter().any(|part| part["state"] == "approval-responded")
    })
}

/// Splits a thread whose last message answers approvals into the history before it and the stored reply it
/// continues. `stored` is the conversation as augchatd stored it; the answered reply must be its last message,
/// every answer must match one of its waiting calls (approval id and call id), and every waiting call must be
/// answered.
pub fn resume(
    mut messages: Vec<StoredMessage>,
    stored: &[StoredMessage],
) -> Result<(Vec<StoredMessage>, Resumed), ApiError> {
    let unknown = |what: &str| ApiError::UnknownApproval(format!("messages[{}]: {what}", messages.len() - 1));
    let Some(answered) = messages.last() else {
        return Err(ApiError::MissingMessages);
    };
    let reply = stored
        .last()
        .filter(|reply| reply.role == Role::Assistant && reply.message_id == answered.message_id)
        .ok_or_else(|| unknown("answers approvals, but it is not the conversation's last stored reply"))?;
    let mut stored_parts = parts(&reply.parts_json);
    let mut answered_at = vec![false; stored_parts.len()];
    for answer in parts(&answered.parts_json).iter().filter(|part| part["state"] == "approval-responded") {
        let (approval_id, call_id) = (answer["approval"]["id"].as_str(), answer["toolCallId"].as_str());
        let Some(approved) = answer["approval"]["approved"].as_bool() else {
            return Err(unknown("an approval answer needs a boolean approval.approved"));
        };
        let waiting = stored_parts.iter().position(|part| {
            WAITING.contains(&part["state"].as_str().unwrap_or_default())
                && part["approval"]["id"].as_str().is_some_and(|id| Some(id) == approval_id)
                && part["toolCallId"].as_str().is_some_and(|id| Some(id) == call_id)
        });
        let Some(index) = waiting.filter(|index| !answered_at[*index]) else {
            return Err(unknown("an approval answer matches no call waiting for approval"));
        };
        answered_at[index] = true;
        let mut approval = json!({"id": approval_id, "approved": approved});
        if let Some(reason) = answer["approval"]["reason"].as_str() {
            approval["reason"] = Value::String(reason.chars().take(MAX_REASON_CHARS).collect());
        }
        stored_parts[index]["state"] = json!("approval-responded");
        stored_parts[index]["approval"] = approval;
    }
    let mut decisions = Vec::new();
    for (index, part) in stored_parts.iter().enumerate() {
        if !WAITING.contains(&part["state"].as_str().unwrap_or_default()) {
            continue;
        }
        if !answered_at[index] {
            return Err(ApiError::MissingApproval(format!(
                "messages[{}]: every call waiting for approval needs an answer",
                messages.len() - 1
            )));
        }
        decisions.push(Decision { call: stored_call(part), approved: part["approval"]["approved"] == true });
    }
    let message_id = reply.message_id.clone();
    let usage = reply
        .metadata_json
        .as_deref()
        .and_then(|json| serde_json::from_str::<Value>(json).ok())
        .and_then(|metadata| serde_json::from_value(metadata["augchatd"]["usage"].clone()).ok())
        .unwrap_or_default();
    messages.pop();
    Ok((messages, Resumed { message_id, parts: stored_parts, usage, decisions }))
}

/// The call a stored tool part describes: `tool-<name>` (or `dynamic-tool` with `toolName`), its id and input.
fn stored_call(part: &Value) -> Call {
    let kind = part["type"].as_str().unwrap_or_default();
    let name = kind.strip_prefix("tool-").or_else(|| part["toolName"].as_str()).unwrap_or_default();
    let id = part["toolCallId"].as_str().unwrap_or_default();
    Call { id: id.to_owned(), name: name.to_owned(), input: Ok(part["input"].clone()) }
}

/// A message's parts; a stored or validated message always has an array.
fn parts(parts_json: &str) -> Vec<Value> {
    match serde_json::from_str(parts_json) {
        Ok(Value::Array(parts)) => parts,
        _ => Vec::new(),
    }
}

/// Sends a `tool-approval-request` for each of a step's calls that waits for the user, and returns their ids;
/// the loop runs the others. A call whose arguments were not JSON never runs, so it needs no approval.
pub(super) fn request(tools: &ToolSet, out: &mut Out, calls: &[Call]) -> Vec<String> {
    let mut waiting = Vec::new();
    for call in calls.iter().filter(|call| call.input.is_ok() && tools.needs_approval(&call.name)) {
        let approval_id = format!("approval-{}", uuid::Uuid::new_v4().simple());
        out.tool_approval_request(&call.id, &call.name, &approval_id);
        waiting.push(call.id.clone());
    }
    waiting
}

/// Acts on the answers before the continued turn calls the model: denied calls are reported (and audited),
/// approved ones run as stored and are reported like a step's (`report`: sources, a connector's 401 noted in
/// `unauthorized`). Returns the continued reply as transcript items, the calls with their results.
pub(super) async fn settle(
    turn: &Turn,
    out: &mut Out,
    resumed: &Resumed,
    unauthorized: &mut Vec<String>,
) -> Result<Vec<Item>, Halt> {
    for denied in resumed.decisions.iter().filter(|decision| !decision.approved) {
        turn.tools.denied(&denied.call.name);
        out.tool_denied(&denied.call.id, &denied.call.name);
    }
    let approved: Vec<Call> =
        resumed.decisions.iter().filter(|decision| decision.approved).map(|decision| decision.call.clone()).collect();
    let outcomes = run_calls(turn, out, &approved).await?;
    for (call, outcome) in approved.iter().zip(&outcomes) {
        report(turn, out, call, outcome, unauthorized);
    }
    let reply = StoredMessage {
        message_id: resumed.message_id.clone(),
        ordinal: 0,
        role: Role::Assistant,
        parts_json: out.parts().to_string(),
        metadata_json: None,
    };
    Ok(transcript::from_thread(&[reply], |name| turn.tools.offers(name)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn message(id: &str, role: Role, parts: Value) -> StoredMessage {
        StoredMessage { message_id: id.into(), ordinal: 0, role, parts_json: parts.to_string(), metadata_json: None }
    }

    fn waiting(call: &str, approval: &str, input: Value) -> Value {
        json!({"type": "tool-crm__delete", "toolCallId": call, "state": "approval-requested", "input": input,
            "approval": {"id": approval}})
    }

    fn answered(call: &str, approval: &str, approved: bool, input: Value) -> Value {
        json!({"type": "tool-crm__delete", "toolCallId": call, "state": "approval-responded", "input": input,
            "approval": {"id": approval, "approved": approved, "reason": "r"}})
    }

    fn stored() -> Vec<StoredMessage> {
        vec![
            message("u1", Role::User, json!([{"type": "text", "text": "delete it"}])),
            message(
                "a1",
                Role::Assistant,
                json!([{"type": "step-start"}, waiting("c1", "ap1", json!({"id": 7})), waiting("c2", "ap2", json!({}))]),
            ),
        ]
    }

    fn incoming(answers: Vec<Value>) -> Vec<StoredMessage> {
        let mut thread = stored();
        thread[1] = message("a1", Role::Assistant, Value::Array(answers));
        thread
    }

    fn code(result: Result<(Vec<StoredMessage>, Resumed), ApiError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn only_a_last_assistant_message_with_an_answer_resumes() {
        assert!(answers(&incoming(vec![answered("c1", "ap1", true, json!({}))])));
        assert!(!answers(&stored()));
        assert!(!answers(&[message("u", Role::User, json!([answered("c1", "ap1", true, json!({}))]))]));
    }

    #[test]
    fn the_stored_calls_run_whatever_input_the_browser_sent() {
        let thread = incoming(vec![
            answered("c1", "ap1", true, json!({"id": 666})),
            answered("c2", "ap2", false, json!({"id": 666})),
        ]);
        let mut stored = stored();
        stored[1].metadata_json = Some(r#"{"augchatd":{"usage":{"input_tokens":100,"output_tokens":5}}}"#.into());
        let (history, resumed) = resume(thread, &stored).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!((resumed.usage.input_tokens, resumed.usage.output_tokens), (100, 5));
        assert_eq!(resumed.message_id, "a1");
        let calls: Vec<_> =
            resumed.decisions.iter().map(|d| (d.call.id.as_str(), d.call.name.as_str(), d.approved)).collect();
        assert_eq!(calls, [("c1", "crm__delete", true), ("c2", "crm__delete", false)]);
        assert_eq!(resumed.decisions[0].call.input.as_ref().unwrap(), &json!({"id": 7}));
        assert_eq!(resumed.parts[1]["input"], json!({"id": 7}));
        assert_eq!(resumed.parts[1]["state"], "approval-responded");
        assert_eq!(resumed.parts[2]["approval"], json!({"id": "ap2", "approved": false, "reason": "r"}));
    }

    #[test]
    fn an_answer_that_matches_no_waiting_call_is_refused() {
        for answer in [
            answered("c1", "forged", true, json!({})),
            answered("c9", "ap1", true, json!({})),
            json!({"type": "tool-crm__delete", "toolCallId": "c1", "state": "approval-responded",
                "approval": {"id": "ap1", "approved": "yes"}}),
        ] {
            assert_eq!(
                code(resume(incoming(vec![answer.clone(), answered("c2", "ap2", true, json!({}))]), &stored())),
                "unknown_approval",
                "{answer}"
            );
        }
        let twice = vec![answered("c1", "ap1", true, json!({})), answered("c1", "ap1", false, json!({}))];
        assert_eq!(code(resume(incoming(twice), &stored())), "unknown_approval");
    }

    #[test]
    fn an_answer_to_a_reply_that_is_not_the_last_stored_one_is_refused() {
        let mut thread = incoming(vec![answered("c1", "ap1", true, json!({}))]);
        thread[1].message_id = "other".into();
        assert_eq!(code(resume(thread, &stored())), "unknown_approval");
        let done = vec![message(
            "a1",
            Role::Assistant,
            json!([{"type": "tool-crm__delete", "toolCallId": "c1",
            "state": "output-available", "input": {}, "output": "gone", "approval": {"id": "ap1", "approved": true}}]),
        )];
        let thread = incoming(vec![answered("c1", "ap1", true, json!({}))]);
        assert_eq!(code(resume(thread, &done)), "unknown_approval");
    }

    #[test]
    fn every_waiting_call_needs_an_answer() {
        let thread = incoming(vec![answered("c1", "ap1", true, json!({}))]);
        assert_eq!(code(resume(thread, &stored())), "missing_approval");
    }
}
