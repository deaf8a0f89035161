//! Configuration: environment variables (SPEC §10) over an optional TOML file (`AUGCHATD_CONFIG`),
//! validated once at boot into typed fields.
//! Invariant: nothing else in the daemon reads the environment; a bad value is one `ConfigError` line
//! naming the variable, and `main` exits 1 with it (never a stack trace).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use augchatd_actors::secret::Secret;

/// One line saying which setting is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// Whether the daemon serves integrators (prod) or a single-tenant demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// mTLS integrators mint sessions.
    Prod,
    /// `AUGCHATD_MODE=demo`: no mTLS, tenant `demo`, sessions minted by the demo routes.
    Demo,
}

impl Mode {
    /// `"prod"` or `"demo"`, as `/healthz` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Prod => "prod",
            Mode::Demo => "demo",
        }
    }
}

/// How a client certificate names its tenant (`AUGCHATD_TENANT_FROM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantFrom {
    /// The subject's common name (default).
    Cn,
    /// The first DNS subject alternative name.
    SanDns,
    /// The hex SHA-256 of the certificate, for CAs that issue anonymous certificates.
    Fingerprint,
}

/// Log line format (`AUGCHATD_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (default).
    Text,
    /// One JSON object per line.
    Json,
}

/// Server TLS material; required in prod, optional in demo.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain (`AUGCHATD_TLS_CERT`).
    pub cert: PathBuf,
    /// PEM private key (`AUGCHATD_TLS_KEY`).
    pub key: PathBuf,
    /// PEM CAs trusted for integrator client certificates (`AUGCHATD_CLIENT_CA`).
    pub client_ca: Option<PathBuf>,
}

/// The demo session as the Design A environment variables describe it; checked by `demo` at boot.
#[derive(Debug, Clone, Default)]
pub struct DemoEnv {
    /// `DEMO_MODEL_PROVIDER`.
    pub model_provider: Option<String>,
    /// `DEMO_MODEL_ID`.
    pub model_id: Option<String>,
    /// `DEMO_MODEL_API_KEY`.
    pub model_api_key: Option<Secret>,
    /// `DEMO_SYSTEM_PROMPT`.
    pub system_prompt: Option<String>,
    /// `DEMO_CONNECTORS`: a JSON array, same shape as `connectors[]` (may hold credentials).
    pub connectors_json: Option<Secret>,
    /// `DEMO_CONNECTORS_FILE`: path to such a JSON file, read once at boot.
    pub connectors_file: Option<PathBuf>,
    /// `DEMO_S3_URI`: cold storage in the `s3://` URI form (holds credentials).
    pub s3_uri: Option<Secret>,
    /// `DEMO_THEME`: `light` or `dark`.
    pub theme: Option<String>,
}

impl DemoEnv {
    /// True when any model variable is set, so Design A is what the operator meant.
    pub fn is_set(&self) -> bool {
        self.model_provider.is_some()
            || self.model_id.is_some()
            || self.model_api_key.is_some()
            || self.system_prompt.is_some()
    }
}

/// Demo-mode settings.
#[derive(Debug, Clone)]
pub struct DemoSettings {
    /// The Design B session file (`local/demo_session.json`, or `AUGCHATD_DEMO_SESSION_FILE`).
    pub session_file: PathBuf,
    /// Lifetime of every demo JWT (`DEMO_TTL_SECONDS`, default 60).
    pub ttl_seconds: u64,
    /// The Design A variables.
    pub env: DemoEnv,
    /// Set by the `demo` subcommand: with no model configured, the built-in offline model answers.
    pub builtin_fallback: bool,
}

