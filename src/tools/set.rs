//! The tools of one turn (SPEC §5.1 step 2, §5.4): those of the MCP connectors active in the
//! turn-start snapshot, plus one retrieve tool per active RAG connector. Built before the 200 goes
//! out, so an MCP server refusing the session's credentials is still a real 401 (SPEC §5.5).
//! Invariant: a call is dispatched only to a tool in this set; any other name is refused, so a model
//! cannot reach a connector that is out of scope or switched off. Every call is bounded by the
//! configured timeout, and its failure is a result for the model, never a hung or failed turn.

use std::sync::Arc;
use std::time::{Duration, Instant};

use augchatd_actors::audit::{Audit, AuditEvent, Outcome, SessionScope};
use augchatd_actors::record::{Connector, ConnectorKind, SessionRecord};
use futures_util::future::join_all;
use serde_json::Value;

use super::cut;
use super::mcp::{McpClient, McpError};
use super::pool::McpPool;
use super::rag::{self, Hit};
use crate::llm::ToolSpec;

/// Longest tool output kept, in characters. Every output goes to the browser, into the stored thread
/// and into every later model call of the conversation, whose whole thread must fit one request body.
const MAX_OUTPUT_CHARS: usize = 64 * 1024;

/// Where a tool's calls go.
enum Route {
    Mcp { client: Arc<McpClient>, original: String },
    Rag(Box<Connector>),
}

struct Tool {
    spec: ToolSpec,
    connector: String,
    route: Route,
    /// The connector's `require_approval` names it: a call runs only once the user approved it.
    approval: bool,
}

/// What running one call produced.
#[derive(Default)]
pub struct ToolOutcome {
    /// The text the model sees as the result.
    pub output: String,
    /// The call failed (the browser gets `tool-output-error`); the model still sees `output`.
    pub failed: bool,
    /// The connector that refused the session's credentials (SPEC §5.5), if that is why it failed.
    pub unauthorized: Option<String>,
    /// Retrieval hits, for source chips.
    pub hits: Vec<Hit>,
    /// The connector the tool belongs to; `None` for a refused name.
    pub connector: Option<String>,
}

/// MCP servers that refused the session's credentials while the tool set was built.
#[derive(Debug)]
pub struct Unauthorized(pub Vec<String>);

/// The tools one turn offers and runs.
pub struct ToolSet {
    tools: Vec<Tool>,
    specs: Vec<ToolSpec>,
    http: reqwest::Client,
    pool: McpPool,
    timeout: Duration,
    audit: Audit,
    scope: SessionScope,
}

impl ToolSet {
    /// Connects the active MCP connectors (in parallel, reusing the session's clients) and lists
    /// their tools. A connector that cannot be reached is left out, with a warning in the log.
    pub async fn build(
        pool: &McpPool,
        http: &reqwest::Client,
        timeout: Duration,
        record: &SessionRecord,
        active: &[(String, bool)],
        audit: &Audit,
    ) -> Result<ToolSet, Unauthorized> {
        let is_active = |c: &&Connector| active.iter().any(|(id, on)| *on && *id == c.descriptive_id);
        let connectors: Vec<&Connector> = record.spec.connectors.iter().filter(is_active).collect();
        let mcp = connectors.iter().filter(|c| matches!(c.kind, ConnectorKind::Mcp { .. }));
        let clients = join_all(mcp.map(|c| async move { (*c, pool.client(http, record, c, timeout).await) })).await;
        let mut tools = Vec::new();
        let mut refused = Vec::new();
        for (connector, client) in clients {
            let ConnectorKind::Mcp { tools: policy, .. } = &connector.kind else { continue };
            match client {
                Ok(client) => tools.extend(client.tools().iter().map(|t| Tool {
                    spec: ToolSpec {
                        name: t.exposed_name.clone(),
                        description: t.description.clone(),
                        input_schema: t.input_schema.clone(),
                    },
                    connector: connector.descriptive_id.clone(),
                    route: Route::Mcp { client: Arc::clone(&client), original: t.original_name.clone() },
                    approval: policy.needs_approval(&t.original_name),
                })),
                Err(McpError::Unauthorized) => refused.push(connector.descriptive_id.clone()),
                Err(e) => tracing::warn!(sid = %record.id, connector = %connector.descriptive_id, error = %e,
                    "MCP connector left out of this turn"),
            }
        }
        if !refused.is_empty() {
            return Err(Unauthorized(refused));
        }
        for connector in connectors.into_iter().filter(|c| matches!(c.kind, ConnectorKind::Rag { .. })) {
            tools.push(Tool {
                spec: ToolSpec {
                    name: format!("{}__{}", connector.descriptive_id, rag::TOOL),
                    description: rag::description(connector),
                    input_schema: rag::input_schema(),
                },
                connector: connector.descriptive_id.clone(),
                route: Route::Rag(Box::new(connector.clone())),
                approval: false,
            });
        }
        let specs = tools.iter().map(|t| t.spec.clone()).collect();
        let scope =
            SessionScope { tenant: record.tenant.clone(), user: record.spec.user.clone(), session: record.id.clone() };
        Ok(ToolSet { tools, specs, http: http.clone(), pool: pool.clone(), timeout, audit: audit.clone(), scope })
    }

