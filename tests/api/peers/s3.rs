//! A real S3-compatible server that checks SigV4 (s3s + s3s-fs), in-process on 127.0.0.1:0, behind a
//! fault injector the test can flip: answer normally, close connections, answer an error status, or
//! hold requests without answering.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;

pub const S3_KEY_ID: &str = "AKIDTEST";
pub const S3_SECRET: &str = "SECRETTEST";
pub const BUCKET: &str = "cold";

/// What the server does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Serve normally.
    None,
    /// Close every new connection without an answer.
    Refuse,
    /// Answer every request with this status and an S3 error document.
    Status(u16),
    /// Never answer.
    Stall,
}

pub struct S3Peer {
    pub addr: SocketAddr,
    root: PathBuf,
    fault: Arc<Mutex<Fault>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl S3Peer {
    /// A handle that switches this peer's fault from elsewhere (another thread, a hook).
    pub fn fault_switch(&self) -> impl Fn(Fault) + Send + 'static {
        let fault = Arc::clone(&self.fault);
        move |f| *fault.lock().unwrap() = f
    }

    /// Serves `root` with one bucket, accepting only `key_id`/`secret`.
    pub async fn start(root: &Path, key_id: &str, secret: &str) -> Self {
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root).unwrap();
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(key_id, secret));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fault = Arc::new(Mutex::new(Fault::None));
        let requests = Arc::new(AtomicUsize::new(0));
        let (fail, count) = (Arc::clone(&fault), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((sock, _)) = listener.accept().await else { continue };
                if *fail.lock().unwrap() == Fault::Refuse {
                    drop(sock);
                    continue;
                }
                let (service, fail, count) = (service.clone(), Arc::clone(&fail), Arc::clone(&count));
                let faulty = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (service, fail) = (service.clone(), Arc::clone(&fail));
                    count.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let fault = *fail.lock().unwrap();
                        match fault {
                            // Kept-alive connections are cut mid-request too: the service errors, hyper closes.
                            Fault::Refuse => {
                                Err(s3s::HttpError::new("connection refused by the fault injector".into()))
                            }
                            Fault::None => hyper::service::Service::call(&service, req).await,
                            Fault::Status(status) => {
                                let code = if status == 403 { "SignatureDoesNotMatch" } else { "InternalError" };
                                let body = s3s::Body::from(format!("<Error><Code>{code}</Code></Error>"));
                                Ok(hyper::Response::builder().status(status).body(body).unwrap())
                            }
                            Fault::Stall => {
                                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                                hyper::service::Service::call(&service, req).await
                            }
                        }
                    }
                });
                let conn = http.serve_connection(TokioIo::new(sock), faulty).into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Self { addr, root: root.to_owned(), fault, requests, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, every request gets `503` (true) or is served normally (false).
    pub fn set_failing(&self, failing: bool) {
        self.set_fault(if failing { Fault::Status(503) } else { Fault::None });
    }

    /// Injects `fault` into every request from now on.
    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// How many requests reached the server.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The stored object at `key` in the bucket, if any (s3s-fs keeps objects as plain files).
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join(BUCKET).join(key)).ok()
    }
}

impl Drop for S3Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