/// The validated configuration of one daemon process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Prod or demo.
    pub mode: Mode,
    /// Where to listen (`AUGCHATD_HOST`, `AUGCHATD_PORT` or `PORT`).
    pub listen: SocketAddr,
    /// Hot storage root (`AUGCHATD_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Per-conversation JSONL traces (`AUGCHATD_TRACE_DIR`); `None` is off.
    pub trace_dir: Option<PathBuf>,
    /// Where the audit log goes (`AUGCHATD_AUDIT_LOG`); `None` is off.
    pub audit_log: Option<crate::audit::AuditTarget>,
    /// Idle time before a dirty conversation is flushed (`AUGCHATD_FLUSH_IDLE_MS`).
    pub flush_idle: Duration,
    /// Failure streak after which the user goes read-only (`AUGCHATD_FLUSH_STALLED_MS`).
    pub flush_stalled: Duration,
    /// Bound on one MCP connect and on one tool call (`AUGCHATD_TOOL_TIMEOUT_MS`).
    pub tool_timeout: Duration,
    /// Longest silence of a provider mid-stream before the turn fails (`AUGCHATD_LLM_STALL_MS`).
    pub llm_stall_timeout: Duration,
    /// How long a client may take to send a request body (`AUGCHATD_SLOW_CLIENT_MS`).
    pub slow_client_timeout: Duration,
    /// How long a chat turn runs with no client reading it, and how long an ended one stays
    /// replayable (`AUGCHATD_RESUME_WINDOW_MS`).
    pub resume_window: Duration,
    /// Replies one session may stream at once (`AUGCHATD_MAX_STREAMS_PER_SESSION`).
    pub max_streams_per_session: usize,
    /// Server TLS; `None` means plain HTTP (demo only).
    pub tls: Option<TlsFiles>,
    /// How tenants are named from certificates.
    pub tenant_from: TenantFrom,
    /// SHA-256 fingerprints (lowercase hex) of the client certificates of proxies that may forward an
    /// integrator's certificate (`AUGCHATD_TRUSTED_PROXY_FINGERPRINTS`); empty: none may.
    pub trusted_proxies: Vec<String>,
    /// HS256 key for JWTs; `None` means a random key per boot.
    pub jwt_secret: Option<Secret>,
    /// Origins allowed to embed the UI (`AUGCHATD_ALLOWED_PARENT_ORIGINS`).
    pub allowed_parent_origins: Vec<String>,
    /// Serve the UI from this directory instead of the embedded copy (`AUGCHATD_UI_DIR`).
    pub ui_dir: Option<PathBuf>,
    /// `tracing` env-filter directives (`AUGCHATD_LOG`).
    pub log_filter: String,
    /// Text or JSON log lines.
    pub log_format: LogFormat,
    /// Interval of the health summary line (`AUGCHATD_HEALTH_LOG_MS`).
    pub health_log_interval: Duration,
    /// Bearer token `GET /metrics` demands (`AUGCHATD_METRICS_TOKEN`); `None` leaves it open.
    pub metrics_token: Option<Secret>,
    /// How long the final flush at shutdown may take (`AUGCHATD_SHUTDOWN_FLUSH_MS`).
    pub shutdown_flush: Duration,
    /// Anthropic API base (`AUGCHATD_ANTHROPIC_BASE_URL`), for egress proxies and tests.
    pub anthropic_base_url: String,
    /// OpenAI API base (`AUGCHATD_OPENAI_BASE_URL`), for egress proxies and tests.
    pub openai_base_url: String,
    /// Demo-mode settings (unused in prod).
    pub demo: DemoSettings,
    /// Things that were accepted with a fallback; logged once logging is up.
    pub warnings: Vec<String>,
}