    /// What the model is offered.
    pub fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    /// Whether `name` is offered this turn.
    pub fn offers(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.spec.name == name)
    }

    /// Whether a call of `name` waits for the user's approval before it runs.
    pub fn needs_approval(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.spec.name == name && t.approval)
    }

    /// Writes the audit line of a call the user denied: it never runs.
    pub fn denied(&self, name: &str) {
        AuditedCall { set: self, name, started: Instant::now(), finished: false }.finish(Outcome::Denied, 0);
    }

    /// Runs one call and writes its audit line. Never fails: a refusal, a timeout or an upstream error is
    /// an outcome.
    pub async fn call(&self, name: &str, input: &Value) -> ToolOutcome {
        let audited = AuditedCall { set: self, name, started: Instant::now(), finished: false };
        let (outcome, audit_outcome) = self.dispatch(name, input).await;
        audited.finish(audit_outcome, outcome.hits.len());
        outcome
    }

    /// Runs one call; the second value is how it ended, for the audit log.
    async fn dispatch(&self, name: &str, input: &Value) -> (ToolOutcome, Outcome) {
        let Some(tool) = self.tools.iter().find(|t| t.spec.name == name) else {
            let outcome = ToolOutcome {
                output: format!("tool {name} is not available in this conversation"),
                failed: true,
                ..ToolOutcome::default()
            };
            return (outcome, Outcome::Refused);
        };
        let connector = Some(tool.connector.clone());
        match &tool.route {
            Route::Mcp { client, original } => match client.call(original, input.clone(), self.timeout).await {
                Ok(output) => {
                    let outcome =
                        ToolOutcome { output: cut(&output, MAX_OUTPUT_CHARS), connector, ..ToolOutcome::default() };
                    (outcome, Outcome::Ok)
                }
                // The sentinel the model reads, and the connector the browser is told about (SPEC §5.5).
                Err(McpError::Unauthorized) => {
                    self.pool.forget(&self.scope.session, &tool.connector);
                    let outcome = ToolOutcome {
                        output: format!(
                            "[augchatd:upstream_unauthorized:{}] the MCP server refused this session's credentials (HTTP 401)",
                            tool.connector
                        ),
                        unauthorized: connector.clone(),
                        connector,
                        ..ToolOutcome::default()
                    };
                    (outcome, Outcome::Refused)
                }
                Err(e) => {
                    // A transport failure may have broken the connection; a tool's own error or a slow
                    // answer did not.
                    if matches!(e, McpError::Failed(_)) {
                        self.pool.forget(&self.scope.session, &tool.connector);
                    }
                    tracing::warn!(sid = %self.scope.session, connector = %tool.connector, tool = %name, error = %e,
                        "tool call failed");
                    (
                        ToolOutcome { output: e.to_string(), failed: true, connector, ..ToolOutcome::default() },
                        Outcome::Error,
                    )
                }
            },
            Route::Rag(rag_connector) => {
                match tokio::time::timeout(self.timeout, rag::retrieve(&self.http, rag_connector, input)).await {
                    Ok(found) => {
                        let how = if found.failed { Outcome::Error } else { Outcome::Ok };
                        (
                            ToolOutcome { output: found.output, hits: found.hits, connector, ..ToolOutcome::default() },
                            how,
                        )
                    }
                    Err(_) => {
                        let outcome = ToolOutcome {
                            output: format!("retrieval error: no answer within {} s", self.timeout.as_secs()),
                            connector,
                            ..ToolOutcome::default()
                        };
                        (outcome, Outcome::Error)
                    }
                }
            }
        }
    }
}

/// The audit line of one call: written when the call ends, or as `cancelled` when it is dropped first
/// (the client left, the daemon stopped). A call of a retrieve tool is a `retrieval` line.
struct AuditedCall<'a> {
    set: &'a ToolSet,
    name: &'a str,
    started: Instant,
    finished: bool,
}

impl AuditedCall<'_> {
    fn finish(mut self, outcome: Outcome, hits: usize) {
        self.finished = true;
        self.write(outcome, hits);
    }

    fn write(&self, outcome: Outcome, hits: usize) {
        let set = self.set;
        if !set.audit.enabled() {
            return;
        }
        let (scope, duration) = (set.scope.clone(), self.started.elapsed());
        let tool = set.tools.iter().find(|t| t.spec.name == self.name);
        let event = match tool.map(|t| &t.route) {
            Some(Route::Rag(connector)) => {
                let indexes = match &connector.kind {
                    ConnectorKind::Rag { indexes, .. } => indexes.clone(),
                    ConnectorKind::Mcp { .. } => Vec::new(),
                };
                let connector = connector.descriptive_id.clone();
                AuditEvent::Retrieval { scope, connector, indexes, hits, outcome, duration }
            }
            _ => AuditEvent::ToolCall {
                scope,
                connector: tool.map(|t| t.connector.clone()),
                tool: self.name.to_owned(),
                outcome,
                duration,
            },
        };
        set.audit.record(event);
    }
}

impl Drop for AuditedCall<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.write(Outcome::Cancelled, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_outputs_are_cut_on_a_character_boundary() {
        assert_eq!(cut("short", MAX_OUTPUT_CHARS), "short");
        let long = "é".repeat(MAX_OUTPUT_CHARS + 5);
        let cut = cut(&long, MAX_OUTPUT_CHARS);
        assert_eq!(cut.chars().count(), MAX_OUTPUT_CHARS + "… [truncated]".chars().count());
        assert!(cut.ends_with("… [truncated]"));
    }
}
