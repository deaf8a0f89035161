//! `GET /metrics`: the Prometheus scrape, in both modes. With `AUGCHATD_METRICS_TOKEN` set it demands
//! `Authorization: Bearer <token>`; without it the route is open (bind the port privately then).
//! Invariant: the token is compared in constant time and never logged or echoed.

use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use augchatd_actors::audit::AuthFailure;

use super::AppState;
use super::auth::{audit_refusal, bearer_token};
use super::error::ApiError;
use crate::metrics::{self, Sources};

/// `200 text/plain; version=0.0.4`, or 401 `metrics_unauthorized`.
pub async fn scrape(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &state.metrics_token {
        let presented = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
        if !presented.is_some_and(|token| same_bytes(token.as_bytes(), expected.expose().as_bytes())) {
            audit_refusal(&state, &req, AuthFailure::MetricsToken);
            return Err(ApiError::MetricsUnauthorized);
        }
    }
    let body = metrics::render(&Sources {
        metrics: &state.metrics,
        registry: &state.registry,
        user_dbs: &state.user_dbs,
        flushers: &state.flushers,
    });
    Ok(HttpResponse::Ok().insert_header((CONTENT_TYPE, metrics::text::CONTENT_TYPE)).body(body))
}

/// Equality whose time depends on the lengths only, not on where the first difference is, so a
/// scraper cannot find the token byte by byte.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_when_every_byte_does() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"abcd"));
        assert!(!same_bytes(b"", b"a"));
    }
}
