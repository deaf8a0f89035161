//! The tools a turn offers the model: MCP servers and OpenSearch retrieval, in the session's scope.
//!
//! # Layout
//! - `mcp`: one session's client to one MCP server (streamable HTTP, legacy SSE fallback).
//! - `rag`: the OpenSearch retrieve tool.
//! - `pool`: each session's MCP clients, connected once and reused.
//! - `set`: the tools of one turn, and the dispatch of its calls.

pub mod mcp;
pub mod pool;
pub mod rag;
pub mod set;

/// `text` when it has at most `max` characters, otherwise its first `max` characters and `… [truncated]`:
/// how every tool output too long for the model is cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… [truncated]", &text[..end]),
    }
}
