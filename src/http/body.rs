//! Request bodies: read with a size limit, parsed as a JSON object, so every route answers bad input
//! with the same tokens (`body_too_large`, `invalid_json`, `body_must_be_object`).

use actix_web::web;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::provision::FieldError;

/// The largest JSON body a route reads. A session body with many connectors is a few KB; a chat
/// thread can be larger, and its route sets its own limit.
pub const MAX_JSON_BODY: usize = 256 * 1024;

/// Reads the whole body, refusing more than `limit` bytes and a client slower than `deadline` (a
/// trickled body would otherwise hold a connection and its buffer for as long as the client likes).
pub async fn read_limited(
    mut payload: web::Payload,
    limit: usize,
    deadline: std::time::Duration,
) -> Result<web::Bytes, ApiError> {
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| ApiError::InvalidJson)?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::BodyTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(deadline, read).await.map_err(|_| ApiError::BodyTimeout)?
}

/// Parses a body that must be a JSON object.
pub fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::Field(FieldError {
            code: "body_must_be_object",
            detail: "the body must be a JSON object".into(),
        })),
        Err(_) => Err(ApiError::InvalidJson),
    }
}
