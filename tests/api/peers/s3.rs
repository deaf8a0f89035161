//! A real S3-compatible server that checks SigV4 (s3s + s3s-fs), in-process on 127.0.0.1:0, behind a
//! fault injector the test can flip: answer normally, or refuse every request with a 503.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;

pub const S3_KEY_ID: &str = "AKIDTEST";
pub const S3_SECRET: &str = "SECRETTEST";
pub const BUCKET: &str = "cold";

pub struct S3Peer {
    pub addr: SocketAddr,
    root: PathBuf,
    failing: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl S3Peer {
    /// Serves `root` with one bucket, accepting only `key_id`/`secret`.
    pub async fn start(root: &Path, key_id: &str, secret: &str) -> Self {
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root).unwrap();
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(key_id, secret));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let failing = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (fail, count) = (Arc::clone(&failing), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((sock, _)) = listener.accept().await else { continue };
                let (service, fail, count) = (service.clone(), Arc::clone(&fail), Arc::clone(&count));
                let faulty = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (service, fail) = (service.clone(), Arc::clone(&fail));
                    count.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if fail.load(Ordering::SeqCst) {
                            let body = s3s::Body::from("<Error><Code>SlowDown</Code></Error>".to_owned());
                            return Ok(hyper::Response::builder().status(503).body(body).unwrap());
                        }
                        hyper::service::Service::call(&service, req).await
                    }
                });
                let conn = http.serve_connection(TokioIo::new(sock), faulty).into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Self { addr, root: root.to_owned(), failing, requests, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, every request gets `503 SlowDown` (true) or is served normally (false).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
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
