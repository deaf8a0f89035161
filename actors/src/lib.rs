//! augchatd-actors: every stateful piece of augchatd, and no HTTP.
//!
//! Architecture invariant: nothing here speaks HTTP or reads the environment. The HTTP layer in the
//! `augchatd` crate validates input into the types of this crate and forwards messages to the actors.
//!
//! # Layout
//! - [`ids`]: validated identifiers (`TenantId`, `UserId`, `SessionId`, `ConversationId`); the only way a path on disk is built.
//! - [`secret`]: `Secret`, a credential that prints as `***` and cannot be serialized.
//! - [`budget`]: `Budget`, a session's optional token, turn and rate limits and what it has spent.
//! - [`record`]: what one minted session holds (model, connectors, storage), credentials as `Secret`.
//! - [`session`]: `SessionActor` (one per session, owns its TTL) and `SessionRegistry` (sid -> session, user refcount).
//! - [`user_db`]: `UserDbWriter` (one per (tenant, user), owns its SQLite file) and `UserDbs` (the map of writers).
//! - [`connector_state`]: the writer's messages for per-conversation connector flags and the model override.
//! - [`data_subject`]: `ReadAllConversations` and `EraseUser`, a user's whole hot file for export and erasure.
//! - [`turn_start`]: `StartTurn`, everything a chat turn reads or writes in hot storage before its 200, in one message,
//!   and `KnownTurns`, what it last answered, so an unchanged conversation's turn needs no message at all.
//! - [`hot_file`]: `Template`, a user's hot file created at their first session without starting their writer.
//! - [`flusher`]: `ConversationFlusher` (one per dirty conversation) and `Flushers` (per-user cold store and read-only clock).
//! - [`audit`]: `AuditEvent` and the `AuditSink` port the audit log (`AUGCHATD_AUDIT_LOG`) implements.
//! - [`backoff`]: `FlushBackoff`, the pure retry and read-only rules.
//! - [`metrics`]: lock-free `Histogram` and `Gauge` for `/metrics`.
//! - [`ports`]: `ColdStore`, the bucket as the actors see it.
//! - [`supervisor`]: panic containment (`guarded`), lifecycle log lines and the health counters.

pub mod audit;
pub mod backoff;
pub mod budget;
pub mod connector_state;
pub mod data_subject;
pub mod flusher;
pub mod hot_file;
pub mod ids;
pub mod metrics;
pub mod ports;
pub mod record;
pub mod secret;
pub mod session;
pub mod supervisor;
pub mod turn_start;
pub mod user_db;
