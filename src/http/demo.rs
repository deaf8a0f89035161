//! Demo routes (SPEC §7), mounted only in demo mode: the `/demo/` wrapper page that embeds the UI and
//! answers its handshake, `POST /demo/sessions`, and the Design A alias `GET /demo/jwt`.
//! Every call mints a new session for tenant `demo` from the boot-time template.

use actix_web::http::header::{CACHE_CONTROL, ContentType};
use actix_web::{HttpResponse, web};
use augchatd_actors::ids::TenantId;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::sessions::{Minted, mint};

fn mint_demo(state: &AppState) -> Result<(Minted, &'static str), ApiError> {
    let template = state.demo.as_ref().ok_or(ApiError::NotFound)?;
    let minted = mint(state, TenantId::demo(), template.spec.clone(), template.ttl_seconds)?;
    Ok((minted, template.spec.theme.as_str()))
}

/// `POST /demo/sessions` → `{session_id, jwt, expires_at, theme}`.
pub async fn create_session(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (m, theme) = mint_demo(&state)?;
    Ok(HttpResponse::Ok().json(json!({
        "session_id": m.session_id, "jwt": m.jwt, "expires_at": m.expires_at, "theme": theme,
    })))
}

/// `GET /demo/jwt` → `{jwt, theme}` for a freshly minted session (Design A compatibility).
pub async fn jwt(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (m, theme) = mint_demo(&state)?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(json!({"jwt": m.jwt, "theme": theme})))
}

/// `GET /demo`, `/demo/`, `/demo/<path>`: the wrapper page. The iframe shows `<path>` of the UI.
pub async fn wrapper() -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::html()).insert_header((CACHE_CONTROL, "no-cache")).body(WRAPPER_HTML)
}

/// A self-contained parent page: it embeds the UI same-origin, answers `augchatd:ready` with a fresh
/// demo JWT, and mirrors the UI's route into its own URL so a reload returns to the conversation.
const WRAPPER_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>augchatd — demo</title>
<style>html,body{margin:0;height:100%}iframe{border:0;width:100%;height:100%;display:block}
p{font:16px system-ui,sans-serif;padding:2rem;color:#b00020}</style>
</head>
<body>
<iframe id="app" title="augchatd chat"></iframe>
<script>
(function () {
  var frame = document.getElementById('app');
  var inner = location.pathname.replace(/^\/demo/, '') || '/';
  frame.src = inner + location.search;
  window.addEventListener('message', function (e) {
    if (e.origin !== location.origin || e.source !== frame.contentWindow || !e.data) return;
    if (e.data.type === 'augchatd:ready') {
      fetch('/demo/sessions', { method: 'POST' })
        .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
        .then(function (s) {
          frame.contentWindow.postMessage({ type: 'augchatd:jwt', jwt: s.jwt, theme: s.theme }, location.origin);
        })
        .catch(function (err) {
          var p = document.createElement('p');
          p.textContent = 'augchatd demo: failed to mint session — ' + err.message;
          frame.replaceWith(p);
        });
    } else if (e.data.type === 'augchatd:route' && typeof e.data.path === 'string') {
      history.replaceState(null, '', e.data.path === '/' ? '/demo/' : '/demo' + e.data.path);
    }
  });
})();
</script>
</body>
</html>
"#;
