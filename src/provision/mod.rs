//! Provision: validation of a session request (the `POST /sessions` body, the demo file, the
//! `DEMO_CONNECTORS` and `DEMO_S3_URI` variables) into the actor crate's `SessionSpec` and its parts.
//!
//! Invariant: a credential (model key, connector auth, S3 keys) goes straight into a `Secret` and never
//! into a [`FieldError`] detail; a detail names the field path, and quotes only non-secret values
//! (a type, a backend, a duplicate id), shortened and escaped. This module does no I/O: the S3 write
//! test and the LLM probe belong to the caller.
//!
//! A JSON `null` counts as absent for every optional field, so integrators can send `"description": null`.
//!
//! # Layout
//! - `fields`: typed accessors over a JSON object, URL checks, the error constructors.
//! - `body`: the top level (`user_id`, `system_prompt`, `ttl_seconds`, `theme`) and the order of checks.
//! - `model`: the `model` object and the `fallback_models` array.
//! - `limits`: the `limits` object (the session's budget).
//! - `connectors`: the `connectors[]` array, common fields, MCP and RAG specifics.
//! - `auth`: connector `auth` objects and the HTTP header rules they obey.
//! - `storage`: `storage` and the object form of `storage.s3`, bucket and region rules.
//! - `s3_uri`: the URI form of `storage.s3` (SPEC §6.3).

mod auth;
mod body;
mod connectors;
mod fields;
mod limits;
mod model;
mod s3_uri;
mod storage;

pub use body::parse_session_request;
pub use connectors::{MAX_DESCRIPTIVE_ID_LEN, index_name_problem, parse_connectors};
pub use s3_uri::parse_s3_uri;
pub use storage::parse_required_storage;

/// The JWT lifetime when the body has no `ttl_seconds` (SPEC §2.1).
pub const DEFAULT_TTL_SECONDS: u64 = 60;

/// The largest accepted `ttl_seconds`: one year. The SPEC sets no bound; this one keeps the `exp`
/// arithmetic far from overflow and a forgotten session from living forever.
pub const MAX_TTL_SECONDS: u64 = 31_536_000;

/// A validation failure: an API error code plus a human detail naming the field. Detail never
/// contains a secret value.
///
/// Codes: `body_must_be_object`, `invalid_user_id`, `unsupported_provider`, `invalid_limits` and
/// `invalid_field` (everything else). `Display` prints the detail alone, ready for a boot error line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct FieldError {
    /// The API error token, sent as `{"error": code}`.
    pub code: &'static str,
    /// What is wrong, naming the field path (`model.api_key must be a non-empty string`).
    pub detail: String,
}

/// Which variant of the session body is being validated.
///
/// `POST /sessions` uses [`Options::API`]; `local/demo_session.json` uses [`Options::DEMO_FILE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `storage.s3` must be present (production); otherwise a missing `storage` or `storage.s3` means hot-only.
    pub storage_required: bool,
    /// The demo file shape: `theme` is read (`"light"` or `"dark"`, case-insensitive) and `ttl_seconds`
    /// is ignored, because the demo's TTL comes from `DEMO_TTL_SECONDS`. Otherwise `theme` is an
    /// unknown key (ignored) and the theme is the default.
    pub allow_theme: bool,
    /// Reject a `model.api_key` still equal to the example file's placeholder (`sk-replace-me`, `REPLACE_ME`).
    pub reject_placeholder_keys: bool,
}

impl Options {
    /// The rules of `POST /sessions`.
    pub const API: Options = Options { storage_required: true, allow_theme: false, reject_placeholder_keys: false };

    /// The rules of `local/demo_session.json` (SPEC §7.3).
    pub const DEMO_FILE: Options =
        Options { storage_required: false, allow_theme: true, reject_placeholder_keys: true };
}

/// A validated session request: the session itself and how long its JWT lives.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    /// What the session holds.
    pub spec: augchatd_actors::record::SessionSpec,
    /// The JWT lifetime, 1..=[`MAX_TTL_SECONDS`]; [`DEFAULT_TTL_SECONDS`] when absent or ignored.
    pub ttl_seconds: u64,
}