/// Every variable the daemon reads; the TOML file may set exactly these.
const KNOWN: &[&str] = &[
    "AUGCHATD_MODE",
    "AUGCHATD_HOST",
    "AUGCHATD_PORT",
    "PORT",
    "AUGCHATD_DATA_DIR",
    "AUGCHATD_TRACE_DIR",
    "AUGCHATD_AUDIT_LOG",
    "AUGCHATD_FLUSH_IDLE_MS",
    "AUGCHATD_FLUSH_STALLED_MS",
    "AUGCHATD_TOOL_TIMEOUT_MS",
    "AUGCHATD_LLM_STALL_MS",
    "AUGCHATD_SLOW_CLIENT_MS",
    "AUGCHATD_RESUME_WINDOW_MS",
    "AUGCHATD_MAX_STREAMS_PER_SESSION",
    "AUGCHATD_TLS_CERT",
    "AUGCHATD_TLS_KEY",
    "AUGCHATD_CLIENT_CA",
    "AUGCHATD_TENANT_FROM",
    "AUGCHATD_TRUSTED_PROXY_FINGERPRINTS",
    "AUGCHATD_JWT_SECRET",
    "AUGCHATD_ALLOWED_PARENT_ORIGINS",
    "AUGCHATD_UI_DIR",
    "AUGCHATD_LOG",
    "AUGCHATD_LOG_FORMAT",
    "AUGCHATD_HEALTH_LOG_MS",
    "AUGCHATD_METRICS_TOKEN",
    "AUGCHATD_SHUTDOWN_FLUSH_MS",
    "AUGCHATD_ANTHROPIC_BASE_URL",
    "AUGCHATD_OPENAI_BASE_URL",
    "AUGCHATD_DEMO_SESSION_FILE",
    "DEMO_MODEL_PROVIDER",
    "DEMO_MODEL_ID",
    "DEMO_MODEL_API_KEY",
    "DEMO_SYSTEM_PROMPT",
    "DEMO_CONNECTORS",
    "DEMO_CONNECTORS_FILE",
    "DEMO_S3_URI",
    "DEMO_TTL_SECONDS",
    "DEMO_THEME",
];

/// The demo Design B file, relative to the working directory (SPEC §7.3).
pub const DEFAULT_DEMO_SESSION_FILE: &str = "local/demo_session.json";

impl Config {
    /// Builds the configuration from the command-line arguments (without the program name) and the
    /// process environment. `demo` as the only argument selects the zero-config demo.
    pub fn load(args: &[String], env: HashMap<String, String>) -> Result<Self, ConfigError> {
        let subcommand_demo = match args {
            [] => false,
            [only] if only == "demo" => true,
            [other, ..] => {
                return Err(bad(format!("unknown argument: {other} (usage: augchatd [demo])")));
            }
        };
        let mut vars = match env.get("AUGCHATD_CONFIG").filter(|p| !p.is_empty()) {
            Some(path) => read_toml(path)?,
            None => HashMap::new(),
        };
        vars.extend(env.into_iter().filter(|(k, _)| KNOWN.contains(&k.as_str())));
        Self::from_vars(&Vars(vars), subcommand_demo)
    }

