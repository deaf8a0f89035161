//! `ApiError`: the one HTTP error type. It alone knows the error tokens, statuses and bodies
//! (`{"error":"<token>"}` plus an optional `detail`, SPEC §2).
//! Invariant: a `detail` is built from our own words and validated field names only: never upstream
//! text, a URL or a credential.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use augchatd_actors::budget::Refusal;

use crate::provision::FieldError;

/// The error token of each budget refusal.
fn budget_token(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::TokensExhausted { .. } => "token_budget_exhausted",
        Refusal::TurnsExhausted { .. } => "turn_limit_reached",
        Refusal::RateLimited { .. } => "rate_limited",
    }
}

/// Everything a route can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer …` header.
    #[error("missing_jwt")]
    MissingJwt,
    /// Bad signature, wrong algorithm, malformed or expired JWT.
    #[error("invalid_jwt")]
    InvalidJwt,
    /// A valid JWT whose session is not live in this process.
    #[error("session_gone")]
    SessionGone,
    /// An MCP server refused the session's credentials before the stream started (SPEC §5.5): the UI
    /// fetches a fresh JWT, and the integrator mints a session with fresh credentials.
    #[error("upstream_unauthorized")]
    UpstreamUnauthorized(Vec<String>),
    /// `GET /metrics` without the bearer token `AUGCHATD_METRICS_TOKEN` names, or with another one.
    #[error("metrics_unauthorized")]
    MetricsUnauthorized,
    /// An integrator route reached without a verified client certificate.
    #[error("client_certificate_required")]
    ClientCertificateRequired,
    /// The client certificate's tenant identity is outside the identifier alphabet.
    #[error("invalid_tenant_id")]
    InvalidTenantId,
    /// The `X-Augchatd-Route` header names another (tenant, user) than the request's JWT or client
    /// certificate and user: the balancer would send this client to the wrong daemon.
    #[error("route_mismatch")]
    RouteMismatch,
    /// An `X-Augchatd-Client-Cert` header from a peer that is not a trusted proxy.
    #[error("untrusted_forwarded_certificate")]
    UntrustedForwardedCertificate,
    /// The body is not JSON.
    #[error("invalid_json")]
    InvalidJson,
    /// The body is over the size limit.
    #[error("body_too_large")]
    BodyTooLarge,
    /// A field of a valid JSON body is wrong.
    #[error("{}", .0.code)]
    Field(FieldError),
    /// The S3 write probe failed; the detail says how, without the endpoint or keys.
    #[error("s3_write_test_failed")]
    S3WriteTestFailed(String),
    /// The provider's list-models call refused the key or failed.
    #[error("llm_credential_probe_failed")]
    LlmProbeFailed(String),
    /// The provider's model list could not be fetched for `GET /session/models`.
    #[error("provider_list_failed")]
    ProviderListFailed(String),
    /// `DELETE /sessions/:id` for a session this tenant does not have.
    #[error("session_not_found")]
    SessionNotFound,
    /// No such route.
    #[error("not_found")]
    NotFound,
    /// The conversation is not in this user's storage (another user's id looks the same).
    #[error("conversation_not_found")]
    ConversationNotFound,
    /// `PUT …/connectors/:descriptive_id` for a connector outside the session's resolved scope.
    #[error("connector_not_in_scope")]
    ConnectorNotInScope,
    /// `POST /conversations` with a `conversation_id` that is not a valid id.
    #[error("invalid_conversation_id")]
    InvalidConversationId,
    /// `POST /chat` without a usable `id`.
    #[error("missing_conversation_id")]
    MissingConversationId,
    /// `POST /chat` without a non-empty `messages` array.
    #[error("missing_messages")]
    MissingMessages,
    /// `POST /chat` with a message that is not `{id, role, parts[]}`.
    #[error("invalid_messages")]
    InvalidMessages(String),
    /// `POST /chat` answering a tool approval that is not waiting in the conversation's stored last reply
    /// (an unknown approval or call id, one already run, or a reply that is not the last one).
    #[error("unknown_approval")]
    UnknownApproval(String),
    /// `POST /chat` answering some of the stored reply's pending approvals but not all of them.
    #[error("missing_approval")]
    MissingApproval(String),
    /// The user's flushes to cold storage have failed for too long: writes wait until one succeeds.
    #[error("flush_stalled")]
    FlushStalled,
    /// `DELETE /sessions/:id` could not confirm the final flush; the session is kept.
    #[error("final_flush_failed")]
    FinalFlushFailed,
    /// The conversation is not in hot storage and the bucket could not be read: answering would risk
    /// an empty conversation overwriting the history.
    #[error("cold_read_failed")]
    ColdReadFailed,
    /// An erasure could not clear the user's folder in the bucket; hot storage and live sessions are
    /// already gone, and a retry finishes the job.
    #[error("cold_delete_failed")]
    ColdDeleteFailed,
    /// The user's hot storage could not be written (or read); nothing was changed.
    #[error("hot_write_failed")]
    HotWriteFailed,
    /// A route exists for the path, but not for this method; holds the `Allow` header's value, which
    /// RFC 9110 requires on a 405.
    #[error("method_not_allowed")]
    MethodNotAllowed(String),
    /// The request's headers exceed `limits::MAX_HEADER_BYTES`.
    #[error("headers_too_large")]
    HeadersTooLarge,
    /// The body did not arrive in time (`AUGCHATD_SLOW_CLIENT_MS`).
    #[error("body_timeout")]
    BodyTimeout,
    /// The session already streams as many replies as it may, or the turn has as many readers as it may.
    #[error("too_many_streams")]
    TooManyStreams,
    /// `POST /chat` answering tool approvals while a turn of the same conversation still streams: the answer
    /// is checked against the stored reply only once that turn has stored it, so a call never runs twice.
    #[error("turn_in_progress")]
    TurnInProgress,
    /// The session's `limits` refuse a new turn: tokens or turns used up, or too many requests this minute.
    #[error("{}", budget_token(.0))]
    OverBudget(Refusal),
    /// `GET /chat/:cid/stream` for a turn too large to replay from its start (`chat::tape::MAX_TAPE_BYTES`).
    #[error("stream_not_resumable")]
    StreamNotResumable,
    /// `POST /chat/:cid/stop` ended the turn, but the writer did not keep what it produced.
    #[error("hot_write_failed")]
    StoppedNotStored,
    /// A bug or an internal failure; details are in the log line, never in the response.
    #[error("internal_error")]
    Internal,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    /// The connectors whose servers refused the session's credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    connectors: Option<&'a [String]>,
}