#[cfg(test)]
mod tests {
    //! Cross-cutting tests: secrets never leak into errors or `Debug`. Rule tests live beside each rule.
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;

    const MARKERS: [&str; 10] = [
        "MARKapikey7f3a",
        "MARKbearer91c2",
        "MARKbasicuser5d",
        "MARKbasicpass8e",
        "MARKheaderval44",
        "MARKragbearer0b",
        "MARKragpass3c9",
        "MARKs3keyid66a",
        "MARKs3secret2f",
        "MARKfallback9d",
    ];

    fn body_with_markers() -> Value {
        json!({
            "user_id": "u1",
            "system_prompt": "be brief",
            "model": {"provider": "openai", "model_id": "gpt-4o", "api_key": MARKERS[0]},
            "fallback_models": [{"provider": "anthropic", "model_id": "claude-haiku-4-5", "api_key": MARKERS[9]}],
            "connectors": [
                {
                    "descriptive_id": "crm", "name": "CRM", "type": "mcp", "default_active": true,
                    "url": "https://mcp.example.com/mcp",
                    "auth": {
                        "bearer": MARKERS[1],
                        "basic": {"username": MARKERS[2], "password": MARKERS[3]},
                        "headers": {"X-Client-Id": MARKERS[4]}
                    }
                },
                {
                    "descriptive_id": "docs", "name": "Docs", "type": "rag", "default_active": false,
                    "backend": "opensearch", "cluster": "https://os.example.com/",
                    "auth": {"bearer": MARKERS[5]}, "indexes": ["kb"]
                },
                {
                    "descriptive_id": "docs2", "name": "Docs 2", "type": "rag", "default_active": false,
                    "backend": "opensearch", "cluster": "https://os.example.com",
                    "auth": {"basic": {"username": "reader", "password": MARKERS[6]}}, "indexes": ["kb"]
                }
            ],
            "storage": {"s3": {
                "endpoint": "https://s3.us-east-1.amazonaws.com", "region": "us-east-1", "bucket": "cold",
                "access_key_id": MARKERS[7], "secret_access_key": MARKERS[8]
            }}
        })
    }

    fn assert_no_marker(text: &str) {
        for marker in MARKERS {
            assert!(!text.contains(marker), "{marker} leaked into: {text}");
        }
    }

