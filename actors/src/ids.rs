//! Validated identifiers. Each is parsed once, at the edge, and carried as its type afterwards.
//! Invariant: every value matches `^[a-zA-Z0-9._-]{1,100}$` and is neither `.` nor `..`, so any of
//! them can be used as a path component or an S3 key segment without escaping.

use std::fmt;

/// Why a string is not a valid identifier; names the field so the caller can build its error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must match ^[a-zA-Z0-9._-]{{1,100}}$ and must not be . or ..")]
pub struct IdError {
    /// The name of the field that failed, as the API calls it.
    pub field: &'static str,
}

/// True when `s` is safe as a path component: 1..=100 bytes of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn is_safe_component(s: &str) -> bool {
    is_safe_up_to(s, 100)
}

/// The same alphabet, up to `max` bytes.
fn is_safe_up_to(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s != "."
        && s != ".."
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                if is_safe_up_to(&s, $max) { Ok(Self(s)) } else { Err(IdError { field: $field }) }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::try_from(s.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

identifier!(
    /// The integrator, taken from its client certificate (`demo` in demo mode). Partitions hot storage.
    TenantId,
    "tenant_id",
    100
);
identifier!(
    /// The integrator's end user, as sent in `POST /sessions`.
    UserId,
    "user_id",
    100
);
identifier!(
    /// One minted session. Minted by augchatd as a UUID v4; parsed from paths for lookups.
    SessionId,
    "session_id",
    100
);
identifier!(
    /// A conversation of one (tenant, user): minted as a UUID v4 or chosen by the client. Up to 200 bytes,
    /// because it becomes an S3 key segment and a trace file name (SPEC §2.5).
    ConversationId,
    "conversation_id",
    200
);

impl TenantId {
    /// The single tenant of demo mode (SPEC §7.1).
    pub fn demo() -> Self {
        Self("demo".to_owned())
    }
}

impl UserId {
    /// The user of Design A and built-in demo sessions, so their hot file is `data/demo/demo.sqlite`.
    pub fn demo() -> Self {
        Self("demo".to_owned())
    }
}

impl ConversationId {
    /// A fresh random id.
    pub fn mint() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_the_identifier_alphabet() {
        assert_eq!(UserId::try_from("user_42.a-b").unwrap().as_str(), "user_42.a-b");
        assert!(UserId::try_from("x".repeat(100)).is_ok());
    }

    #[test]
    fn rejects_path_tricks_and_other_characters() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0b", "é", "a b", "../etc"] {
            assert_eq!(UserId::try_from(bad), Err(IdError { field: "user_id" }), "{bad:?}");
        }
        assert!(TenantId::try_from("x".repeat(101)).is_err());
    }

    #[test]
    fn names_the_field_that_failed() {
        assert_eq!(TenantId::try_from("a/b").unwrap_err().field, "tenant_id");
    }
}
