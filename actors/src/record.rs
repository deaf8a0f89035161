//! What one minted session holds. Built by the HTTP layer from a validated `POST /sessions` body (or the
//! demo configuration) and never changed afterwards: a new scope needs a new session. The one exception
//! is the counters of its [`Budget`], which live behind their own lock.
//! Invariant: every credential is a [`Secret`]; everything else here may be logged with `Debug`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::budget::{Budget, Limits};
use crate::ids::{SessionId, TenantId, UserId};
use crate::secret::Secret;

/// Which LLM API the session talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// Anthropic Messages API.
    Anthropic,
    /// OpenAI Responses API, or any OpenAI-compatible server through `base_url`.
    OpenAi,
    /// The built-in offline model of the zero-config demo; never accepted from `POST /sessions`.
    Offline,
}

impl Provider {
    /// The provider's name as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
            Provider::Offline => "offline",
        }
    }
}

/// The session's model and the key that pays for it.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// Which API family.
    pub provider: Provider,
    /// The session's default model id.
    pub model_id: String,
    /// The integrator's (or user's) provider key.
    pub api_key: Secret,
    /// Base URL of the provider API (`https://api.openai.com/v1`-style), when not the public default.
    pub base_url: Option<String>,
}

/// A username and password for HTTP Basic auth.
#[derive(Clone, Debug)]
pub struct BasicAuth {
    /// Sent in clear inside the credential, so treated as part of it.
    pub username: Secret,
    /// The password.
    pub password: Secret,
}

/// How augchatd authenticates to one MCP server: the three composable shapes of SPEC §2.1.
#[derive(Clone, Debug, Default)]
pub struct McpAuth {
    /// `Authorization: Bearer …`.
    pub bearer: Option<Secret>,
    /// `Authorization: Basic base64(u:p)`; applied after `bearer`, so it wins on a clash.
    pub basic: Option<BasicAuth>,
    /// Extra headers forwarded verbatim; applied last.
    pub headers: Vec<(String, Secret)>,
}

/// How augchatd authenticates to an OpenSearch cluster.
#[derive(Clone, Debug)]
pub enum RagAuth {
    /// No credentials (`"auth": {}`).
    None,
    /// `Authorization: Bearer …`.
    Bearer(Secret),
    /// `Authorization: Basic …`.
    Basic(BasicAuth),
}

/// Cluster-side query embedding for hybrid retrieval (SPEC §5.6 [PROPOSAL] (a), §12 decision 5): OpenSearch
/// ML Commons embeds the query with a model deployed on the cluster, so augchatd never handles vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeuralSearch {
    /// The id of the embedding model registered and deployed in the cluster.
    pub model_id: String,
    /// The `knn_vector` field the documents' embeddings live in; also left out of `_source`.
    pub vector_field: String,
}

/// A connector's type-specific part.
#[derive(Clone, Debug)]
pub enum ConnectorKind {
    /// An MCP server reached over streamable HTTP (or legacy SSE).
    Mcp {
        /// The server URL; http or https only.
        url: String,
        /// The user's credentials for it.
        auth: McpAuth,
        /// When true, only tools annotated `readOnlyHint: true` are offered.
        read_only: bool,
        /// Which of its tools may be offered, and which wait for the user's approval.
        tools: ToolPolicy,
    },
    /// An OpenSearch retrieval backend, limited to `indexes`.
    Rag {
        /// The cluster's base URL, without a trailing `/`.
        cluster: String,
        /// The user's credentials for it.
        auth: RagAuth,
        /// The only indexes a query may touch; never empty, never a wildcard.
        indexes: Vec<String>,
        /// The corpus language, when the integrator set it.
        language: Option<String>,
        /// When set, queries are hybrid (BM25 + neural); otherwise BM25 only.
        neural: Option<NeuralSearch>,
    },
}

/// The integrator's control over one MCP connector's tools, by the server's own tool names (without the
/// `<descriptive_id>__` prefix).
/// Invariant: every name that needs approval is also allowed, so an approval is never asked for a tool
/// the model cannot be offered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolPolicy {
    allowed: Option<Vec<String>>,
    approval: Vec<String>,
}

/// A `require_approval` name that `allowed_tools` leaves out.
#[derive(Debug, PartialEq, Eq)]
pub struct ApprovalNotAllowed(pub String);

impl ToolPolicy {
    /// `allowed`: `None` allows every tool the server lists (after `read_only`); `approval`: the tools that
    /// run only once the user approved the call.
    pub fn new(allowed: Option<Vec<String>>, approval: Vec<String>) -> Result<Self, ApprovalNotAllowed> {
        if let Some(allowed) = &allowed
            && let Some(outside) = approval.iter().find(|name| !allowed.contains(name))
        {
            return Err(ApprovalNotAllowed(outside.clone()));
        }
        Ok(ToolPolicy { allowed, approval })
    }

