//! `GET /healthz`: no auth in either mode; `mode` is the deploy gate (a prod deploy reporting demo
//! must fail, SPEC §2.3).

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;

/// `200 {"mode":"demo"|"prod","status":"ok"}`.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"mode": state.mode.as_str(), "status": "ok"}))
}