    fn from_vars(vars: &Vars, subcommand_demo: bool) -> Result<Self, ConfigError> {
        let mut warnings = Vec::new();
        let mode = if subcommand_demo || vars.get("AUGCHATD_MODE").is_some_and(|m| m.eq_ignore_ascii_case("demo")) {
            Mode::Demo
        } else {
            Mode::Prod
        };
        let default_host = if subcommand_demo { "127.0.0.1" } else { "0.0.0.0" };
        let host: IpAddr = vars
            .get("AUGCHATD_HOST")
            .unwrap_or(default_host)
            .parse()
            .map_err(|_| bad(format!("Invalid AUGCHATD_HOST: {}", vars.get("AUGCHATD_HOST").unwrap_or(""))))?;
        let port = match vars.get("AUGCHATD_PORT").or_else(|| vars.get("PORT")) {
            None => 8080,
            Some(raw) => parse_port(raw)?,
        };
        let tls = match (vars.path("AUGCHATD_TLS_CERT"), vars.path("AUGCHATD_TLS_KEY")) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key, client_ca: vars.path("AUGCHATD_CLIENT_CA") }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad("AUGCHATD_TLS_KEY is required when AUGCHATD_TLS_CERT is set"));
            }
            (None, Some(_)) => {
                return Err(bad("AUGCHATD_TLS_CERT is required when AUGCHATD_TLS_KEY is set"));
            }
        };
        if mode == Mode::Prod {
            match &tls {
                None => {
                    return Err(bad(
                        "AUGCHATD_TLS_CERT and AUGCHATD_TLS_KEY are required in production mode (mTLS on /sessions needs TLS)",
                    ));
                }
                Some(TlsFiles { client_ca: None, .. }) => {
                    return Err(bad(
                        "AUGCHATD_CLIENT_CA is required in production mode (it names who may mint sessions)",
                    ));
                }
                Some(_) => {}
            }
        }
        let tenant_from = match vars.get("AUGCHATD_TENANT_FROM").unwrap_or("cn") {
            "cn" => TenantFrom::Cn,
            "san-dns" => TenantFrom::SanDns,
            "fingerprint" => TenantFrom::Fingerprint,
            other => {
                return Err(bad(format!(
                    "Invalid AUGCHATD_TENANT_FROM: {other} (expected cn, san-dns or fingerprint)"
                )));
            }
        };
        let trusted_proxies = match vars.get("AUGCHATD_TRUSTED_PROXY_FINGERPRINTS") {
            None => Vec::new(),
            Some(_) if tls.as_ref().is_none_or(|t| t.client_ca.is_none()) => {
                return Err(bad(
                    "AUGCHATD_TRUSTED_PROXY_FINGERPRINTS needs AUGCHATD_CLIENT_CA (proxies present client certificates)",
                ));
            }
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(parse_fingerprint)
                .collect::<Result<_, _>>()?,
        };
        let jwt_secret = match vars.get("AUGCHATD_JWT_SECRET") {
            None => None,
            Some(s) if s.len() >= 32 => Some(Secret::new(s)),
            Some(_) => return Err(bad("AUGCHATD_JWT_SECRET must be at least 32 bytes")),
        };
        let allowed_parent_origins = match vars.get("AUGCHATD_ALLOWED_PARENT_ORIGINS") {
            None => Vec::new(),
            Some(list) => {
                list.split(',').map(str::trim).filter(|o| !o.is_empty()).map(parse_origin).collect::<Result<_, _>>()?
            }
        };
        let log_format = match vars.get("AUGCHATD_LOG_FORMAT").unwrap_or("text") {
            f if f.eq_ignore_ascii_case("text") => LogFormat::Text,
            f if f.eq_ignore_ascii_case("json") => LogFormat::Json,
            other => {
                return Err(bad(format!("Invalid AUGCHATD_LOG_FORMAT: {other} (expected text or json)")));
            }
        };
        let ttl_seconds = match vars.get("DEMO_TTL_SECONDS") {
            None => DEFAULT_DEMO_TTL_SECONDS,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if n > 0 => n,
                // SPEC §12 decision 7: an invalid demo TTL falls back to the default, with a warning.
                _ => {
                    warnings.push(format!("Invalid DEMO_TTL_SECONDS: {raw}; using {DEFAULT_DEMO_TTL_SECONDS}"));
                    DEFAULT_DEMO_TTL_SECONDS
                }
            },
        };
        Ok(Config {
            mode,
            listen: SocketAddr::new(host, port),
            data_dir: vars.path("AUGCHATD_DATA_DIR").unwrap_or_else(|| PathBuf::from("./data")),
            trace_dir: vars.path("AUGCHATD_TRACE_DIR"),
            audit_log: vars.get("AUGCHATD_AUDIT_LOG").map(crate::audit::AuditTarget::parse),
            flush_idle: vars.millis("AUGCHATD_FLUSH_IDLE_MS", 300_000)?,
            flush_stalled: vars.millis("AUGCHATD_FLUSH_STALLED_MS", 900_000)?,
            tool_timeout: vars.millis("AUGCHATD_TOOL_TIMEOUT_MS", 60_000)?,
            llm_stall_timeout: vars.millis("AUGCHATD_LLM_STALL_MS", 120_000)?,
            slow_client_timeout: vars.millis("AUGCHATD_SLOW_CLIENT_MS", 30_000)?,
            resume_window: vars.millis("AUGCHATD_RESUME_WINDOW_MS", 60_000)?,
            max_streams_per_session: vars.count("AUGCHATD_MAX_STREAMS_PER_SESSION", 4)?,
            tls,
            tenant_from,
            trusted_proxies,
            jwt_secret,
            allowed_parent_origins,
            ui_dir: vars.path("AUGCHATD_UI_DIR"),
            log_filter: vars.get("AUGCHATD_LOG").unwrap_or("info").to_owned(),
            log_format,
            health_log_interval: vars.millis("AUGCHATD_HEALTH_LOG_MS", 60_000)?,
            metrics_token: metrics_token(vars.get("AUGCHATD_METRICS_TOKEN"))?,
            shutdown_flush: vars.millis("AUGCHATD_SHUTDOWN_FLUSH_MS", 20_000)?,
            anthropic_base_url: vars.base_url("AUGCHATD_ANTHROPIC_BASE_URL", "https://api.anthropic.com")?,
            openai_base_url: vars.base_url("AUGCHATD_OPENAI_BASE_URL", "https://api.openai.com/v1")?,
            demo: DemoSettings {
                session_file: vars
                    .path("AUGCHATD_DEMO_SESSION_FILE")
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DEMO_SESSION_FILE)),
                ttl_seconds,
                env: DemoEnv {
                    model_provider: vars.owned("DEMO_MODEL_PROVIDER"),
                    model_id: vars.owned("DEMO_MODEL_ID"),
                    model_api_key: vars.owned("DEMO_MODEL_API_KEY").map(Secret::new),
                    system_prompt: vars.owned("DEMO_SYSTEM_PROMPT"),
                    connectors_json: vars.owned("DEMO_CONNECTORS").map(Secret::new),
                    connectors_file: vars.path("DEMO_CONNECTORS_FILE"),
                    s3_uri: vars.owned("DEMO_S3_URI").map(Secret::new),
                    theme: vars.owned("DEMO_THEME"),
                },
                builtin_fallback: subcommand_demo,
            },
            warnings,
        })
    }
}

