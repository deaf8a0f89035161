//! stderr logging through `tracing`: human-readable lines, or one JSON object per line
//! (`AUGCHATD_LOG_FORMAT=json`). stdout is reserved for the boot banner (SPEC §9.3).

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Installs the global subscriber. Called once, by `main`; tests that run in-process skip it.
pub fn init(config: &Config) {
    // Quiet the TLS and server internals unless asked: their info lines are per connection. The HTTP
    // client crates and rmcp are capped or off whatever the filter says: their messages quote upstream
    // URLs (an MCP URL may carry a token), which are never logged (SPEC §9.3); our own lines name the
    // connector instead.
    let directives = format!(
        "{},rustls=warn,actix_server=warn,actix_web=warn,h2=warn,hyper=warn,hyper_util=warn,reqwest=warn,rmcp=off",
        config.log_filter
    );
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).with_target(false);
    match config.log_format {
        LogFormat::Json => fmt.json().flatten_event(true).init(),
        LogFormat::Text => fmt.init(),
    }
}
