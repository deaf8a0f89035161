//! Real protocol peers the tests start on 127.0.0.1:0.

pub mod ai_sdk;
pub mod browser;
pub mod llm;
pub mod mcp;
pub mod opensearch;
pub mod pki;
pub mod s3;
