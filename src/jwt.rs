//! Browser JWTs: HS256 with claims exactly `sid`, `rk`, `iat`, `exp` (SPEC §3; `rk` is the scale-out
//! routing key of `http::routing`, readable by a balancer that hashes on it).
//! Invariant: only HS256 verifies (`alg: none`, HS512 and every other algorithm are refused), a token
//! is expired when `exp <= now`, and neither the key nor a token is ever logged. Whether the `sid` is
//! still live is the registry's question, not this module's.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use augchatd_actors::record::unix_now;

/// Why a token was refused; both map to `401 invalid_jwt`.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Bad signature, wrong algorithm, malformed, or no string `sid` or `rk`.
    #[error("token is not a valid augchatd JWT")]
    Invalid,
    /// `exp` has passed.
    #[error("token has expired")]
    Expired,
    /// Signing failed (cannot happen with an HMAC key, but the library's API is fallible).
    #[error("token could not be signed")]
    Sign,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sid: String,
    rk: String,
    iat: u64,
    exp: u64,
}

/// What a verified token says.
#[derive(Debug)]
pub struct Verified {
    /// The session id.
    pub sid: String,
    /// The routing key of the session's (tenant, user).
    pub rk: String,
}

/// The HS256 key pair of this process. Deliberately not `Debug`.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    /// Keys from a configured secret (`AUGCHATD_JWT_SECRET`, at least 32 bytes).
    pub fn from_secret(secret: &[u8]) -> Self {
        ring_hs256::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    /// A fresh random 32-byte secret; every outstanding JWT dies with the process.
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        // The system RNG failing is not recoverable in any useful way; an all-zero key would be
        // worse than any other outcome, so fall back to UUIDs (also from the OS RNG) if it does.
        if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret).is_err() {
            let bytes = [uuid::Uuid::new_v4().into_bytes(), uuid::Uuid::new_v4().into_bytes()].concat();
            secret.copy_from_slice(&bytes);
        }
        Self::from_secret(&secret)
    }

    /// Signs `{sid, rk, iat, exp}`.
    pub fn mint(&self, sid: &str, rk: &str, iat: u64, exp: u64) -> Result<String, JwtError> {
        let claims = Claims { sid: sid.to_owned(), rk: rk.to_owned(), iat, exp };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|_| JwtError::Sign)
    }

    /// Checks signature, algorithm and expiry; returns the `sid` and `rk`.
    pub fn verify(&self, token: &str) -> Result<Verified, JwtError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => JwtError::Expired,
                _ => JwtError::Invalid,
            })?;
        if data.claims.exp <= unix_now() {
            return Err(JwtError::Expired);
        }
        Ok(Verified { sid: data.claims.sid, rk: data.claims.rk })
    }
}

/// jsonwebtoken 11 needs one crypto backend; its own are aws-lc-rs (banned: we use ring everywhere)
/// and RustCrypto (pulls an RSA crate with an open advisory). HS256 on ring is all we need.
mod ring_hs256 {
    use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
    use jsonwebtoken::errors::{ErrorKind, Result};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, signature};
    use ring::hmac;

    struct Hs256(hmac::Key);

    impl signature::Signer<Vec<u8>> for Hs256 {
        fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
            Ok(hmac::sign(&self.0, msg).as_ref().to_vec())
        }
    }

    impl signature::Verifier<Vec<u8>> for Hs256 {
        fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
            hmac::verify(&self.0, msg, sig).map_err(|_| signature::Error::new())
        }
    }

    impl JwtSigner for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    impl JwtVerifier for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
        match alg {
            Algorithm::HS256 => Ok(Box::new(Hs256(hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes())))),
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }

    fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
        match alg {
            Algorithm::HS256 => Ok(Box::new(Hs256(hmac::Key::new(hmac::HMAC_SHA256, key.try_get_as_bytes()?)))),
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }

    static RING_HS256: CryptoProvider =
        CryptoProvider { signer_factory: signer, verifier_factory: verifier, key_utils: KeyUtils::new_unimplemented() };

    /// Installs the provider once per process; a second call finds it installed and does nothing.
    pub fn install() {
        let _already_installed = RING_HS256.install_default();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef")
    }

    fn forge(header: &str, payload: &str, sig: &str) -> String {
        format!("{}.{}.{}", B64.encode(header), B64.encode(payload), sig)
    }

    #[test]
    fn a_minted_token_round_trips_and_carries_only_sid_rk_iat_exp() {
        // SPEC §11 #39
        let now = unix_now();
        let token = keys().mint("s-1", "00ff", now, now + 60).unwrap();
        let verified = keys().verify(&token).unwrap();
        assert_eq!((verified.sid.as_str(), verified.rk.as_str()), ("s-1", "00ff"));
        let payload: serde_json::Value =
            serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
        let mut fields: Vec<_> = payload.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(fields, ["exp", "iat", "rk", "sid"]);
        assert_eq!(payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(), 60);
    }

    #[test]
    fn expired_and_tampered_tokens_are_refused() {
        // SPEC §11 #35, #36
        let now = unix_now();
        assert!(matches!(keys().verify(&keys().mint("s", "rk", now - 120, now - 60).unwrap()), Err(JwtError::Expired)));
        assert!(matches!(keys().verify(&keys().mint("s", "rk", now, now).unwrap()), Err(JwtError::Expired)));
        let token = keys().mint("s", "rk", now, now + 60).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = B64.encode(format!(r#"{{"sid":"other","rk":"rk","iat":{now},"exp":{}}}"#, now + 60));
        assert!(matches!(keys().verify(&parts.join(".")), Err(JwtError::Invalid)));
        let other = JwtKeys::from_secret(b"another-secret-of-at-least-32-bytes!");
        assert!(matches!(keys().verify(&other.mint("s", "rk", now, now + 60).unwrap()), Err(JwtError::Invalid)));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        // SPEC §11 #37
        let now = unix_now();
        let payload = format!(r#"{{"sid":"s","rk":"rk","iat":{now},"exp":{}}}"#, now + 60);
        assert!(keys().verify(&forge(r#"{"alg":"none","typ":"JWT"}"#, &payload, "")).is_err());
        let hs512 = forge(r#"{"alg":"HS512","typ":"JWT"}"#, &payload, &B64.encode([0u8; 64]));
        assert!(keys().verify(&hs512).is_err());
        for junk in ["", "a.b", "a.b.c", "....", "eyJ.eyJ.eyJ"] {
            assert!(keys().verify(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn a_token_without_a_string_sid_or_rk_is_invalid() {
        // Keys first: they install the ring provider, and a bare `encode` before that would fix
        // jsonwebtoken's process default to its panicking placeholder for every test in this binary.
        let keys = keys();
        let now = unix_now();
        let encoding = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        for claims in [
            serde_json::json!({"sid": 7, "rk": "rk", "iat": now, "exp": now + 60}),
            serde_json::json!({"sid": "s", "iat": now, "exp": now + 60}),
        ] {
            let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &encoding).unwrap();
            assert!(matches!(keys.verify(&token), Err(JwtError::Invalid)), "{claims}");
        }
    }
}
