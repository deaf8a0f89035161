//! Scale-out routing (README "Scale-out"): several daemons behind a load balancer that hashes on a
//! routing key, so all traffic of one (tenant, user) reaches the one daemon holding their hot file.
//!
//! The key is a routing hint, never a credential: it is the first 8 bytes (16 hex digits) of
//! SHA-256 over `augchatd-route`, NUL, the tenant, NUL, the user. Anyone who knows a tenant and a user
//! id can compute it (the integrator must, to route its `POST /sessions` before it has one); it does not
//! show the user id to anyone who does not already know it. It travels in the JWT's `rk` claim, in the
//! mint response's `route_key`, and in the `X-Augchatd-Route` header browsers and integrators send.
//! Invariant: a request whose header names another key than the one of its (tenant, user) is refused
//! with 400 `route_mismatch`, so a client that would be balanced to the wrong daemon shows up at once
//! instead of reading or writing another daemon's copy of the user's files. No header: no check (one
//! daemon needs none).

use actix_web::HttpRequest;
use augchatd_actors::ids::{TenantId, UserId};

use super::error::ApiError;

/// The header a balancer hashes on.
pub const ROUTE_HEADER: &str = "x-augchatd-route";

/// The routing key of one (tenant, user): 16 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteKey(String);

impl RouteKey {
    /// The key of `user` of `tenant`.
    pub fn of(tenant: &TenantId, user: &UserId) -> Self {
        let input = format!("augchatd-route\0{}\0{}", tenant.as_str(), user.as_str());
        let mut hex = super::tls::sha256_hex(input.as_bytes());
        hex.truncate(16);
        Self(hex)
    }

    /// The key as the claim, the response field and the header carry it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Refuses a request whose every `X-Augchatd-Route` header does not name `expected`.
pub fn check(req: &HttpRequest, expected: &str) -> Result<(), ApiError> {
    let agrees = req.headers().get_all(ROUTE_HEADER).all(|value| value.as_bytes() == expected.as_bytes());
    if agrees { Ok(()) } else { Err(ApiError::RouteMismatch) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use actix_web::test::TestRequest;

    use super::*;

    fn key(tenant: &str, user: &str) -> RouteKey {
        RouteKey::of(&TenantId::try_from(tenant.to_owned()).unwrap(), &UserId::try_from(user.to_owned()).unwrap())
    }

    #[test]
    fn the_key_is_stable_hex_that_separates_tenant_from_user() {
        // The README's shell recipe gives the same digits:
        // printf 'augchatd-route\0acme\0alice' | sha256sum | cut -c1-16
        assert_eq!(key("acme", "alice").as_str(), "e6fde36ab6472d31");
        assert_eq!(key("acme", "alice"), key("acme", "alice"));
        assert_ne!(key("acme", "alice"), key("acme", "bob"));
        assert_ne!(key("ab", "c"), key("a", "bc"));
        assert!(!key("acme", "alice").as_str().contains("alice"));
    }

    #[test]
    fn only_an_absent_or_equal_header_passes() {
        let expected = key("acme", "alice");
        let expected = expected.as_str();
        assert!(check(&TestRequest::default().to_http_request(), expected).is_ok());
        let same = TestRequest::default().insert_header((ROUTE_HEADER, expected)).to_http_request();
        assert!(check(&same, expected).is_ok());
        for other in [key("acme", "bob").as_str(), &expected.to_uppercase(), "", "x"] {
            let req = TestRequest::default().insert_header((ROUTE_HEADER, other)).to_http_request();
            assert!(matches!(check(&req, expected), Err(ApiError::RouteMismatch)), "{other:?}");
        }
        let twice = TestRequest::default()
            .append_header((ROUTE_HEADER, expected))
            .append_header((ROUTE_HEADER, "x"))
            .to_http_request();
        assert!(check(&twice, expected).is_err());
    }
}
