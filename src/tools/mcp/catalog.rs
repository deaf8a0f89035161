//! From a server's `tools/list` to the tools the model is offered (SPEC §5.3): the integrator's
//! `allowed_tools`, the `read_only` filter, the `<descriptive_id>__<tool>` name and the connector-prefixed
//! description.
//! Invariant: a tool outside `allowed_tools` never gets through; with `read_only`, only tools that say
//! `readOnlyHint: true` (and do not also say `destructiveHint: true`) do. Nothing here talks to the server.

use augchatd_actors::record::{Connector, ToolPolicy};
use rmcp::model::Tool;

use super::McpTool;

/// How many skipped tool names one log line lists before `…`.
const SKIPPED_NAMES_LOGGED: usize = 6;
/// Providers cap tool names at 64 characters (OpenAI; Anthropic allows more).
const MAX_TOOL_NAME_LEN: usize = 64;

/// The tools offered to the model, and the names of the ones held back, in server order.
#[derive(Debug, Default)]
pub(super) struct Catalog {
    /// Offered, named and described.
    pub offered: Vec<McpTool>,
    /// Left out by the connector's `allowed_tools`.
    pub not_allowed: Vec<String>,
    /// Hidden by `read_only` (unannotated, not read-only, or destructive).
    pub not_read_only: Vec<String>,
    /// Names a provider would refuse (`<id>__<tool>` too long or outside `[a-zA-Z0-9_-]`).
    pub unnamable: Vec<String>,
}

/// Sorts `tools` into offered and held back for `connector`.
pub(super) fn catalog(connector: &Connector, read_only: bool, policy: &ToolPolicy, tools: Vec<Tool>) -> Catalog {
    let mut catalog = Catalog::default();
    for tool in tools {
        let original_name = tool.name.to_string();
        if !policy.allows(&original_name) {
            catalog.not_allowed.push(original_name);
            continue;
        }
        if read_only && !is_read_only(&tool) {
            catalog.not_read_only.push(original_name);
            continue;
        }
        let exposed_name = format!("{}__{original_name}", connector.descriptive_id);
        if !is_provider_tool_name(&exposed_name) {
            catalog.unnamable.push(original_name);
            continue;
        }
        let description = describe(connector, &original_name, tool.description.as_deref());
        let input_schema = serde_json::Value::Object(tool.input_schema.as_ref().clone());
        catalog.offered.push(McpTool { exposed_name, original_name, description, input_schema });
    }
    catalog
}

/// `readOnlyHint: true`. A tool that also claims `destructiveHint: true` contradicts itself; it is
/// hidden, because `read_only` exists to keep writes away from the model.
fn is_read_only(tool: &Tool) -> bool {
    tool.annotations
        .as_ref()
        .is_some_and(|hints| hints.read_only_hint == Some(true) && hints.destructive_hint != Some(true))
}

/// A name every provider accepts, so one odd MCP tool cannot make the whole model call fail.
fn is_provider_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `[<name>: <description>]\n\n<tool description>` when the connector has a description; a tool without
/// one is `MCP tool <name> (via <descriptive_id>)`.
fn describe(connector: &Connector, tool_name: &str, tool_description: Option<&str>) -> String {
    let own = match tool_description.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => text.to_owned(),
        None => format!("MCP tool {tool_name} (via {})", connector.descriptive_id),
    };
    match &connector.description {
        Some(prefix) => format!("[{}: {prefix}]\n\n{own}", connector.name),
        None => own,
    }
}

