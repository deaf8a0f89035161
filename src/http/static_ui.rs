//! The bundled UI, served same-origin (SPEC §8.6): files from `static/` (embedded in the binary, or
//! read from `AUGCHATD_UI_DIR`), any other non-API GET falls back to `index.html` for client routes.
//! Hashed assets are cached for good; `index.html` is revalidated every time. A CSP limits who may
//! frame the UI to this origin and the allowed parent origins.

use std::borrow::Cow;
use std::path::Path;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, ContentType, X_CONTENT_TYPE_OPTIONS};
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::error::ApiError;

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct Embedded;

/// Whether `path` is under the first segment of a route of either mode: those paths belong to the API
/// and are never answered with the UI (SPEC §2.0). Taken from `ROUTES`, so a new route needs no list here.
fn is_api_path(path: &str) -> bool {
    let segment = first_segment(path);
    super::ROUTES.iter().any(|route| first_segment(route.path) == segment)
}

fn first_segment(path: &str) -> &str {
    path.split('/').nth(1).unwrap_or_default()
}

/// The `Content-Security-Policy` of UI pages.
pub fn csp(allowed_parent_origins: &[String]) -> String {
    let ancestors: String = allowed_parent_origins.iter().map(|o| format!(" {o}")).collect();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'{ancestors}"
    )
}

/// Fallback for every request no route matched.
pub async fn fallback(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if req.method() != actix_web::http::Method::GET || is_api_path(path) {
        return Err(ApiError::NotFound);
    }
    let file = path.trim_start_matches('/');
    if let Some((bytes, name)) =
        load(&state, file).map(|b| (b, file)).or_else(|| load(&state, "index.html").map(|b| (b, "index.html")))
    {
        let mime = mime_of(name);
        let cache = if name.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
        return Ok(HttpResponse::Ok()
            .content_type(mime)
            .insert_header((CACHE_CONTROL, cache))
            .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((CONTENT_SECURITY_POLICY, state.csp.as_str()))
            .body(bytes.into_owned()));
    }
    Ok(HttpResponse::ServiceUnavailable()
        .content_type(ContentType::plaintext())
        .body("augchatd: bundled UI is not built. Run `npm ci && npm run build` in web/."))
}

fn load(state: &AppState, file: &str) -> Option<Cow<'static, [u8]>> {
    if file.is_empty() || file.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return None;
    }
    match &state.ui_dir {
        Some(dir) => std::fs::read(dir.join(Path::new(file))).ok().map(Cow::Owned),
        None => Embedded::get(file).map(|f| f.data),
    }
}

/// The content type for a UI file, by extension; the UI ships only these kinds.
fn mime_of(name: &str) -> String {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        _ => "application/octet-stream",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_matched_by_segment() {
        assert!(is_api_path("/sessions") && is_api_path("/sessions/x") && is_api_path("/session/models"));
        assert!(!is_api_path("/sessionsx") && !is_api_path("/c/abc") && !is_api_path("/"));
        assert!(is_api_path("/metrics") && is_api_path("/openapi.json") && is_api_path("/demo/x"));
    }

    #[test]
    fn the_csp_lets_only_allowed_parents_frame_the_ui() {
        let csp = csp(&["https://app.example".to_owned()]);
        assert!(csp.ends_with("frame-ancestors 'self' https://app.example"));
    }
}