/// `AUGCHATD_METRICS_TOKEN`: a token a client can send in `Authorization: Bearer <token>`, so visible
/// ASCII only; anything else could never match and would lock scrapers out silently. The value is never
/// part of the error line.
fn metrics_token(raw: Option<&str>) -> Result<Option<Secret>, ConfigError> {
    match raw {
        None => Ok(None),
        Some(token) if token.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(Secret::new(token))),
        Some(_) => Err(bad("Invalid AUGCHATD_METRICS_TOKEN: only visible ASCII characters (no spaces) are allowed")),
    }
}

/// One SHA-256 certificate fingerprint: 64 hex digits, optionally in colon-separated pairs as
/// `openssl x509 -fingerprint -sha256` prints them; kept as lowercase hex.
fn parse_fingerprint(raw: &str) -> Result<String, ConfigError> {
    let hex: String = raw.chars().filter(|c| *c != ':').map(|c| c.to_ascii_lowercase()).collect();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(bad(format!(
            "Invalid AUGCHATD_TRUSTED_PROXY_FINGERPRINTS entry: {raw} (expected a SHA-256 fingerprint, 64 hex digits)"
        )))
    }
}

/// Demo JWT lifetime when `DEMO_TTL_SECONDS` is unset or invalid.
pub const DEFAULT_DEMO_TTL_SECONDS: u64 = 60;

/// SPEC §11 #4: digits only, 1..=65535, else exactly `Invalid port: <raw>`.
fn parse_port(raw: &str) -> Result<u16, ConfigError> {
    let invalid = || bad(format!("Invalid port: {raw}"));
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match raw.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(invalid()),
    }
}

/// An origin is `scheme://host[:port]` with nothing after it; it is compared byte for byte with
/// `MessageEvent.origin` in the browser, so it is kept exactly as the browser spells it.
fn parse_origin(raw: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(raw).map_err(|_| bad(format!("Invalid AUGCHATD_ALLOWED_PARENT_ORIGINS entry: {raw}")))?;
    let origin = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || origin != raw.trim_end_matches('/') {
        return Err(bad(format!(
            "Invalid AUGCHATD_ALLOWED_PARENT_ORIGINS entry: {raw} (expected scheme://host[:port])"
        )));
    }
    Ok(origin)
}

/// The merged variables: TOML file first, environment on top. Empty values count as unset, so
/// `AUGCHATD_TRACE_DIR=""` turns tracing off (SPEC §9.3).
struct Vars(HashMap<String, String>);

