//! `TestServer`: the real daemon (`augchatd::Application`) in-process on 127.0.0.1:0, with its own
//! temp dir, certificates, a SigV4 S3 peer and a scripted LLM; plus clients for each kind of caller.

use std::collections::HashMap;

use augchatd::Application;
use augchatd::config::Config;
use serde_json::{Value, json};

use crate::peers::llm::{GOOD_KEY, LlmPeer};
use crate::peers::pki::Pki;
use crate::peers::s3::{BUCKET, S3_KEY_ID, S3_SECRET, S3Peer};

pub const JWT_SECRET: &str = "test-jwt-secret-of-at-least-32-bytes!!";

pub struct TestServer {
    pub base: String,
    pub pki: Pki,
    pub s3: S3Peer,
    pub llm: LlmPeer,
    pub dir: tempfile::TempDir,
    /// No client certificate: what a browser is.
    pub browser: reqwest::Client,
    /// Tenant `acme`'s backend.
    pub acme: reqwest::Client,
    /// Tenant `globex`'s backend.
    pub globex: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

/// The claims of a JWT, read without checking its signature.
pub fn claims(jwt: &str) -> Value {
    let payload =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, jwt.split('.').nth(1).unwrap());
    serde_json::from_slice(&payload.unwrap()).unwrap()
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl TestServer {
    /// Starts a production-mode daemon; `tweak` may change its environment first.
    pub async fn start(tweak: impl FnOnce(&mut HashMap<String, String>, &tempfile::TempDir)) -> Self {
        Self::boot(&[], tweak).await
    }

    /// `augchatd demo` over plain HTTP with no model configured: the built-in offline model answers.
    pub async fn offline_demo() -> Self {
        Self::boot(&["demo"], |env, _| {
            for tls in ["AUGCHATD_TLS_CERT", "AUGCHATD_TLS_KEY", "AUGCHATD_CLIENT_CA"] {
                env.remove(tls);
            }
        })
        .await
    }

    /// Starts the daemon with command-line `args`; `tweak` may change its environment first.
    pub async fn boot(args: &[&str], tweak: impl FnOnce(&mut HashMap<String, String>, &tempfile::TempDir)) -> Self {
        install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::create(dir.path());
        let s3 = S3Peer::start(&dir.path().join("s3"), S3_KEY_ID, S3_SECRET).await;
        let llm = LlmPeer::start();
        let mut env: HashMap<String, String> = [
            ("AUGCHATD_TLS_CERT", pki.server_cert.to_str().unwrap()),
            ("AUGCHATD_TLS_KEY", pki.server_key.to_str().unwrap()),
            ("AUGCHATD_CLIENT_CA", pki.client_ca.to_str().unwrap()),
            ("AUGCHATD_JWT_SECRET", JWT_SECRET),
            ("AUGCHATD_DATA_DIR", dir.path().join("data").to_str().unwrap()),
            ("AUGCHATD_ANTHROPIC_BASE_URL", &llm.base),
            ("AUGCHATD_OPENAI_BASE_URL", &format!("{}/v1", llm.base)),
            // Never the developer's own local/demo_session.json.
            ("AUGCHATD_DEMO_SESSION_FILE", dir.path().join("no-demo-session.json").to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        tweak(&mut env, &dir);
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let config = Config::load(&args, env).unwrap();
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let app = Application::build(config, |_| std::net::TcpListener::bind("127.0.0.1:0")).await.unwrap();
        let base = format!("{scheme}://127.0.0.1:{}", app.port());
        let server = app.into_server();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let client = |identity: Option<String>| {
            // Idle connections are dropped before the daemon's 5 s keep-alive closes them, so a request after
            // a long pause (an `npm ci` in the middle of a test) never lands on a connection being closed.
            let mut builder = reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(3))
                .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()]);
            if let Some(identity) = identity {
                builder = builder.identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap());
            }
            builder.build().unwrap()
        };
        let (browser, acme, globex) =
            (client(None), client(Some(pki.integrator("acme"))), client(Some(pki.integrator("globex"))));
        Self { base, pki, s3, llm, dir, browser, acme, globex, handle }
    }

    /// A client presenting `identity` (cert + key PEM).
    pub fn client_with(&self, identity: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.pki.ca_pem.as_bytes()).unwrap()])
            .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The storage object pointing at the S3 peer.
    pub fn storage(&self) -> Value {
        json!({"s3": {
            "endpoint": self.s3.endpoint(), "region": "us-east-1", "bucket": BUCKET, "prefix": "chats/",
            "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET
        }})
    }

    /// A minimal valid `POST /sessions` body for `user`.
    pub fn session_body(&self, user: &str) -> Value {
        json!({
            "user_id": user,
            "system_prompt": "You are a helpful assistant.",
            "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-5", "api_key": GOOD_KEY},
            "storage": self.storage(),
        })
    }

    /// Mints a session as `client`, returning status and body.
    pub async fn post_session(&self, client: &reqwest::Client, body: &Value) -> (u16, Value) {
        let res = client.post(self.url("/sessions")).json(body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Mints a session for `user` as tenant acme and returns (session_id, jwt).
    pub async fn mint(&self, user: &str) -> (String, String) {
        let (status, body) = self.post_session(&self.acme, &self.session_body(user)).await;
        assert_eq!(status, 200, "{body}");
        (body["session_id"].as_str().unwrap().to_owned(), body["jwt"].as_str().unwrap().to_owned())
    }

    /// A fresh demo session's JWT.
    pub async fn demo_jwt(&self) -> String {
        let body: Value = self.browser.post(self.url("/demo/sessions")).send().await.unwrap().json().await.unwrap();
        body["jwt"].as_str().unwrap().to_owned()
    }

    /// `POST path` with a JSON body and the JWT; returns status and body.
    pub async fn post_with_jwt(&self, path: &str, jwt: &str, body: &Value) -> (u16, Value) {
        let res = self.browser.post(self.url(path)).bearer_auth(jwt).json(body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `DELETE path` with the JWT; returns the status.
    pub async fn delete_with_jwt(&self, path: &str, jwt: &str) -> u16 {
        self.browser.delete(self.url(path)).bearer_auth(jwt).send().await.unwrap().status().as_u16()
    }

    /// Sends one chat turn and reads the whole stream; returns status, headers and body.
    pub async fn chat(&self, jwt: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, String) {
        let res = self.browser.post(self.url("/chat")).bearer_auth(jwt).json(body).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.text().await.unwrap())
    }

    /// `GET path` with `Authorization: Bearer <jwt>` from the browser client.
    pub async fn get_with_jwt(&self, path: &str, jwt: &str) -> (u16, Value) {
        let res = self.browser.get(self.url(path)).bearer_auth(jwt).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}
