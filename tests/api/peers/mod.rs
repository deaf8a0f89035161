//! Real protocol peers the tests start on 127.0.0.1:0.

pub mod ai_sdk;
pub mod browser;
pub mod cut_proxy;
pub mod hostile_mcp;
pub mod llm;
pub mod mcp;
pub mod opensearch;
pub mod pki;
pub mod s3;
pub mod tls_model;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use actix_web::{App, HttpServer, web};

/// Serves `routes` on `listener` with one worker, in the background of this test's runtime.
pub fn serve(listener: TcpListener, routes: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static) {
    let server =
        HttpServer::new(move || App::new().configure(routes.clone())).workers(1).listen(listener).unwrap().run();
    actix_web::rt::spawn(server);
}

static NPM_CI: Mutex<()> = Mutex::new(());

/// Runs `npm ci` in `dir` once, unless `installed` (a file under `dir/node_modules`) is there already: a
/// fresh clone running `cargo test` gets the node packages the tests use.
pub fn npm_ci_once(dir: &Path, installed: &str) {
    let _one_at_a_time = NPM_CI.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if dir.join("node_modules").join(installed).exists() {
        return;
    }
    let status = Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir).status();
    assert!(status.is_ok_and(|s| s.success()), "npm ci in {} failed; Node and npm are needed", dir.display());
}