    /// Whether the server's tool `name` may be offered to the model.
    pub fn allows(&self, name: &str) -> bool {
        self.allowed.as_ref().is_none_or(|allowed| allowed.iter().any(|n| n == name))
    }

    /// Whether a call of the server's tool `name` waits for the user's approval.
    pub fn needs_approval(&self, name: &str) -> bool {
        self.approval.iter().any(|n| n == name)
    }
}

/// One tool or retrieval provider in the session's resolved scope.
#[derive(Clone, Debug)]
pub struct Connector {
    /// Unique in the session; stable across sessions; `[a-zA-Z0-9_-]`, never containing `__`.
    pub descriptive_id: String,
    /// Label shown in the UI.
    pub name: String,
    /// Optional text prefixed to tool descriptions.
    pub description: Option<String>,
    /// The active flag a conversation snapshots on first observation.
    pub default_active: bool,
    /// MCP or RAG specifics.
    pub kind: ConnectorKind,
}

impl Connector {
    /// `"mcp"` or `"rag"`, as the API spells the type.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            ConnectorKind::Mcp { .. } => "mcp",
            ConnectorKind::Rag { .. } => "rag",
        }
    }
}

/// The integrator's S3-compatible bucket: the cold partition.
#[derive(Clone, Debug)]
pub struct S3Location {
    /// Base URL of the S3 API; requests use path-style addressing.
    pub endpoint: String,
    /// SigV4 region.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// Prepended literally to every key.
    pub prefix: String,
    /// Access key id; kept secret like the key itself.
    pub access_key_id: Secret,
    /// Secret access key.
    pub secret_access_key: Secret,
}

/// The UI theme a session asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Theme {
    /// The default.
    #[default]
    Light,
    /// `data-theme="dark"`.
    Dark,
}

impl Theme {
    /// `"light"` or `"dark"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// Everything a session is, minus its id, tenant and lifetime: the validated `POST /sessions` body.
#[derive(Clone, Debug)]
pub struct SessionSpec {
    /// The end user.
    pub user: UserId,
    /// Sent as the system instruction of every turn.
    pub system_prompt: String,
    /// The default model and its key.
    pub model: ModelConfig,
    /// Models tried in order, each with its own key, when a turn's model call fails with 429, 5xx or
    /// overloaded before anything of the reply was streamed.
    pub fallback_models: Vec<ModelConfig>,
    /// The session's budget; all `None` when the integrator set none.
    pub limits: Limits,
    /// The resolved scope, in the integrator's order.
    pub connectors: Vec<Connector>,
    /// Cold storage; `None` only in demo mode (hot-only).
    pub storage: Option<S3Location>,
    /// UI theme (demo sessions carry one).
    pub theme: Theme,
}

/// A minted session: the spec plus who minted it and until when it lives.
#[derive(Debug)]
pub struct SessionRecord {
    /// The session's id, as the integrator and the JWT's `sid` know it.
    pub id: SessionId,
    /// The integrator that minted it.
    pub tenant: TenantId,
    /// What the integrator asked for.
    pub spec: SessionSpec,
    /// Unix seconds at which it was minted (the JWT's `iat`).
    pub issued_at: u64,
    /// Unix seconds at which it ends (the JWT's `exp`).
    pub expires_at: u64,
    /// What the session has spent against `spec.limits`.
    pub budget: Budget,
}

impl SessionRecord {
    /// Time left until `expires_at`, zero when it has passed.
    pub fn remaining(&self) -> Duration {
        Duration::from_secs(self.expires_at.saturating_sub(unix_now()))
    }
}

/// Seconds since the Unix epoch; 0 if the clock is before it.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_tool_policy_allows_everything_unless_it_lists_tools() {
        let open = ToolPolicy::default();
        assert!(open.allows("anything") && !open.needs_approval("anything"));
        let listed = ToolPolicy::new(Some(names(&["search", "delete"])), names(&["delete"])).unwrap();
        assert!(listed.allows("search") && listed.allows("delete") && !listed.allows("drop"));
        assert!(listed.needs_approval("delete") && !listed.needs_approval("search"));
    }

    #[test]
    fn approval_for_a_tool_outside_the_allowed_list_is_refused() {
        assert_eq!(
            ToolPolicy::new(Some(names(&["search"])), names(&["delete"])),
            Err(ApprovalNotAllowed("delete".to_owned()))
        );
        assert!(ToolPolicy::new(None, names(&["delete"])).unwrap().needs_approval("delete"));
    }
}
