//! The `connectors[]` array: common fields, then the MCP or RAG specifics (SPEC §2.1), in the
//! integrator's order.
//! Invariant: every `descriptive_id` that comes out is unique, `[a-zA-Z0-9_-]`, free of `__` and at most
//! [`MAX_DESCRIPTIVE_ID_LEN`] long, so `<descriptive_id>__<tool>` is a valid tool name (SPEC §5.3).
//! MCP URLs are http(s) only: no stdio connector can be described. Unknown connector keys are ignored.

use std::collections::HashSet;

use augchatd_actors::record::{Connector, ConnectorKind, NeuralSearch, ToolPolicy};
use serde_json::Value;

use super::FieldError;
use super::auth::{parse_mcp_auth, parse_rag_auth};
use super::fields::{
    Object, Query, as_filled_string, as_object, http_url, invalid, optional_bool, optional_string, present, quoted,
    required_bool, required_string, without_trailing_slash,
};

/// The longest `descriptive_id`. Providers cap tool names at 64 characters; 48 + `__` leaves 14 for
/// the MCP tool's own name, and `retrieve` (RAG) fits.
pub const MAX_DESCRIPTIVE_ID_LEN: usize = 48;

/// The longest tool name `allowed_tools` and `require_approval` may list: MCP servers name tools freely, but a
/// name past this could never be offered (providers cap the whole `<descriptive_id>__<tool>` at 64).
const MAX_TOOL_NAME_LEN: usize = 128;
/// The most names either list may hold.
const MAX_TOOL_NAMES: usize = 256;

/// The one RAG backend augchatd can query; pgvector is deferred (SPEC §2.1).
const RAG_BACKEND: &str = "opensearch";

/// Validates the `connectors` value alone (the body's field, or `DEMO_CONNECTORS`): absent (`null`)
/// gives no connectors, otherwise it must be an array of connector objects with unique ids.
pub fn parse_connectors(value: &Value) -> Result<Vec<Connector>, FieldError> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let entries = value.as_array().ok_or_else(|| invalid("connectors must be an array"))?;
    let mut seen = HashSet::new();
    let mut connectors = Vec::with_capacity(entries.len());
    for (position, entry) in entries.iter().enumerate() {
        let at = format!("connectors[{position}]");
        let connector = parse_connector(entry, &at)?;
        if !seen.insert(connector.descriptive_id.clone()) {
            return Err(invalid(format!("{at}: duplicate descriptive_id {}", quoted(&connector.descriptive_id))));
        }
        connectors.push(connector);
    }
    Ok(connectors)
}

/// One connector; `at` is its path, `connectors[i]`.
fn parse_connector(entry: &Value, at: &str) -> Result<Connector, FieldError> {
    let entry = entry.as_object().ok_or_else(|| invalid(format!("{at}: must be an object")))?;
    let descriptive_id = parse_descriptive_id(entry, at)?;
    let name = required_string(entry, "name", at)?.to_owned();
    let type_name = required_string(entry, "type", at)?;
    let default_active = required_bool(entry, "default_active", at)?;
    let description = optional_string(entry, "description", at)?.map(str::to_owned);
    let kind = match type_name {
        "mcp" => parse_mcp(entry, at)?,
        "rag" => parse_rag(entry, at)?,
        other => return Err(invalid(format!("{at}: unknown type {}", quoted(other)))),
    };
    Ok(Connector { descriptive_id, name, description, default_active, kind })
}

/// `descriptive_id`: the tool-name prefix, so it obeys the provider tool-name alphabet, and the UI
/// splits tool names on the first `__`, so it must not contain one.
fn parse_descriptive_id(entry: &Object, at: &str) -> Result<String, FieldError> {
    let id = required_string(entry, "descriptive_id", at)?;
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(invalid(format!("{at}.descriptive_id may contain only letters, digits, '_' and '-'")));
    }
    if id.contains("__") {
        return Err(invalid(format!("{at}.descriptive_id must not contain \"__\"")));
    }
    if id.len() > MAX_DESCRIPTIVE_ID_LEN {
        return Err(invalid(format!("{at}.descriptive_id must be at most {MAX_DESCRIPTIVE_ID_LEN} characters")));
    }
    Ok(id.to_owned())
}

