//! Per-conversation connector toggles and model override (JWT): `GET /conversations/:cid/connectors`,
//! `PUT /conversations/:cid/connectors/:descriptive_id`, `PUT /conversations/:cid/model` (SPEC §2.9,
//! §2.10, §2.12).
//! Invariant: a connector leaves here as `descriptive_id`, `name`, `type` and `active` only, never with
//! its URL, cluster, indexes or credentials. Nothing here creates a conversation (SPEC §12 decision 8)
//! or widens the scope: a PUT can only name a connector the integrator put in the session.

use actix_web::{HttpResponse, web};
use augchatd_actors::connector_state::{
    ModelOverride, ObserveConnectors, ReadConnectorFlags, SetConnectorActive, SetModelOverride,
};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Authed;
use super::body::{MAX_JSON_BODY, json_object, read_limited};
use super::conversations::{ask, connector_defaults, path_cid, writable};
use super::error::ApiError;
use super::hydrate::hydrate_if_missing;
use super::models::session_models;
use crate::provision::FieldError;

/// A 400 with `code` as its token and `detail` naming the field.
fn invalid(code: &'static str, detail: &str) -> ApiError {
    ApiError::Field(FieldError { code, detail: detail.to_owned() })
}

/// The value of a body that must be exactly `{"<field>": …}`; any other key set is `only_field_code`.
fn only_field(body: &[u8], field: &str, only_field_code: &'static str) -> Result<Value, ApiError> {
    let mut object = json_object(body)?;
    let value = object.remove(field).filter(|_| object.is_empty());
    value.ok_or_else(|| invalid(only_field_code, &format!("the body must be exactly {{\"{field}\": …}}")))
}

/// `GET /conversations/:cid/connectors`: the session's scope, in its order, with this conversation's
/// flags. First observations are snapshotted and flags of connectors gone from scope are dropped,
/// except while the user is read-only: reads keep working then (SPEC §6.5), so the answer is computed
/// from the saved flags and the defaults without writing.
pub async fn list(
    authed: Authed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = &authed.0;
    let cid = path_cid(path.into_inner())?;
    // Unknown means absent from hot and from cold (SPEC §12 decision 8), so cold is asked first.
    hydrate_if_missing(&state, record, &cid).await?;
    let in_scope = connector_defaults(record);
    let flags = if state.flushers.is_read_only(&record.tenant, &record.spec.user) {
        ask(&state, record, ReadConnectorFlags { cid, in_scope }).await??
    } else {
        let observed = ask(&state, record, ObserveConnectors { cid: cid.clone(), in_scope }).await??;
        if observed.written {
            state.flushers.touched(&record.tenant, &record.spec.user, &cid, &record.id);
        }
        observed.flags
    };
    // The writer answers one flag per in-scope connector, in the order it was sent.
    let listed: Vec<Value> = record
        .spec
        .connectors
        .iter()
        .zip(&flags)
        .map(|(connector, (_, active))| {
            json!({
                "descriptive_id": connector.descriptive_id,
                "name": connector.name,
                "type": connector.type_name(),
                "active": active,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(listed))
}

/// `PUT /conversations/:cid/connectors/:descriptive_id` with `{"active": <bool>}`, checked in SPEC §2.10
/// order. The change applies to the saved flag at once; a turn already streaming keeps its snapshot.
pub async fn set_active(
    authed: Authed,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let record = &authed.0;
    // Read-only is checked before the body is read, as on every write route.
    writable(&state, record)?;
    let body = read_limited(payload, MAX_JSON_BODY, state.slow_client).await?;
    let Value::Bool(active) = only_field(&body, "active", "only_active_field_allowed")? else {
        return Err(invalid("active_must_be_boolean", "active must be a boolean"));
    };
    let (raw_cid, descriptive_id) = path.into_inner();
    let cid = path_cid(raw_cid)?;
    hydrate_if_missing(&state, record, &cid).await?;
    if !record.spec.connectors.iter().any(|c| c.descriptive_id == descriptive_id) {
        // An unknown conversation is reported first (SPEC §2.10 step 5 before step 6); this read writes nothing.
        ask(&state, record, ModelOverride { cid }).await??;
        return Err(ApiError::ConnectorNotInScope);
    }
    ask(&state, record, SetConnectorActive { cid: cid.clone(), descriptive_id: descriptive_id.clone(), active })
        .await??;
    state.flushers.touched(&record.tenant, &record.spec.user, &cid, &record.id);
    if state.turns.contains(&(record.tenant.clone(), record.spec.user.clone(), cid.clone())) {
        state
            .traces
            .conversation(&cid, &record.id)
            .event("connector.toggle.deferred", json!({"descriptive_id": descriptive_id, "active": active}));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /conversations/:cid/model` with `{"model_id": "<id>"}`, checked in SPEC §2.12 order. The id must
/// be in the session's model list; provider and key stay with the session.
pub async fn set_model(
    authed: Authed,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let record = &authed.0;
    writable(&state, record)?;
    let body = read_limited(payload, MAX_JSON_BODY, state.slow_client).await?;
    let model_id = match only_field(&body, "model_id", "only_model_id_field_allowed")? {
        Value::String(model_id) if !model_id.is_empty() => model_id,
        _ => return Err(invalid("model_id_must_be_non_empty_string", "model_id must be a non-empty string")),
    };
    let cid = path_cid(path.into_inner())?;
    hydrate_if_missing(&state, record, &cid).await?;
    // An unknown conversation is reported before the provider is asked (SPEC §2.12).
    ask(&state, record, ModelOverride { cid: cid.clone() }).await??;
    let (models, _cached) = session_models(&state, &authed).await?;
    if !models.iter().any(|m| m.id == model_id) {
        return Err(invalid("unknown_model_id", "model_id is not in the session's model list"));
    }
    ask(&state, record, SetModelOverride { cid: cid.clone(), model_id }).await??;
    state.flushers.touched(&record.tenant, &record.spec.user, &cid, &record.id);
    Ok(HttpResponse::NoContent().finish())
}