impl ApiError {
    /// `X-Augchatd-Reason`: set on the 503s and the 401 a UI reacts to (SPEC §2).
    fn reason_header(&self) -> Option<&'static str> {
        match self {
            ApiError::HotWriteFailed | ApiError::StoppedNotStored => Some("hot-write-failed"),
            ApiError::FlushStalled => Some("flush-stalled"),
            ApiError::UpstreamUnauthorized(_) => Some("upstream-unauthorized"),
            ApiError::ColdReadFailed => Some("cold-read-failed"),
            ApiError::ColdDeleteFailed => Some("cold-delete-failed"),
            _ => None,
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            ApiError::Field(e) => Some(&e.detail),
            ApiError::S3WriteTestFailed(d)
            | ApiError::LlmProbeFailed(d)
            | ApiError::ProviderListFailed(d)
            | ApiError::InvalidMessages(d)
            | ApiError::UnknownApproval(d)
            | ApiError::MissingApproval(d) => Some(d),
            ApiError::FlushStalled => Some(
                "Cold-storage flush has stalled past the durability threshold; chat is temporarily read-only. The session auto-recovers on the next successful flush.",
            ),
            ApiError::UpstreamUnauthorized(_) => {
                Some("a connector's server refused this session's credentials; a new session with fresh ones is needed")
            }
            ApiError::ColdReadFailed => Some("the conversation could not be read from cold storage; try again"),
            ApiError::ColdDeleteFailed => {
                Some("the user's objects in the bucket could not all be deleted; retry the erase to finish it")
            }
            ApiError::RouteMismatch => Some(
                "the X-Augchatd-Route header does not name this request's user; send the route_key of their session",
            ),
            ApiError::UntrustedForwardedCertificate => {
                Some("only a trusted proxy (AUGCHATD_TRUSTED_PROXY_FINGERPRINTS) may forward a client certificate")
            }
            ApiError::FinalFlushFailed => {
                Some("cold storage did not confirm the final flush; the session is kept, retry the DELETE")
            }
            ApiError::TooManyStreams => {
                Some("this session or turn already streams as many replies as it may; retry when one has finished")
            }
            ApiError::StreamNotResumable => Some(
                "this reply is too long to replay from its start; it is stored when it ends, read it from the conversation's messages",
            ),
            ApiError::TurnInProgress => {
                Some("a reply is still streaming in this conversation; answer the approval once it has finished")
            }
            ApiError::HotWriteFailed => {
                Some("the conversation store could not be written; nothing was changed, try again")
            }
            ApiError::StoppedNotStored => Some(
                "the turn was stopped, but its partial reply could not be stored; the conversation keeps its earlier messages",
            ),
            ApiError::OverBudget(Refusal::TokensExhausted { .. }) => {
                Some("this session has used the tokens its limits.max_tokens allows; a new session is needed")
            }
            ApiError::OverBudget(Refusal::TurnsExhausted { .. }) => {
                Some("this session has had the turns its limits.max_turns allows; a new session is needed")
            }
            ApiError::OverBudget(Refusal::RateLimited { .. }) => Some(
                "this session has made the requests its limits.requests_per_minute allows; retry after Retry-After seconds",
            ),
            _ => None,
        }
    }
}