impl Vars {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn owned(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.get(key).map(PathBuf::from)
    }

    fn millis(&self, key: &str, default: u64) -> Result<Duration, ConfigError> {
        match self.get(key) {
            None => Ok(Duration::from_millis(default)),
            Some(raw) => match raw.parse::<u64>() {
                Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
                _ => Err(bad(format!("Invalid {key}: {raw} (expected a positive number of milliseconds)"))),
            },
        }
    }

    fn count(&self, key: &str, default: usize) -> Result<usize, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(bad(format!("Invalid {key}: {raw} (expected a positive whole number)"))),
            },
        }
    }

    fn base_url(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        let raw = self.get(key).unwrap_or(default);
        match url::Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(raw.trim_end_matches('/').to_owned()),
            _ => Err(bad(format!("Invalid {key}: {raw} (expected an http(s) URL)"))),
        }
    }
}

/// Reads the TOML file named by `AUGCHATD_CONFIG`. Top-level keys are the variable names without
/// `AUGCHATD_` (`port = 8443`), the `[demo]` table holds the `DEMO_` ones (`model_id = "…"`).
fn read_toml(path: &str) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("AUGCHATD_CONFIG: cannot read {path}: {e}")))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(format!("AUGCHATD_CONFIG: {path} is not valid TOML: {}", e.message())))?;
    let mut vars = HashMap::new();
    for (key, value) in table {
        if key == "demo" {
            let toml::Value::Table(demo) = value else {
                return Err(bad(format!("AUGCHATD_CONFIG: [demo] in {path} must be a table")));
            };
            for (key, value) in demo {
                insert_toml(&mut vars, format!("DEMO_{}", key.to_ascii_uppercase()), value, path)?;
            }
        } else {
            insert_toml(&mut vars, format!("AUGCHATD_{}", key.to_ascii_uppercase()), value, path)?;
        }
    }
    Ok(vars)
}

