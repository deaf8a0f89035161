//! Request header limit, for every route. HTTP/1.1 heads are already bounded by actix's parser; an
//! HTTP/2 header list is bounded only by the h2 crate's 16 MB default, so a route could be handed
//! megabytes of headers. Refused here before any route runs, with the usual JSON error.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use super::error::ApiError;

/// The most header bytes (names and values) a request may carry: a JWT and a browser's usual headers
/// are a few KB.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// `from_fn` middleware: 431 `headers_too_large` past [`MAX_HEADER_BYTES`].
pub async fn header_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let size: usize = req.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if size > MAX_HEADER_BYTES {
        return Err(ApiError::HeadersTooLarge.into());
    }
    next.call(req).await
}
