//! `Secret`: a credential held in memory for a session's lifetime.
//! Invariant: its value never reaches a log line, an error, a response or storage: `Debug` prints
//! `Secret(***)`, there is no `Display` and no `Serialize`. `expose()` is called only where the value
//! goes on the wire to the upstream it belongs to.

use std::fmt;

/// A credential: an API key, a bearer token, a password, an S3 secret, a JWT signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that sends it to its upstream.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_value() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
    }
}