fn insert_toml(
    vars: &mut HashMap<String, String>,
    name: String,
    value: toml::Value,
    path: &str,
) -> Result<(), ConfigError> {
    if !KNOWN.contains(&name.as_str()) {
        return Err(bad(format!("AUGCHATD_CONFIG: unknown key for {name} in {path}")));
    }
    let text = match value {
        toml::Value::String(s) => s,
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s),
                _ => Err(bad(format!("AUGCHATD_CONFIG: {name} in {path} must be a list of strings"))),
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        _ => {
            return Err(bad(format!("AUGCHATD_CONFIG: {name} in {path} must be a string, number or list")));
        }
    };
    vars.insert(name, text);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::load(&[], env)
    }

    const DEMO: (&str, &str) = ("AUGCHATD_MODE", "demo");

    #[test]
    fn demo_mode_is_case_insensitive_and_a_typo_boots_prod() {
        // SPEC §11 #2, #3
        for m in ["demo", "Demo", "DEMO"] {
            assert_eq!(load(&[("AUGCHATD_MODE", m)]).unwrap().mode, Mode::Demo);
        }
        let err = load(&[("AUGCHATD_MODE", "demmo")]).unwrap_err();
        assert!(err.0.contains("AUGCHATD_TLS_CERT"), "{err}");
    }

    #[test]
    fn the_metrics_token_is_optional_and_a_bad_one_is_refused_without_echoing_it() {
        assert!(load(&[DEMO]).unwrap().metrics_token.is_none());
        let config = load(&[DEMO, ("AUGCHATD_METRICS_TOKEN", "scrape-me")]).unwrap();
        assert_eq!(config.metrics_token.unwrap().expose(), "scrape-me");
        let err = load(&[DEMO, ("AUGCHATD_METRICS_TOKEN", "two words")]).unwrap_err();
        assert!(err.0.starts_with("Invalid AUGCHATD_METRICS_TOKEN") && !err.0.contains("two words"), "{err}");
    }

    #[test]
    fn the_shutdown_flush_deadline_defaults_to_20_seconds() {
        assert_eq!(load(&[DEMO]).unwrap().shutdown_flush, Duration::from_secs(20));
        assert_eq!(load(&[DEMO, ("AUGCHATD_SHUTDOWN_FLUSH_MS", "1500")]).unwrap().shutdown_flush.as_millis(), 1500);
        assert!(load(&[DEMO, ("AUGCHATD_SHUTDOWN_FLUSH_MS", "soon")]).is_err());
    }

    #[test]
    fn a_port_with_trailing_garbage_is_one_clear_line() {
        // SPEC §11 #4
        assert_eq!(load(&[DEMO, ("AUGCHATD_PORT", "8080abc")]).unwrap_err().0, "Invalid port: 8080abc");
        assert_eq!(load(&[DEMO, ("AUGCHATD_PORT", "0")]).unwrap_err().0, "Invalid port: 0");
        assert_eq!(load(&[DEMO, ("AUGCHATD_PORT", "65536")]).unwrap_err().0, "Invalid port: 65536");
    }

    #[test]
    fn port_falls_back_to_port_then_8080() {
        // SPEC §11 #5
        assert_eq!(load(&[DEMO, ("PORT", "9090")]).unwrap().listen.port(), 9090);
        assert_eq!(load(&[DEMO]).unwrap().listen.port(), 8080);
        assert_eq!(load(&[DEMO, ("PORT", "9090"), ("AUGCHATD_PORT", "7070")]).unwrap().listen.port(), 7070);
    }

    #[test]
    fn prod_requires_tls_and_a_client_ca() {
        let err = load(&[("AUGCHATD_TLS_CERT", "c.pem"), ("AUGCHATD_TLS_KEY", "k.pem")]).unwrap_err();
        assert!(err.0.starts_with("AUGCHATD_CLIENT_CA is required"), "{err}");
        let ok =
            load(&[("AUGCHATD_TLS_CERT", "c.pem"), ("AUGCHATD_TLS_KEY", "k.pem"), ("AUGCHATD_CLIENT_CA", "ca.pem")]);
        assert_eq!(ok.unwrap().mode, Mode::Prod);
    }

    #[test]
    fn trusted_proxy_fingerprints_are_hex_or_openssl_pairs_and_need_a_client_ca() {
        let prod = [("AUGCHATD_TLS_CERT", "c.pem"), ("AUGCHATD_TLS_KEY", "k.pem"), ("AUGCHATD_CLIENT_CA", "ca.pem")];
        assert!(load(&prod).unwrap().trusted_proxies.is_empty());
        let hex = "ab".repeat(32);
        let pairs = vec!["AB"; 32].join(":");
        let both = format!("{hex}, {pairs}");
        let cfg = load(&[prod[0], prod[1], prod[2], ("AUGCHATD_TRUSTED_PROXY_FINGERPRINTS", &both)]).unwrap();
        assert_eq!(cfg.trusted_proxies, vec![hex.clone(), hex.clone()]);
        for bad in ["ab", "zz".repeat(32).as_str(), &format!("{hex}00")] {
            let err = load(&[prod[0], prod[1], prod[2], ("AUGCHATD_TRUSTED_PROXY_FINGERPRINTS", bad)]).unwrap_err();
            assert!(err.0.starts_with("Invalid AUGCHATD_TRUSTED_PROXY_FINGERPRINTS"), "{err}");
        }
        let err = load(&[DEMO, ("AUGCHATD_TRUSTED_PROXY_FINGERPRINTS", &hex)]).unwrap_err();
        assert!(err.0.contains("needs AUGCHATD_CLIENT_CA"), "{err}");
    }

    #[test]
    fn the_demo_subcommand_listens_on_loopback_and_allows_the_builtin_model() {
        let cfg = Config::load(&["demo".to_owned()], HashMap::new()).unwrap();
        assert_eq!(cfg.mode, Mode::Demo);
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:8080");
        assert!(cfg.demo.builtin_fallback);
        let err = Config::load(&["serve".to_owned()], HashMap::new()).unwrap_err();
        assert!(err.0.starts_with("unknown argument: serve"));
    }

    #[test]
    fn an_invalid_demo_ttl_falls_back_with_a_warning() {
        // SPEC §12 decision 7
        let cfg = load(&[DEMO, ("DEMO_TTL_SECONDS", "soon")]).unwrap();
        assert_eq!(cfg.demo.ttl_seconds, 60);
        assert_eq!(cfg.warnings, vec!["Invalid DEMO_TTL_SECONDS: soon; using 60".to_owned()]);
        assert_eq!(load(&[DEMO, ("DEMO_TTL_SECONDS", "900")]).unwrap().demo.ttl_seconds, 900);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (key, value) in [
            ("AUGCHATD_FLUSH_IDLE_MS", "5m"),
            ("AUGCHATD_FLUSH_STALLED_MS", "0"),
            ("AUGCHATD_RESUME_WINDOW_MS", "-1"),
            ("AUGCHATD_JWT_SECRET", "short"),
            ("AUGCHATD_LOG_FORMAT", "xml"),
            ("AUGCHATD_TENANT_FROM", "email"),
            ("AUGCHATD_ALLOWED_PARENT_ORIGINS", "https://a.example/path"),
            ("AUGCHATD_OPENAI_BASE_URL", "ftp://x"),
            ("AUGCHATD_HOST", "localhost:1"),
        ] {
            let err = load(&[DEMO, (key, value)]).unwrap_err();
            assert!(err.0.contains(key), "{key}: {err}");
            assert!(!err.0.contains('\n'));
        }
    }

    #[test]
    fn the_audit_log_is_off_unless_set() {
        assert_eq!(load(&[DEMO]).unwrap().audit_log, None);
        assert_eq!(load(&[DEMO, ("AUGCHATD_AUDIT_LOG", "")]).unwrap().audit_log, None);
        let to_file = load(&[DEMO, ("AUGCHATD_AUDIT_LOG", "/tmp/a.jsonl")]).unwrap().audit_log;
        assert_eq!(to_file, Some(crate::audit::AuditTarget::File("/tmp/a.jsonl".into())));
    }

    #[test]
    fn the_resume_window_defaults_to_a_minute() {
        assert_eq!(load(&[DEMO]).unwrap().resume_window, Duration::from_secs(60));
        assert_eq!(
            load(&[DEMO, ("AUGCHATD_RESUME_WINDOW_MS", "1500")]).unwrap().resume_window,
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn empty_trace_dir_means_off() {
        // SPEC §11 #166
        assert!(load(&[DEMO, ("AUGCHATD_TRACE_DIR", "")]).unwrap().trace_dir.is_none());
    }

    #[test]
    fn parent_origins_are_kept_as_the_browser_spells_them() {
        let cfg = load(&[DEMO, ("AUGCHATD_ALLOWED_PARENT_ORIGINS", "https://app.example.com, http://localhost:3000/")])
            .unwrap();
        assert_eq!(cfg.allowed_parent_origins, vec!["https://app.example.com", "http://localhost:3000"]);
    }

    #[test]
    fn a_toml_file_is_read_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("augchatd.toml");
        std::fs::write(&path, "mode = \"demo\"\nport = 9000\nallowed_parent_origins = [\"https://a.example\"]\n[demo]\nttl_seconds = 120\n").unwrap();
        let p = path.to_str().unwrap();
        let cfg = load(&[("AUGCHATD_CONFIG", p)]).unwrap();
        assert_eq!((cfg.mode, cfg.listen.port(), cfg.demo.ttl_seconds), (Mode::Demo, 9000, 120));
        assert_eq!(cfg.allowed_parent_origins, vec!["https://a.example"]);
        assert_eq!(load(&[("AUGCHATD_CONFIG", p), ("AUGCHATD_PORT", "9001")]).unwrap().listen.port(), 9001);

        std::fs::write(&path, "prot = 1\n").unwrap();
        assert!(load(&[("AUGCHATD_CONFIG", p)]).unwrap_err().0.contains("unknown key"));
        std::fs::write(&path, "port = \n").unwrap();
        assert!(load(&[("AUGCHATD_CONFIG", p)]).unwrap_err().0.contains("not valid TOML"));
    }
}
