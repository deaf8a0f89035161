//! The JWT extractor shared by every browser route (SPEC §2.0): `Authorization: Bearer <jwt>`, scheme
//! case-insensitive; then signature and expiry; then the routing header against the `rk` claim; then
//! the registry. It runs before any body parsing, so a bad token with a bad body is a 401.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use augchatd_actors::audit::{AuditEvent, AuthFailure};
use augchatd_actors::ids::SessionId;
use augchatd_actors::record::SessionRecord;

use super::AppState;
use super::error::ApiError;
use super::routing;
use super::tls::IntegratorTrust;
use crate::jwt::{JwtError, Verified};

/// The live session behind the request's JWT.
pub struct Authed(pub Arc<SessionRecord>);

impl FromRequest for Authed {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else { return ready(Err(ApiError::Internal)) };
        let refused = |failure| {
            audit_refusal(state, req, failure);
            match failure {
                AuthFailure::MissingJwt => ApiError::MissingJwt,
                AuthFailure::SessionGone => ApiError::SessionGone,
                _ => ApiError::InvalidJwt,
            }
        };
        let verified = match verify(state, req) {
            Ok(verified) => verified,
            Err(failure) => return ready(Err(refused(failure))),
        };
        // Before the registry: a mismatched routing header is the client's error on every daemon,
        // whether or not this one happens to hold the session.
        if let Err(e) = routing::check(req, &verified.rk) {
            return ready(Err(e));
        }
        let record = SessionId::try_from(verified.sid).ok().and_then(|sid| state.registry.get(&sid));
        ready(record.map(Authed).ok_or_else(|| refused(AuthFailure::SessionGone)))
    }
}

fn verify(state: &AppState, req: &HttpRequest) -> Result<Verified, AuthFailure> {
    let token = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or(AuthFailure::MissingJwt)?;
    state.jwt.verify(token).map_err(|e| match e {
        JwtError::Expired => AuthFailure::ExpiredJwt,
        _ => AuthFailure::InvalidJwt,
    })
}

/// One `auth.failed` audit line: why, the route pattern (never the raw path) and the client address.
pub(crate) fn audit_refusal(state: &AppState, req: &HttpRequest, reason: AuthFailure) {
    if state.audit.enabled() {
        let route = req.match_pattern().unwrap_or_else(|| "(no route)".to_owned());
        // Behind a pinned proxy, the client's address is the one the proxy forwarded.
        let peer = match req.app_data::<web::Data<IntegratorTrust>>() {
            Some(trust) => trust.client_ip(req),
            None => req.peer_addr().map(|addr| addr.ip()),
        };
        state.audit.record(AuditEvent::AuthFailed { reason, route, peer });
    }
}

/// `^Bearer\s+(.+)$`, scheme case-insensitive.
pub(crate) fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case("bearer") || !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some(rest.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer \t abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "", "Bé"] {
            assert_eq!(bearer_token(bad), None, "{bad:?}");
        }
    }
}
