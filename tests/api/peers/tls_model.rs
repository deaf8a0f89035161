//! A model provider's edge as providers run it: TLS, offering HTTP/2 by ALPN, with a cap on the streams of
//! one connection (`SETTINGS_MAX_CONCURRENT_STREAMS`, 1 here; real edges allow about a hundred, and a busy
//! daemon has thousands of turns). It speaks just enough Anthropic: the key probe (`GET /v1/models`) and
//! `POST /v1/messages` streaming `Hello there.`; a request whose body contains `hold` stops after
//! `Hello ` until `release`. The certificate comes from the test PKI; the daemon trusts its CA through
//! `SSL_CERT_FILE`, as an operator would add a private CA.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use tokio::sync::watch;

use super::llm::GOOD_KEY;
use super::pki::Pki;

pub struct TlsModel {
    /// `https://localhost:<port>`.
    pub base: String,
    /// The CA that signed the server's certificate, as a PEM file.
    pub ca_file: PathBuf,
    /// The HTTP version of every request, in arrival order.
    pub versions: Arc<Mutex<Vec<Version>>>,
    gate: Arc<watch::Sender<bool>>,
}

fn event(name: &str, data: serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

fn reply_head() -> Bytes {
    let mut head = event("message_start", json!({"type": "message_start", "message": {"id": "m", "content": []}}));
    for piece in [
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello "}}),
        ),
    ] {
        head = [head, piece].concat().into();
    }
    head
}

fn reply_tail() -> Bytes {
    [
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "there."}}),
        ),
        event("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
        ),
        event("message_stop", json!({"type": "message_stop"})),
    ]
    .concat()
    .into()
}

type Body = BoxBody<Bytes, Infallible>;

async fn answer(req: Request<Incoming>, gate: watch::Receiver<bool>) -> Response<Body> {
    let authorized = req.headers().get("x-api-key").is_some_and(|k| k == GOOD_KEY);
    if !authorized {
        return Response::builder().status(401).body(Full::new(Bytes::new()).boxed()).unwrap();
    }
    if req.uri().path() == "/v1/models" {
        let models = json!({"data": [{"type": "model", "id": "claude-haiku-4-5"}], "has_more": false});
        return Response::new(Full::new(Bytes::from(models.to_string())).boxed());
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let hold = String::from_utf8_lossy(&body).contains("hold");
    let tail = async move {
        if hold {
            let mut gate = gate;
            let _ = gate.wait_for(|open| *open).await;
        }
        reply_tail()
    };
    let frames = futures_util::stream::once(async { reply_head() })
        .chain(futures_util::stream::once(tail))
        .map(|bytes| Ok::<_, Infallible>(Frame::data(bytes)));
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(BodyExt::boxed(StreamBody::new(frames)))
        .unwrap()
}

impl TlsModel {
    /// Starts the edge on 127.0.0.1:0 with a certificate for `localhost`; files go under `dir`.
    pub async fn start(dir: &Path) -> Self {
        let pki = Pki::create(dir);
        let ca_file = dir.join("model-ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).unwrap();
        let certs = CertificateDer::pem_file_iter(&pki.server_cert).unwrap().map(Result::unwrap).collect();
        let key = PrivateKeyDer::from_pem_file(&pki.server_key).unwrap();
        let mut tls = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key).unwrap();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://localhost:{}", listener.local_addr().unwrap().port());
        let gate = Arc::new(watch::Sender::new(false));
        let versions = Arc::new(Mutex::new(Vec::new()));
        let (opened, seen) = (Arc::clone(&gate), Arc::clone(&versions));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, opened, seen) = (acceptor.clone(), Arc::clone(&opened), Arc::clone(&seen));
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        seen.lock().unwrap().push(req.version());
                        let gate = opened.subscribe();
                        async move { Ok::<_, Infallible>(answer(req, gate).await) }
                    });
                    let mut server = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    server.http2().max_concurrent_streams(1);
                    let _ = server.serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        TlsModel { base, ca_file, versions, gate }
    }

    /// Lets every held reply finish.
    pub fn release(&self) {
        self.gate.send_replace(true);
    }
}