    /// Every way a body with secrets in it can fail, each produced by breaking one sibling or the
    /// secret itself (control characters, wrong type, misplaced shape).
    fn broken_variants() -> Vec<Value> {
        let base = body_with_markers();
        let mut variants = Vec::new();
        let mut edit = |f: &dyn Fn(&mut Value)| {
            let mut body = base.clone();
            f(&mut body);
            variants.push(body);
        };
        edit(&|b| b["model"]["provider"] = json!(MARKERS[0]));
        edit(&|b| b["model"]["api_key"] = json!([MARKERS[0]]));
        edit(&|b| b["model"]["base_url"] = json!(MARKERS[0]));
        edit(&|b| b["model"]["model_id"] = json!(""));
        edit(&|b| b["fallback_models"][0]["provider"] = json!(MARKERS[9]));
        edit(&|b| b["fallback_models"][0]["api_key"] = json!([MARKERS[9]]));
        edit(&|b| b["fallback_models"][0]["base_url"] = json!(MARKERS[9]));
        edit(&|b| b["connectors"][0]["auth"]["bearer"] = json!(format!("{}\r\nX: y", MARKERS[1])));
        edit(&|b| b["connectors"][0]["auth"]["bearer"] = json!({"token": MARKERS[1]}));
        edit(&|b| b["connectors"][0]["auth"]["basic"]["username"] = json!(format!("{}:x", MARKERS[2])));
        edit(&|b| b["connectors"][0]["auth"]["basic"]["password"] = json!(7));
        edit(&|b| b["connectors"][0]["auth"]["headers"]["X-Client-Id"] = json!(format!("{}\n", MARKERS[4])));
        edit(&|b| b["connectors"][0]["auth"]["headers"] = json!({"bad name": MARKERS[4]}));
        edit(&|b| b["connectors"][0]["auth"]["headers"] = json!({format!("Authorization: Bearer {}", MARKERS[4]): ""}));
        edit(&|b| b["connectors"][0]["auth"]["headers"] = json!({"X-A": MARKERS[4], "x-a": MARKERS[4]}));
        edit(&|b| b["connectors"][0]["url"] = json!(format!("stdio:{}", MARKERS[1])));
        edit(&|b| b["connectors"][0]["url"] = json!(format!("https://{}:{}@h/", MARKERS[2], MARKERS[3])));
        edit(&|b| b["connectors"][1]["auth"]["basic"] = json!({"username": "x", "password": MARKERS[5]}));
        edit(&|b| b["connectors"][1]["auth"]["headers"] = json!({"X-A": MARKERS[5]}));
        edit(&|b| b["connectors"][2]["auth"]["basic"]["username"] = json!(""));
        edit(&|b| b["storage"]["s3"]["region"] = json!(""));
        edit(&|b| b["storage"]["s3"]["secret_access_key"] = json!(null));
        edit(&|b| b["storage"]["s3"]["access_key_id"] = json!(""));
        edit(&|b| b["storage"]["s3"]["endpoint"] = json!(MARKERS[8]));
        edit(&|b| b["storage"]["s3"] = json!(format!("s3://{}@cold/", MARKERS[7])));
        edit(&|b| b["storage"]["s3"] = json!(format!("s3://{}:{}@Cold/", MARKERS[7], MARKERS[8])));
        edit(&|b| b["storage"]["s3"] = json!(format!("s3://{}:{}@cold/?x=1", MARKERS[7], MARKERS[8])));
        edit(&|b| b["storage"]["s3"] = json!(format!("s3://{}:{}%ff@cold/", MARKERS[7], MARKERS[8])));
        edit(&|b| {
            b["storage"]["s3"] = json!(format!("s3://{}:{}@cold/?endpoint={}", MARKERS[7], MARKERS[8], MARKERS[8]))
        });
        edit(&|b| b["user_id"] = json!(format!("{}/", MARKERS[0])));
        variants
    }

    #[test]
    fn no_error_detail_ever_contains_a_secret_value() {
        // SPEC §11 #24: responses never echo api_key, connector auth or S3 secrets.
        for (index, body) in broken_variants().into_iter().enumerate() {
            for options in [Options::API, Options::DEMO_FILE] {
                let result = parse_session_request(&body, &options);
                assert!(result.is_err(), "variant {index} unexpectedly parsed");
                let err = result.unwrap_err();
                assert_no_marker(&err.detail);
                assert_no_marker(&format!("{err:?} {err}"));
            }
        }
    }

    #[test]
    fn the_parsed_request_debug_output_contains_no_secret_value() {
        let request = parse_session_request(&body_with_markers(), &Options::API).unwrap();
        let debug = format!("{request:?} {request:#?}");
        assert_no_marker(&debug);
        // The secrets are still there for the one place that sends them upstream.
        assert_eq!(request.spec.model.api_key.expose(), MARKERS[0]);
        assert_eq!(request.spec.fallback_models[0].api_key.expose(), MARKERS[9]);
        let storage = request.spec.storage.unwrap();
        assert_eq!(storage.secret_access_key.expose(), MARKERS[8]);
    }

    #[test]
    fn the_uri_form_parse_result_debug_output_contains_no_secret_value() {
        let location = parse_s3_uri(&format!("s3://{}:{}@cold/p/", MARKERS[7], MARKERS[8])).unwrap();
        assert_no_marker(&format!("{location:?}"));
        assert_eq!(location.access_key_id.expose(), MARKERS[7]);
    }

    #[test]
    fn display_prints_the_detail_alone() {
        let err = FieldError { code: "invalid_field", detail: "x must be y".to_owned() };
        assert_eq!(err.to_string(), "x must be y");
    }

    #[test]
    fn the_option_presets_match_the_api_and_the_demo_file() {
        let api = Options { storage_required: true, allow_theme: false, reject_placeholder_keys: false };
        let demo = Options { storage_required: false, allow_theme: true, reject_placeholder_keys: true };
        assert_eq!((Options::API, Options::DEMO_FILE), (api, demo));
    }
}