/// The MCP specifics: `url`, `auth`, `read_only` (default true: only read-only tools unless told otherwise),
/// `allowed_tools` and `require_approval`.
fn parse_mcp(entry: &Object, at: &str) -> Result<ConnectorKind, FieldError> {
    let url_field = format!("{at}.url");
    let url = http_url(as_filled_string(present(entry, "url"), &url_field)?, &url_field, Query::Allowed)?;
    let auth = parse_mcp_auth(present(entry, "auth"), &format!("{at}.auth"))?;
    let read_only = optional_bool(entry, "read_only", at, true)?;
    let allowed = parse_tool_names(present(entry, "allowed_tools"), &format!("{at}.allowed_tools"))?;
    let approval = parse_tool_names(present(entry, "require_approval"), &format!("{at}.require_approval"))?;
    let tools = ToolPolicy::new(allowed, approval.unwrap_or_default()).map_err(|outside| FieldError {
        code: "approval_tool_not_allowed",
        detail: format!("{at}.require_approval names {} which allowed_tools leaves out", quoted(&outside.0)),
    })?;
    Ok(ConnectorKind::Mcp { url, auth, read_only, tools })
}

/// `allowed_tools` / `require_approval`: absent (or `null`) is `None`; otherwise an array of unique tool names
/// as the MCP server spells them (no `<descriptive_id>__` prefix). An empty `allowed_tools` offers no tool.
fn parse_tool_names(value: Option<&Value>, field: &str) -> Result<Option<Vec<String>>, FieldError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let names = value
        .as_array()
        .filter(|names| names.len() <= MAX_TOOL_NAMES)
        .ok_or_else(|| invalid(format!("{field} must be an array of at most {MAX_TOOL_NAMES} tool names")))?;
    let mut unique = Vec::with_capacity(names.len());
    for (position, name) in names.iter().enumerate() {
        let at = format!("{field}[{position}]");
        let name = as_filled_string(Some(name), &at)?;
        if name.chars().count() > MAX_TOOL_NAME_LEN || name.chars().any(char::is_control) {
            return Err(invalid(format!("{at} must be a tool name of at most {MAX_TOOL_NAME_LEN} characters")));
        }
        if unique.iter().any(|seen| seen == name) {
            return Err(invalid(format!("{at}: duplicate tool name {}", quoted(name))));
        }
        unique.push(name.to_owned());
    }
    Ok(Some(unique))
}

/// The RAG specifics: `backend`, `cluster`, `auth`, `indexes`, `language`, `neural`.
fn parse_rag(entry: &Object, at: &str) -> Result<ConnectorKind, FieldError> {
    match present(entry, "backend").map(|backend| backend.as_str()) {
        Some(Some(RAG_BACKEND)) => {}
        Some(Some(other)) => {
            return Err(invalid(format!("{at}: backend {} not supported (only \"opensearch\")", quoted(other))));
        }
        _ => return Err(invalid(format!("{at}.backend must be \"opensearch\""))),
    }
    let cluster_field = format!("{at}.cluster");
    let cluster = as_filled_string(present(entry, "cluster"), &cluster_field)?;
    let cluster = without_trailing_slash(http_url(cluster, &cluster_field, Query::Forbidden)?);
    let auth = parse_rag_auth(present(entry, "auth"), &format!("{at}.auth"))?;
    let indexes = parse_indexes(present(entry, "indexes"), &format!("{at}.indexes"))?;
    let language = optional_string(entry, "language", at)?.map(str::to_owned);
    let neural = parse_neural(present(entry, "neural"), &format!("{at}.neural"))?;
    Ok(ConnectorKind::Rag { cluster, auth, indexes, language, neural })
}

