//! Runs the real `augchatd` binary as a child process with a clean environment, for what only a
//! process shows: exit codes, the stdout banner, and every stderr log line.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What a finished process printed.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

fn command(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_augchatd"));
    cmd.args(args).env_clear().envs(env.iter().copied()).current_dir(dir);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd
}

/// Runs the binary expecting it to exit on its own (a boot failure) within 20 s.
pub async fn run_to_exit(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let output = tokio::time::timeout(Duration::from_secs(20), command(dir, args, env).output())
        .await
        .expect("the daemon was expected to exit")
        .unwrap();
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A free loopback port (bound and released; the daemon binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running daemon whose output is being collected.
pub struct Daemon {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

fn collect(stream: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<String>> {
    let sink = Arc::new(Mutex::new(String::new()));
    let writer = Arc::clone(&sink);
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut all = writer.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    sink
}

impl Daemon {
    /// Starts the binary and waits for its banner.
    pub async fn start(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = command(dir, args, env).spawn().unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let mut daemon = Self { child, stdout, stderr };
        for _ in 0..200 {
            if daemon.stdout().contains("augchatd up on :") {
                return daemon;
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("daemon exited with {status}: {}", daemon.stderr());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no banner within 20 s; stderr: {}", daemon.stderr());
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `kill -9`: no shutdown code runs, as in a crash.
    pub async fn crash(mut self) {
        self.child.kill().await.unwrap();
    }

    /// Sends SIGTERM and waits for a graceful exit; returns everything printed.
    pub async fn stop(mut self) -> Finished {
        let pid = self.child.id().unwrap().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await.unwrap().unwrap();
        // Let the readers drain what the process wrote last.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Finished { code: status.code(), stdout: self.stdout(), stderr: self.stderr() }
    }
}

/// What every production-mode binary test needs: a temp dir, certificates, a free port, the base
/// environment (TLS with client auth), and clients for tenant `acme` and for a browser.
pub struct ProdRig {
    pub dir: tempfile::TempDir,
    pub pki: crate::peers::pki::Pki,
    pub port: String,
    pub integrator: reqwest::Client,
    pub browser: reqwest::Client,
}

impl ProdRig {
    pub fn new() -> Self {
        crate::server::install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let pki = crate::peers::pki::Pki::create(dir.path());
        let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap();
        let integrator = reqwest::Client::builder()
            .tls_certs_only([ca.clone()])
            .identity(reqwest::Identity::from_pem(pki.integrator("acme").as_bytes()).unwrap())
            .build()
            .unwrap();
        let browser = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
        Self { dir, pki, port: free_port().to_string(), integrator, browser }
    }

    /// `GET /conversations/:cid/messages` until it holds `count` messages (a turn cut short is stored
    /// just after its stream ends), at most 2.5 s; the last answer.
    pub async fn stored_messages(&self, jwt: &str, cid: &str, count: usize) -> serde_json::Value {
        let mut stored = serde_json::Value::Null;
        for _ in 0..50 {
            let url = self.url(&format!("/conversations/{cid}/messages"));
            stored = self.browser.get(url).bearer_auth(jwt).send().await.unwrap().json().await.unwrap();
            if stored["messages"].as_array().is_some_and(|m| m.len() == count) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stored
    }

    /// The base environment plus `extra`.
    pub fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let base = [
            ("AUGCHATD_PORT", self.port.as_str()),
            ("AUGCHATD_HOST", "127.0.0.1"),
            ("AUGCHATD_TLS_CERT", self.pki.server_cert.to_str().unwrap()),
            ("AUGCHATD_TLS_KEY", self.pki.server_key.to_str().unwrap()),
            ("AUGCHATD_CLIENT_CA", self.pki.client_ca.to_str().unwrap()),
        ];
        base.iter().chain(extra).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// Starts the binary with the base environment plus `extra`.
    pub async fn start(&self, extra: &[(&str, &str)]) -> Daemon {
        let env = self.env(extra);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Daemon::start(self.dir.path(), &[], &pairs).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

/// The peers of a restart test, which outlive every daemon the test starts: a scripted model, an S3
/// bucket, and the data directory.
pub struct RestartPeers {
    pub llm: crate::peers::llm::LlmPeer,
    pub s3: crate::peers::s3::S3Peer,
    pub data: std::path::PathBuf,
}

impl RestartPeers {
    pub async fn start(rig: &ProdRig) -> Self {
        use crate::peers::s3::{S3_KEY_ID, S3_SECRET, S3Peer};
        let s3 = S3Peer::start(&rig.dir.path().join("s3"), S3_KEY_ID, S3_SECRET).await;
        Self { llm: crate::peers::llm::LlmPeer::start(), s3, data: rig.dir.path().join("data") }
    }

    /// The daemon's environment, with `idle_ms` of quiet before a conversation is flushed.
    pub fn env<'a>(&'a self, idle_ms: &'a str) -> [(&'static str, &'a str); 4] {
        [
            ("AUGCHATD_JWT_SECRET", crate::server::JWT_SECRET),
            ("AUGCHATD_ANTHROPIC_BASE_URL", self.llm.base.as_str()),
            ("AUGCHATD_DATA_DIR", self.data.to_str().unwrap()),
            ("AUGCHATD_FLUSH_IDLE_MS", idle_ms),
        ]
    }

    /// Mints a session for user `u` of tenant acme flushing to the bucket under `p/`; returns its JWT.
    pub async fn mint(&self, rig: &ProdRig) -> String {
        let session = self.session_body("u");
        let res = rig.integrator.post(rig.url("/sessions")).json(&session).send().await.unwrap();
        res.json::<serde_json::Value>().await.unwrap()["jwt"].as_str().unwrap().to_owned()
    }

    /// A `POST /sessions` body for `user` with the scripted model and the bucket under `p/`.
    pub fn session_body(&self, user: &str) -> serde_json::Value {
        use crate::peers::s3::{BUCKET, S3_KEY_ID, S3_SECRET};
        serde_json::json!({
            "user_id": user, "system_prompt": "s",
            "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": crate::peers::llm::GOOD_KEY},
            "storage": {"s3": {"endpoint": self.s3.endpoint(), "region": "us-east-1", "bucket": BUCKET, "prefix": "p/",
                               "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}},
        })
    }

    /// The flushed object of conversation `cid`, once it is in the bucket (up to 5 s).
    pub async fn flushed(&self, cid: &str) -> Option<serde_json::Value> {
        for _ in 0..100 {
            if let Some(bytes) = self.s3.object(&format!("p/acme/u/{cid}.json")) {
                return Some(serde_json::from_slice(&bytes).unwrap());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}
