//! A real browser: `web/e2e/run.mjs` plays a scenario in Debian's Chromium through playwright-core,
//! and an integrator's parent page on another origin embeds the daemon's UI and answers its JWT
//! handshake from a queue of JWTs the test minted. The Rust tests assert on what the driver reports
//! (snapshots of the UI's `data-testid` elements) and on the daemon's state.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use serde_json::Value;

/// The integrator's page: `GET /<path>` embeds the UI at `<path>`, answers each `augchatd:ready` with the
/// next JWT, and follows the UI's `augchatd:route` in its own URL.
#[derive(Clone, Default)]
pub struct ParentPage {
    /// `http://127.0.0.1:<port>`: the parent origin the daemon must allow.
    pub origin: String,
    app: Arc<Mutex<String>>,
    jwts: Arc<Mutex<VecDeque<String>>>,
    handshakes: Arc<AtomicUsize>,
    hook: Arc<Mutex<Option<Hook>>>,
}

/// What `GET /hook` runs: lets a scenario change the world (e.g. heal S3) at a chosen step.
type Hook = Box<dyn Fn() + Send>;

async fn page(parent: web::Data<ParentPage>, path: web::Path<String>) -> HttpResponse {
    let app = parent.app.lock().unwrap().clone();
    let src = format!("{app}/{}?parent_origin={}", path.into_inner(), parent.origin);
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        r#"<!doctype html><meta charset="utf-8"><title>Integrator</title>
<body style="margin:0"><iframe id="app" src="{src}" style="border:0;width:100vw;height:100vh"></iframe>
<script>
addEventListener('message', async (e) => {{
  if (e.origin !== '{app}' || !e.data) return;
  // The UI's route, kept in this page's URL, so a reload reopens the same conversation.
  if (e.data.type === 'augchatd:route') return history.replaceState(null, '', e.data.path);
  if (e.data.type !== 'augchatd:ready') return;
  const jwt = await (await fetch('/jwt')).text();
  document.getElementById('app').contentWindow.postMessage({{type: 'augchatd:jwt', jwt}}, '{app}');
}});
</script>"#
    ))
}

/// A hostile page: allowed to frame the UI, but it is not the origin the UI was told to trust. It
/// claims `claimed` as the parent and keeps pushing JWTs at the frame.
async fn spoof(
    parent: web::Data<ParentPage>,
    claimed: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let app = parent.app.lock().unwrap().clone();
    let claimed = claimed.get("claimed").cloned().unwrap_or_default();
    let jwt = parent.jwts.lock().unwrap().front().cloned().unwrap_or_default();
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        r#"<!doctype html><meta charset="utf-8"><body style="margin:0">
<iframe id="app" src="{app}/?parent_origin={claimed}" style="border:0;width:100vw;height:100vh"></iframe>
<script>
setInterval(() => document.getElementById('app').contentWindow.postMessage({{type: 'augchatd:jwt', jwt: '{jwt}'}}, '*'), 200);
</script>"#
    ))
}

async fn hook(parent: web::Data<ParentPage>) -> HttpResponse {
    if let Some(hook) = parent.hook.lock().unwrap().as_ref() {
        hook();
    }
    HttpResponse::NoContent().finish()
}

async fn next_jwt(parent: web::Data<ParentPage>) -> HttpResponse {
    parent.handshakes.fetch_add(1, Ordering::SeqCst);
    let mut jwts = parent.jwts.lock().unwrap();
    // The last JWT answers every later handshake.
    let jwt = if jwts.len() > 1 { jwts.pop_front() } else { jwts.front().cloned() };
    HttpResponse::Ok().content_type("text/plain").body(jwt.unwrap_or_default())
}

impl ParentPage {
    /// Listens on a fresh port; the UI's origin is set once the daemon is up.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let parent = ParentPage { origin: format!("http://{}", listener.local_addr().unwrap()), ..Default::default() };
        let data = web::Data::new(parent.clone());
        super::serve(listener, move |cfg| {
            cfg.app_data(data.clone())
                .route("/jwt", web::get().to(next_jwt))
                .route("/spoof", web::get().to(spoof))
                .route("/hook", web::get().to(hook))
                .route("/{path:.*}", web::get().to(page));
        });
        parent
    }

    /// Where the UI is served (the daemon's base URL).
    pub fn embed(&self, app: &str) {
        *self.app.lock().unwrap() = app.to_owned();
    }

    /// Queues JWTs for the next handshakes.
    pub fn give(&self, jwts: &[&str]) {
        self.jwts.lock().unwrap().extend(jwts.iter().map(|j| (*j).to_owned()));
    }

    /// Runs `f` each time a scenario's `{"fetch": "<origin>/hook"}` step runs.
    pub fn on_hook(&self, f: impl Fn() + Send + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(f));
    }

    /// How many times the UI asked for a JWT.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// Plays `scenario` (see web/e2e/run.mjs) in Chromium; returns `{snapshots, consoleErrors}`.
/// Runs on a blocking thread, so the daemon and peers on this test's runtime keep serving.
pub async fn play(scenario: Value) -> Value {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/e2e");
    super::npm_ci_once(&e2e, "playwright-core/package.json");
    let output = tokio::task::spawn_blocking(move || {
        // A driver that hangs fails the test (exit 124) instead of holding the suite.
        Command::new("timeout")
            .args(["--kill-after=10", "300", "node"])
            .arg(e2e.join("run.mjs"))
            .arg(scenario.to_string())
            .current_dir(&e2e)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "browser scenario failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "the UI logged errors");
    report
}

/// The texts of one kind of element in a snapshot.
pub fn texts(snapshot: &Value, testid: &str) -> Vec<String> {
    snapshot[testid].as_array().unwrap().iter().map(|e| e["text"].as_str().unwrap_or_default().to_owned()).collect()
}