impl From<augchatd_actors::user_db::DbError> for ApiError {
    fn from(err: augchatd_actors::user_db::DbError) -> Self {
        use augchatd_actors::user_db::DbError;
        match err {
            DbError::NotFound => ApiError::ConversationNotFound,
            // A request that passed authentication just before its session was erased.
            DbError::SessionErased => ApiError::SessionGone,
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other).map(ToString::to_string),
                    "hot storage failed");
                ApiError::HotWriteFailed
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MissingJwt
            | ApiError::InvalidJwt
            | ApiError::SessionGone
            | ApiError::ClientCertificateRequired
            | ApiError::MetricsUnauthorized
            | ApiError::UpstreamUnauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::InvalidTenantId
            | ApiError::RouteMismatch
            | ApiError::InvalidJson
            | ApiError::Field(_)
            | ApiError::InvalidConversationId
            | ApiError::MissingConversationId
            | ApiError::MissingMessages
            | ApiError::InvalidMessages(_)
            | ApiError::UnknownApproval(_)
            | ApiError::MissingApproval(_) => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::S3WriteTestFailed(_) | ApiError::LlmProbeFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::ProviderListFailed(_) => StatusCode::BAD_GATEWAY,
            ApiError::UntrustedForwardedCertificate => StatusCode::FORBIDDEN,
            ApiError::SessionNotFound
            | ApiError::NotFound
            | ApiError::ConversationNotFound
            | ApiError::ConnectorNotInScope => StatusCode::NOT_FOUND,
            ApiError::HotWriteFailed
            | ApiError::StoppedNotStored
            | ApiError::FlushStalled
            | ApiError::FinalFlushFailed
            | ApiError::ColdReadFailed
            | ApiError::ColdDeleteFailed => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::StreamNotResumable => StatusCode::GONE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::TooManyStreams | ApiError::OverBudget(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TurnInProgress => StatusCode::CONFLICT,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let token = self.to_string();
        let mut response = HttpResponse::build(self.status_code());
        if let Some(reason) = self.reason_header() {
            response.insert_header(("X-Augchatd-Reason", reason));
        }
        if let ApiError::MethodNotAllowed(allow) = self {
            response.insert_header((actix_web::http::header::ALLOW, allow.as_str()));
        }
        if let ApiError::OverBudget(Refusal::RateLimited { retry_after }) = self {
            // Whole seconds, rounded up, so a client that waits exactly this long is let in.
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.max(1)));
        }
        let connectors = match self {
            ApiError::UpstreamUnauthorized(connectors) => Some(connectors.as_slice()),
            _ => None,
        };
        if matches!(self, ApiError::MetricsUnauthorized) {
            // RFC 6750: a 401 for a bearer-protected resource names the scheme.
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(ErrorBody { error: &token, detail: self.detail(), connectors })
    }
}
