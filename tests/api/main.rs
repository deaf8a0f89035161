//! Integration tests: the real daemon on 127.0.0.1 against real protocol peers (see `peers`).
//! One test binary, so the peers compile once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout, clippy::print_stderr)]

mod binary;
mod peers;
mod server;

mod audit;
mod boot;
mod browser;
mod budgets;
mod chat;
mod cold;
mod connectors;
mod conversations;
mod data_subject;

mod demo;
mod drills;
mod fallback;
mod hostile;
mod hostile_upstreams;
mod isolation;
mod jwt;
mod limits;
mod mcp_chat;
mod mcp_client;
mod metrics;
mod models;
mod openapi;
mod providers;
mod rag_chat;
mod rag_retrieve;
mod recovery;
mod resume;
mod scale_out;
mod secrets;
mod sessions;
mod shutdown;
mod tool_control;
mod tool_loop;
mod upstream_http;
mod usage;
