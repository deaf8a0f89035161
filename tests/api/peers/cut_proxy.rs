//! A TCP proxy that can cut every connection through it at once, as a balancer that restarts or a
//! network blip does: the browser behind it sees its streams drop while its tab stays visible and online.

use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A proxy in front of one server.
#[derive(Clone)]
pub struct CutProxy {
    /// The proxy's base URL, with the scheme of the server behind it.
    pub base: String,
    pipes: Arc<Mutex<Vec<AbortHandle>>>,
}

impl CutProxy {
    /// Proxies to the server at `target` (`http(s)://127.0.0.1:<port>`).
    pub async fn start(target: &str) -> Self {
        let (scheme, addr) = target.split_once("://").unwrap();
        let addr = addr.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("{scheme}://{}", listener.local_addr().unwrap());
        let pipes = Arc::new(Mutex::new(Vec::new()));
        let live = Arc::clone(&pipes);
        actix_web::rt::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let addr = addr.clone();
                let pipe = actix_web::rt::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&addr).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                live.lock().unwrap().push(pipe.abort_handle());
            }
        });
        CutProxy { base, pipes }
    }

    /// Closes every connection open through the proxy (both of its sockets); returns how many were open.
    pub fn cut(&self) -> usize {
        let pipes = std::mem::take(&mut *self.pipes.lock().unwrap());
        pipes.iter().filter(|pipe| !pipe.is_finished()).inspect(|pipe| pipe.abort()).count()
    }
}