/// `neural` (optional): `{"model_id", "vector_field"}`, both non-empty, turning retrieval into a hybrid
/// BM25 + neural query (SPEC §5.6 [PROPOSAL] (a)). The SPEC leaves the shape to us (§12 decision 5).
/// `vector_field` becomes a query key and a `_source` exclude pattern, so a wildcard or a list there
/// would hide every field from the model instead of one: it must name a single field.
fn parse_neural(value: Option<&Value>, field: &str) -> Result<Option<NeuralSearch>, FieldError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let neural = as_object(Some(value), field)?;
    let model_id = required_string(neural, "model_id", field)?;
    let vector_field = required_string(neural, "vector_field", field)?;
    if vector_field.chars().any(|c| c.is_whitespace() || c.is_control() || c == '*' || c == ',') {
        return Err(invalid(format!("{field}.vector_field must name one field (no whitespace, '*' or ',')")));
    }
    Ok(Some(NeuralSearch { model_id: model_id.to_owned(), vector_field: vector_field.to_owned() }))
}

/// Why `name` cannot be one entry of a RAG connector's `indexes`, or `None` when it names exactly one
/// index. Provision applies it to every name; retrieval applies it again before a name goes on the wire.
pub fn index_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("must be a non-empty string");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control() || ",*/\\?#\"<>|:".contains(c)) {
        return Some("must not contain ',', '*', '/', whitespace or other reserved characters");
    }
    if name.eq_ignore_ascii_case("_all") || name.starts_with(['-', '_', '+']) || name == "." || name == ".." {
        return Some("must name a single index (no _all, no leading '-', '_' or '+')");
    }
    None
}

