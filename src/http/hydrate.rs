//! Hydration (SPEC §6.6): a conversation that is not in hot storage is read back from the user's bucket
//! before it is used. Missing in cold: the caller carries on (404 or auto-create). Any other cold error:
//! `503 cold_read_failed`, never an empty conversation whose next flush would overwrite the history
//! (SPEC §12 decision 11). A conversation the user deleted is never brought back.

use std::time::Duration;

use augchatd_actors::flusher::{cold_cid, cold_folder, cold_key};
use augchatd_actors::ids::ConversationId;
use augchatd_actors::record::SessionRecord;
use augchatd_actors::user_db::{ColdConversation, Hydrate, Locate, Presence, Role, StoredMessage};
use serde_json::Value;

use super::AppState;
use super::conversations::ask;
use super::error::ApiError;

/// Makes sure hot storage has `cid` if cold does.
pub async fn hydrate_if_missing(
    state: &AppState,
    record: &SessionRecord,
    cid: &ConversationId,
) -> Result<(), ApiError> {
    if ask(state, record, Locate { cid: cid.clone() }).await?? != Presence::Absent {
        return Ok(());
    }
    hydrate_from_cold(state, record, cid).await
}

/// Copies `cid` from cold storage into hot, if cold has it; hot may have it by now (then hot wins).
pub async fn hydrate_from_cold(state: &AppState, record: &SessionRecord, cid: &ConversationId) -> Result<(), ApiError> {
    let (tenant, user) = (&record.tenant, &record.spec.user);
    let Some(cold) = state.flushers.cold_store(tenant, user) else { return Ok(()) };
    let bytes = match cold.get(cold_key(tenant, user, cid)).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(()),
        Err(e) => {
            tracing::warn!(%tenant, %user, %cid, error = %e, "hydrate failed: cold read error");
            return Err(ApiError::ColdReadFailed);
        }
    };
    let conversation = parse(&bytes).ok_or_else(|| {
        tracing::error!(%tenant, %user, %cid, "hydrate failed: cold object is not a schema_version 1 conversation");
        ApiError::ColdReadFailed
    })?;
    let count = conversation.messages.len();
    ask(state, record, Hydrate { cid: cid.clone(), session: record.id.clone(), conversation }).await??;
    tracing::info!(%tenant, %user, %cid, messages = count, "conversation hydrated from cold");
    Ok(())
}

/// How long `GET /conversations` gives the bucket to list and hand back the conversations only it has,
/// before answering from hot with what it has by then: the sidebar must not hang for S3 request timeouts
/// when the bucket stalls (as it does when flushes stall). The next listing picks up the rest.
const COLD_LISTING_WAIT: Duration = Duration::from_secs(3);

/// Hydrates every conversation that only cold storage has, so `GET /conversations` lists them with
/// their titles (SPEC §12 decision 12). A bucket that cannot be listed leaves the hot list as it is, and
/// one that takes longer than `COLD_LISTING_WAIT` leaves the rest for the next listing (a conversation is
/// hydrated in one writer transaction, whole or not at all).
pub async fn hydrate_cold_only(state: &AppState, record: &SessionRecord) -> Result<(), ApiError> {
    let (tenant, user) = (&record.tenant, &record.spec.user);
    let Some(cold) = state.flushers.cold_store(tenant, user) else { return Ok(()) };
    let folder = cold_folder(tenant, user);
    let hydrate_all = async {
        let keys = match cold.list(folder.clone()).await {
            Ok(keys) => keys,
            Err(e) => {
                tracing::warn!(%tenant, %user, error = %e, "cold listing failed; listing hot conversations only");
                return;
            }
        };
        for cid in keys.iter().filter_map(|key| cold_cid(&folder, key)) {
            // One unreadable object must not hide the others: it is logged, and retried on the next listing.
            if let Err(e) = hydrate_if_missing(state, record, &cid).await {
                tracing::warn!(%tenant, %user, %cid, error = %e, "cold-only conversation left out of the listing");
            }
        }
    };
    if tokio::time::timeout(COLD_LISTING_WAIT, hydrate_all).await.is_err() {
        tracing::warn!(%tenant, %user, "cold listing too slow; listing what hot has");
    }
    Ok(())
}

/// Reads a SPEC §6.4 document.
pub(super) fn parse(bytes: &[u8]) -> Option<ColdConversation> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    if doc["schema_version"] != 1 {
        return None;
    }
    let messages = doc["messages"]
        .as_array()?
        .iter()
        .map(|m| {
            Some(StoredMessage {
                message_id: m["id"].as_str()?.to_owned(),
                ordinal: m["ordinal"].as_i64()?,
                role: Role::parse(m["role"].as_str()?)?,
                parts_json: m.get("parts").filter(|p| p.is_array())?.to_string(),
                metadata_json: m.get("metadata").filter(|v| v.is_object()).map(Value::to_string),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let connector_state = doc["connector_state"]
        .as_array()?
        .iter()
        .map(|c| Some((c["descriptive_id"].as_str()?.to_owned(), c["active"].as_bool()?)))
        .collect::<Option<Vec<_>>>()?;
    let model_id_override = doc["model_id_override"].as_str().map(str::to_owned);
    Some(ColdConversation { model_id_override, messages, connector_state })
}
