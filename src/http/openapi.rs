//! `GET /openapi.json`: the OpenAPI 3.1 document of every route in `http::ROUTES`, hand-maintained in
//! `openapi/openapi.json` and embedded in the binary, so the daemon serves the document it was built with.
//! Invariant: served as-is, no auth, in both modes; `tests/api/openapi.rs` keeps it equal to the route
//! table and its error schema true to `ApiError`.

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;

/// The document, as committed.
pub const DOCUMENT: &str = include_str!("../../openapi/openapi.json");

/// `GET /openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::json()).body(DOCUMENT)
}