/// `indexes`: the complete list a query may touch. Each name becomes one element of the
/// comma-separated path `<cluster>/<a>,<b>/_search`, so anything that would widen it (a comma, a
/// wildcard, `_all`, a leading `-` or `_`) or leave the path segment (`/`, `?`, `#`) is refused.
fn parse_indexes(value: Option<&Value>, field: &str) -> Result<Vec<String>, FieldError> {
    let not_array = || invalid(format!("{field} must be a non-empty array of strings"));
    let names = value.and_then(Value::as_array).filter(|names| !names.is_empty()).ok_or_else(not_array)?;
    let mut indexes = Vec::with_capacity(names.len());
    for (position, name) in names.iter().enumerate() {
        let at = format!("{field}[{position}]");
        let name = as_filled_string(Some(name), &at)?;
        if let Some(problem) = index_name_problem(name) {
            return Err(invalid(format!("{at} {problem}")));
        }
        indexes.push(name.to_owned());
    }
    Ok(indexes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use augchatd_actors::record::RagAuth;
    use serde_json::json;

    use super::*;

    fn mcp() -> Value {
        json!({
            "descriptive_id": "crm", "name": "CRM", "type": "mcp", "default_active": true,
            "url": "https://mcp.example.com/mcp", "auth": {}
        })
    }

    fn rag() -> Value {
        json!({
            "descriptive_id": "kb", "name": "Knowledge base", "type": "rag", "default_active": false,
            "backend": "opensearch", "cluster": "https://os.example.com:9200/", "auth": {}, "indexes": ["docs", "faq"]
        })
    }

    fn one(entry: Value) -> Result<Connector, FieldError> {
        parse_connectors(&json!([entry])).map(|mut list| list.remove(0))
    }

    fn detail(entry: Value) -> String {
        one(entry).unwrap_err().detail
    }

    fn set(mut entry: Value, key: &str, value: Value) -> Value {
        entry[key] = value;
        entry
    }

    fn unset(mut entry: Value, key: &str) -> Value {
        entry.as_object_mut().unwrap().remove(key);
        entry
    }

    #[test]
    fn an_mcp_connector_parses_with_read_only_by_default() {
        let connector = one(mcp()).unwrap();
        assert_eq!(connector.descriptive_id, "crm");
        assert_eq!(connector.name, "CRM");
        assert_eq!(connector.type_name(), "mcp");
        assert!(connector.default_active);
        assert_eq!(connector.description, None);
        let ConnectorKind::Mcp { url, read_only, .. } = connector.kind else { unreachable!() };
        assert_eq!(url, "https://mcp.example.com/mcp");
        assert!(read_only);
    }

    #[test]
    fn read_only_false_is_kept() {
        let connector = one(set(mcp(), "read_only", json!(false))).unwrap();
        assert!(matches!(connector.kind, ConnectorKind::Mcp { read_only: false, .. }));
        assert_eq!(detail(set(mcp(), "read_only", json!("no"))), "connectors[0].read_only must be a boolean");
    }

    fn policy_of(connector: Connector) -> ToolPolicy {
        match connector.kind {
            ConnectorKind::Mcp { tools, .. } => tools,
            ConnectorKind::Rag { .. } => unreachable!(),
        }
    }

    #[test]
    fn without_tool_lists_every_tool_is_allowed_and_none_waits_for_approval() {
        let policy = policy_of(one(mcp()).unwrap());
        assert_eq!(policy, ToolPolicy::default());
        assert_eq!(policy_of(one(set(mcp(), "allowed_tools", json!(null))).unwrap()), ToolPolicy::default());
    }

    #[test]
    fn allowed_tools_and_require_approval_are_kept() {
        let entry =
            set(set(mcp(), "allowed_tools", json!(["search", "delete"])), "require_approval", json!(["delete"]));
        let policy = policy_of(one(entry).unwrap());
        assert!(policy.allows("search") && policy.allows("delete") && !policy.allows("drop"));
        assert!(policy.needs_approval("delete") && !policy.needs_approval("search"));
        let only_approval = policy_of(one(set(mcp(), "require_approval", json!(["delete"]))).unwrap());
        assert!(only_approval.allows("drop") && only_approval.needs_approval("delete"));
        assert!(!policy_of(one(set(mcp(), "allowed_tools", json!([]))).unwrap()).allows("search"));
    }

    #[test]
    fn tool_lists_must_be_arrays_of_unique_sane_names() {
        for (value, expected) in [
            (json!("search"), "connectors[0].allowed_tools must be an array of at most 256 tool names"),
            (json!(vec!["t"; 257]), "connectors[0].allowed_tools must be an array of at most 256 tool names"),
            (json!([""]), "connectors[0].allowed_tools[0] must be a non-empty string"),
            (json!(["a", 3]), "connectors[0].allowed_tools[1] must be a non-empty string"),
            (json!(["x".repeat(129)]), "connectors[0].allowed_tools[0] must be a tool name of at most 128 characters"),
            (json!(["a\nb"]), "connectors[0].allowed_tools[0] must be a tool name of at most 128 characters"),
            (json!(["a", "b", "a"]), "connectors[0].allowed_tools[2]: duplicate tool name \"a\""),
        ] {
            let err = one(set(mcp(), "allowed_tools", value.clone())).unwrap_err();
            assert_eq!((err.code, err.detail.as_str()), ("invalid_field", expected), "{value}");
        }
        let err = one(set(mcp(), "require_approval", json!(["a", "a"]))).unwrap_err();
        assert_eq!(err.detail, "connectors[0].require_approval[1]: duplicate tool name \"a\"");
    }

    #[test]
    fn approval_for_a_tool_that_allowed_tools_leaves_out_is_its_own_error() {
        let entry = set(set(mcp(), "allowed_tools", json!(["search"])), "require_approval", json!(["delete"]));
        let err = one(entry).unwrap_err();
        assert_eq!(
            (err.code, err.detail.as_str()),
            (
                "approval_tool_not_allowed",
                "connectors[0].require_approval names \"delete\" which allowed_tools leaves out"
            )
        );
    }

    #[test]
    fn a_rag_connector_parses_with_the_cluster_slash_stripped() {
        let connector = one(set(rag(), "language", json!("fr"))).unwrap();
        assert_eq!(connector.type_name(), "rag");
        let ConnectorKind::Rag { cluster, auth, indexes, language, neural } = connector.kind else { unreachable!() };
        assert_eq!(cluster, "https://os.example.com:9200");
        assert!(matches!(auth, RagAuth::None));
        assert_eq!(indexes, ["docs", "faq"]);
        assert_eq!(language.as_deref(), Some("fr"));
        assert_eq!(neural, None);
    }

    fn neural_of(connector: Connector) -> Option<NeuralSearch> {
        match connector.kind {
            ConnectorKind::Rag { neural, .. } => neural,
            ConnectorKind::Mcp { .. } => unreachable!(),
        }
    }

    #[test]
    fn neural_is_optional_and_null_means_absent() {
        assert_eq!(neural_of(one(rag()).unwrap()), None);
        assert_eq!(neural_of(one(set(rag(), "neural", json!(null))).unwrap()), None);
    }

    #[test]
    fn a_neural_block_with_model_id_and_vector_field_is_kept() {
        let neural = json!({"model_id": "aVeif4oB5Vm0Tdw8zYO2", "vector_field": "passage_embedding"});
        assert_eq!(
            neural_of(one(set(rag(), "neural", neural)).unwrap()),
            Some(NeuralSearch { model_id: "aVeif4oB5Vm0Tdw8zYO2".into(), vector_field: "passage_embedding".into() })
        );
    }

    #[test]
    fn neural_must_be_an_object() {
        for bad in [json!("model-1"), json!([]), json!(true)] {
            let err = one(set(rag(), "neural", bad)).unwrap_err();
            assert_eq!((err.code, err.detail.as_str()), ("invalid_field", "connectors[0].neural must be an object"));
        }
    }

    #[test]
    fn neural_needs_a_non_empty_model_id_and_vector_field() {
        for (neural, expected) in [
            (json!({"vector_field": "v"}), "connectors[0].neural.model_id must be a non-empty string"),
            (json!({"model_id": " ", "vector_field": "v"}), "connectors[0].neural.model_id must be a non-empty string"),
            (json!({"model_id": 7, "vector_field": "v"}), "connectors[0].neural.model_id must be a non-empty string"),
            (json!({"model_id": "m"}), "connectors[0].neural.vector_field must be a non-empty string"),
            (
                json!({"model_id": "m", "vector_field": ""}),
                "connectors[0].neural.vector_field must be a non-empty string",
            ),
        ] {
            let err = one(set(rag(), "neural", neural.clone())).unwrap_err();
            assert_eq!((err.code, err.detail.as_str()), ("invalid_field", expected), "{neural}");
        }
    }

    #[test]
    fn the_neural_vector_field_must_name_a_single_field() {
        for bad in ["*", "emb*", "a,b", "a b", "a\nb"] {
            let err = one(set(rag(), "neural", json!({"model_id": "m", "vector_field": bad}))).unwrap_err();
            assert_eq!(
                err.detail, "connectors[0].neural.vector_field must name one field (no whitespace, '*' or ',')",
                "{bad}"
            );
        }
        assert!(one(set(rag(), "neural", json!({"model_id": "m", "vector_field": "doc.embedding"}))).is_ok());
    }

    #[test]
    fn neural_is_not_read_on_mcp_connectors() {
        // Unknown connector keys are ignored, and `neural` is a RAG key.
        assert!(one(set(mcp(), "neural", json!("anything"))).is_ok());
    }

    #[test]
    fn absent_connectors_mean_none_but_other_shapes_are_rejected() {
        assert!(parse_connectors(&json!(null)).unwrap().is_empty());
        assert!(parse_connectors(&json!([])).unwrap().is_empty());
        assert_eq!(parse_connectors(&json!("[]")).unwrap_err().detail, "connectors must be an array");
        assert_eq!(parse_connectors(&json!([1])).unwrap_err().detail, "connectors[0]: must be an object");
    }

    #[test]
    fn the_integrators_order_is_kept() {
        let list = parse_connectors(&json!([rag(), mcp()])).unwrap();
        let ids: Vec<_> = list.iter().map(|c| c.descriptive_id.as_str()).collect();
        assert_eq!(ids, ["kb", "crm"]);
    }

    #[test]
    fn an_unknown_type_is_rejected() {
        // SPEC §11 #15.
        let err = one(set(mcp(), "type", json!("ftp"))).unwrap_err();
        assert_eq!((err.code, err.detail.as_str()), ("invalid_field", "connectors[0]: unknown type \"ftp\""));
        assert_eq!(detail(unset(mcp(), "type")), "connectors[0].type must be a non-empty string");
    }

    #[test]
    fn a_duplicate_descriptive_id_is_rejected() {
        // SPEC §11 #16.
        let err = parse_connectors(&json!([mcp(), rag(), set(rag(), "descriptive_id", json!("crm"))])).unwrap_err();
        assert_eq!(err.detail, "connectors[2]: duplicate descriptive_id \"crm\"");
    }

    #[test]
    fn a_backend_other_than_opensearch_is_rejected() {
        // SPEC §11 #17.
        assert_eq!(
            detail(set(rag(), "backend", json!("pgvector"))),
            "connectors[0]: backend \"pgvector\" not supported (only \"opensearch\")"
        );
        assert_eq!(detail(unset(rag(), "backend")), "connectors[0].backend must be \"opensearch\"");
        assert_eq!(detail(set(rag(), "backend", json!(1))), "connectors[0].backend must be \"opensearch\"");
    }

    #[test]
    fn an_mcp_connector_without_url_is_rejected() {
        // SPEC §11 #18.
        assert_eq!(detail(unset(mcp(), "url")), "connectors[0].url must be a non-empty string");
        assert_eq!(detail(set(mcp(), "url", json!(""))), "connectors[0].url must be a non-empty string");
    }

    #[test]
    fn a_rag_connector_without_indexes_cluster_or_auth_is_rejected() {
        // SPEC §11 #18.
        assert_eq!(detail(unset(rag(), "indexes")), "connectors[0].indexes must be a non-empty array of strings");
        assert_eq!(detail(unset(rag(), "cluster")), "connectors[0].cluster must be a non-empty string");
        assert_eq!(detail(unset(rag(), "auth")), "connectors[0].auth must be an object");
    }

    #[test]
    fn an_mcp_connector_without_auth_is_rejected() {
        assert_eq!(detail(unset(mcp(), "auth")), "connectors[0].auth must be an object");
        assert_eq!(detail(set(mcp(), "auth", json!("token"))), "connectors[0].auth must be an object");
    }

    #[test]
    fn a_non_http_mcp_url_is_rejected() {
        // SPEC §11 #19: no stdio connector can be described.
        for bad in ["stdio:./server.js", "file:///usr/bin/mcp", "ws://h/mcp", "npx @mcp/server"] {
            let err = one(set(mcp(), "url", json!(bad))).unwrap_err();
            assert_eq!(err.detail, "connectors[0].url must be an absolute http:// or https:// URL", "{bad}");
        }
        assert!(one(set(mcp(), "url", json!("http://localhost:3001/mcp"))).is_ok());
    }

    #[test]
    fn a_non_http_cluster_is_rejected() {
        assert_eq!(
            detail(set(rag(), "cluster", json!("os.example.com:9200"))),
            "connectors[0].cluster must be an absolute http:// or https:// URL"
        );
    }

    #[test]
    fn descriptive_id_must_be_a_non_empty_string() {
        for bad in [json!(null), json!(""), json!(3)] {
            assert_eq!(
                detail(set(mcp(), "descriptive_id", bad)),
                "connectors[0].descriptive_id must be a non-empty string"
            );
        }
    }

    #[test]
    fn descriptive_id_must_use_the_tool_name_alphabet() {
        for bad in ["a.b", "a b", "a/b", "é", "a:b"] {
            let err = one(set(mcp(), "descriptive_id", json!(bad))).unwrap_err();
            assert!(err.detail.starts_with("connectors[0].descriptive_id may contain only"), "{bad}");
        }
        assert!(one(set(mcp(), "descriptive_id", json!("Rag_internal-2"))).is_ok());
    }

    #[test]
    fn descriptive_id_must_not_contain_a_double_underscore() {
        assert_eq!(
            detail(set(mcp(), "descriptive_id", json!("a__b"))),
            "connectors[0].descriptive_id must not contain \"__\""
        );
    }

    #[test]
    fn descriptive_id_is_at_most_48_characters() {
        assert!(one(set(mcp(), "descriptive_id", json!("x".repeat(48)))).is_ok());
        assert_eq!(
            detail(set(mcp(), "descriptive_id", json!("x".repeat(49)))),
            "connectors[0].descriptive_id must be at most 48 characters"
        );
    }

    #[test]
    fn name_must_be_a_non_empty_string() {
        assert_eq!(detail(unset(mcp(), "name")), "connectors[0].name must be a non-empty string");
        assert_eq!(detail(set(rag(), "name", json!(""))), "connectors[0].name must be a non-empty string");
    }

    #[test]
    fn default_active_is_a_required_boolean() {
        assert_eq!(detail(unset(mcp(), "default_active")), "connectors[0].default_active must be a boolean");
        assert_eq!(
            detail(set(mcp(), "default_active", json!("true"))),
            "connectors[0].default_active must be a boolean"
        );
    }

    #[test]
    fn description_is_optional_but_non_empty_when_present() {
        assert_eq!(
            one(set(mcp(), "description", json!("Customer data"))).unwrap().description.as_deref(),
            Some("Customer data")
        );
        assert_eq!(one(set(mcp(), "description", json!(null))).unwrap().description, None);
        assert_eq!(
            detail(set(mcp(), "description", json!(""))),
            "connectors[0].description must be a non-empty string"
        );
    }

    #[test]
    fn language_is_optional_but_non_empty_when_present() {
        assert_eq!(detail(set(rag(), "language", json!(""))), "connectors[0].language must be a non-empty string");
    }

    #[test]
    fn indexes_must_be_a_non_empty_array_of_non_empty_strings() {
        let expected = "connectors[0].indexes must be a non-empty array of strings";
        assert_eq!(detail(set(rag(), "indexes", json!([]))), expected);
        assert_eq!(detail(set(rag(), "indexes", json!("docs"))), expected);
        assert_eq!(
            detail(set(rag(), "indexes", json!(["docs", ""]))),
            "connectors[0].indexes[1] must be a non-empty string"
        );
        assert_eq!(detail(set(rag(), "indexes", json!([7]))), "connectors[0].indexes[0] must be a non-empty string");
    }

    #[test]
    fn indexes_cannot_widen_the_search_scope() {
        for bad in
            ["a,b", "docs*", "*", "a/b", "a b", "a\tb", "_all", "_ALL", "-docs", "_cat", "a?b", "a#b", "remote:docs"]
        {
            let err = one(set(rag(), "indexes", json!(["ok", bad]))).unwrap_err();
            assert!(err.detail.starts_with("connectors[0].indexes[1] must"), "{bad}: {}", err.detail);
        }
        assert!(one(set(rag(), "indexes", json!(["logs-2024.01", "kb_v2"]))).is_ok());
    }

    #[test]
    fn the_index_name_rule_stands_alone_for_retrieval_to_reuse() {
        assert_eq!(index_name_problem("docs"), None);
        assert_eq!(index_name_problem(""), Some("must be a non-empty string"));
        assert!(index_name_problem("a,b").is_some_and(|problem| problem.starts_with("must not contain")));
        assert!(index_name_problem("_all").is_some_and(|problem| problem.starts_with("must name a single index")));
    }

    #[test]
    fn unknown_connector_keys_are_ignored() {
        assert!(one(set(mcp(), "icon", json!("crm.svg"))).is_ok());
    }

    #[test]
    fn the_first_bad_connector_is_reported_by_position() {
        let err = parse_connectors(&json!([mcp(), set(rag(), "type", json!("sql"))])).unwrap_err();
        assert_eq!(err.detail, "connectors[1]: unknown type \"sql\"");
    }
}