/// `a, b, c, d, e, f, …`: at most [`SKIPPED_NAMES_LOGGED`] names, for a log field.
pub(super) fn summarize(names: &[String]) -> String {
    let mut listed = names.iter().take(SKIPPED_NAMES_LOGGED).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SKIPPED_NAMES_LOGGED {
        listed.push_str(", …");
    }
    listed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use augchatd_actors::record::{ConnectorKind, McpAuth};
    use serde_json::json;

    use super::*;

    fn connector(description: Option<&str>) -> Connector {
        Connector {
            descriptive_id: "docs".to_owned(),
            name: "Docs".to_owned(),
            description: description.map(str::to_owned),
            default_active: true,
            kind: ConnectorKind::Mcp {
                url: "https://mcp.example.com/mcp".to_owned(),
                auth: McpAuth::default(),
                read_only: true,
                tools: ToolPolicy::default(),
            },
        }
    }

    fn tool(name: &str, description: Option<&str>, annotations: serde_json::Value) -> Tool {
        let mut tool =
            json!({"name": name, "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}}});
        if let Some(description) = description {
            tool["description"] = json!(description);
        }
        if !annotations.is_null() {
            tool["annotations"] = annotations;
        }
        serde_json::from_value(tool).unwrap()
    }

    fn server_tools() -> Vec<Tool> {
        vec![
            tool("search", Some("Search the docs"), json!({"readOnlyHint": true})),
            tool("delete_doc", Some("Delete"), json!({"destructiveHint": true})),
            tool("unannotated", Some("?"), serde_json::Value::Null),
            tool("writer", None, json!({"readOnlyHint": false})),
            tool("odd", None, json!({"readOnlyHint": true, "destructiveHint": true})),
        ]
    }

    fn names(tools: &[McpTool]) -> Vec<&str> {
        tools.iter().map(|t| t.original_name.as_str()).collect()
    }

    // SPEC §11 #67
    #[test]
    fn read_only_offers_only_tools_hinted_read_only() {
        let catalog = catalog(&connector(None), true, &ToolPolicy::default(), server_tools());
        assert_eq!(names(&catalog.offered), ["search"]);
        assert_eq!(catalog.not_read_only, ["delete_doc", "unannotated", "writer", "odd"]);
    }

    // SPEC §11 #68
    #[test]
    fn read_only_false_offers_every_tool() {
        let catalog = catalog(&connector(None), false, &ToolPolicy::default(), server_tools());
        assert_eq!(names(&catalog.offered), ["search", "delete_doc", "unannotated", "writer", "odd"]);
        assert!(catalog.not_read_only.is_empty());
    }

    #[test]
    fn allowed_tools_holds_back_every_other_tool_before_read_only() {
        let policy = ToolPolicy::new(Some(vec!["search".to_owned(), "writer".to_owned()]), Vec::new()).unwrap();
        let catalog = catalog(&connector(None), true, &policy, server_tools());
        assert_eq!(names(&catalog.offered), ["search"]);
        assert_eq!(catalog.not_allowed, ["delete_doc", "unannotated", "odd"]);
        assert_eq!(catalog.not_read_only, ["writer"]);
    }

    // SPEC §11 #62
    #[test]
    fn exposed_name_is_descriptive_id_double_underscore_tool() {
        let catalog = catalog(&connector(None), true, &ToolPolicy::default(), server_tools());
        assert_eq!(catalog.offered[0].exposed_name, "docs__search");
        assert_eq!(catalog.offered[0].original_name, "search");
    }

    #[test]
    fn description_is_the_tools_own_without_a_connector_description() {
        let catalog = catalog(&connector(None), true, &ToolPolicy::default(), server_tools());
        assert_eq!(catalog.offered[0].description, "Search the docs");
    }

    // SPEC §11 #69
    #[test]
    fn connector_description_prefixes_every_tool_description() {
        let catalog = catalog(&connector(Some("Internal handbook")), false, &ToolPolicy::default(), server_tools());
        assert_eq!(catalog.offered[0].description, "[Docs: Internal handbook]\n\nSearch the docs");
        assert_eq!(catalog.offered[3].description, "[Docs: Internal handbook]\n\nMCP tool writer (via docs)");
    }

    #[test]
    fn a_tool_without_description_is_named_after_its_connector() {
        let catalog = catalog(&connector(None), false, &ToolPolicy::default(), server_tools());
        assert_eq!(catalog.offered[3].description, "MCP tool writer (via docs)");
    }

    #[test]
    fn input_schema_is_passed_through() {
        let catalog = catalog(&connector(None), true, &ToolPolicy::default(), server_tools());
        assert_eq!(catalog.offered[0].input_schema, json!({"type": "object", "properties": {"q": {"type": "string"}}}));
    }

    #[test]
    fn names_a_provider_would_refuse_are_held_back() {
        let tools = vec![
            tool("search.docs", None, json!({"readOnlyHint": true})),
            tool(&"x".repeat(70), None, json!({"readOnlyHint": true})),
        ];
        let catalog = catalog(&connector(None), true, &ToolPolicy::default(), tools);
        assert!(catalog.offered.is_empty());
        assert_eq!(catalog.unnamable.len(), 2);
    }

    #[test]
    fn summary_lists_six_names_then_an_ellipsis() {
        let names: Vec<String> = (1..=8).map(|n| format!("t{n}")).collect();
        assert_eq!(summarize(&names), "t1, t2, t3, t4, t5, t6, …");
        assert_eq!(summarize(&names[..2]), "t1, t2");
    }
}
