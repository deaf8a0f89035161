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
