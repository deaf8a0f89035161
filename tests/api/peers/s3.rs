//! A real S3-compatible server that checks SigV4 (s3s + s3s-fs), in-process on 127.0.0.1:0.

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;

pub const S3_KEY_ID: &str = "AKIDTEST";
pub const S3_SECRET: &str = "SECRETTEST";
pub const BUCKET: &str = "cold";

pub struct S3Peer {
    pub addr: SocketAddr,
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
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http.serve_connection(TokioIo::new(sock), service.clone()).into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Self { addr, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for S3Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
