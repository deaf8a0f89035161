//! One TLS port with optional client authentication (spec/CRATES.md §3).
//! Browsers connect without a certificate; integrators present one signed by `AUGCHATD_CLIENT_CA`,
//! and a certificate from any other CA fails the handshake. The verified leaf is copied into the
//! connection's data, and the `Integrator` extractor turns it into a `TenantId` on `/sessions*`.
//!
//! Behind a TLS-terminating balancer (README "Scale-out") the integrator's certificate reaches the
//! daemon in the `X-Augchatd-Client-Cert` header instead. The header counts only on a connection whose
//! own client certificate is one of `AUGCHATD_TRUSTED_PROXY_FINGERPRINTS`, and the forwarded certificate
//! is verified against the client CA again; from any other peer the header is refused (403
//! `untrusted_forwarded_certificate`), and a proxy's own certificate is nobody's tenant.
//! Invariant: a tenant exists only for a chain rustls verified against the configured CA, presented
//! by the peer itself or forwarded by a pinned proxy.

use std::any::Any;
use std::future::{Ready, ready};
use std::net::IpAddr;
use std::sync::Arc;

use actix_web::dev::{Extensions, Payload};
use actix_web::http::header::HeaderValue;
use actix_web::rt::net::TcpStream;
use actix_web::{FromRequest, HttpRequest, web};
use augchatd_actors::audit::{Audit, AuditEvent, AuthFailure};
use augchatd_actors::ids::TenantId;
use base64::Engine;
use rustls::RootCertStore;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

use super::AppState;
use super::auth::audit_refusal;
use super::error::ApiError;
use crate::config::{ConfigError, TenantFrom, TlsFiles};

/// The header a trusted proxy forwards the integrator's verified certificate in: base64 DER (HAProxy
/// `%[ssl_c_der,base64]`) or URL-escaped PEM (nginx `$ssl_client_escaped_cert`).
pub const FORWARDED_CERT_HEADER: &str = "x-augchatd-client-cert";
/// Where a pinned proxy puts the client's address (HAProxy `option forwardfor`, nginx
/// `$proxy_add_x_forwarded_for`).
pub const FORWARDED_FOR_HEADER: &str = "x-forwarded-for";

fn unreadable(var: &str, path: &std::path::Path, what: &str) -> ConfigError {
    ConfigError(format!("{var}: cannot read {what} from {}", path.display()))
}

/// The verifier of integrator certificates: chains to `AUGCHATD_CLIENT_CA`; a peer without one is let
/// through to the browser routes.
pub fn client_verifier(ca_path: &std::path::Path) -> Result<Arc<dyn ClientCertVerifier>, ConfigError> {
    let mut roots = RootCertStore::empty();
    let cas = CertificateDer::pem_file_iter(ca_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|_| unreadable("AUGCHATD_CLIENT_CA", ca_path, "PEM CA certificates"))?;
    for ca in cas {
        roots.add(ca).map_err(|_| unreadable("AUGCHATD_CLIENT_CA", ca_path, "a usable CA certificate"))?;
    }
    WebPkiClientVerifier::builder(Arc::new(roots))
        .allow_unauthenticated()
        .build()
        .map_err(|_| unreadable("AUGCHATD_CLIENT_CA", ca_path, "a usable CA certificate"))
}

/// The route an audited handshake refusal names: no HTTP request exists yet.
const HANDSHAKE: &str = "(tls handshake)";

/// The client-CA verifier, auditing each certificate it refuses (a refused handshake never reaches a
/// handler, so this is the only place that sees it). The peer's address is not known here.
struct Audited {
    inner: Arc<dyn ClientCertVerifier>,
    audit: Audit,
}

impl std::fmt::Debug for Audited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audited").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl ClientCertVerifier for Audited {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now);
        if verified.is_err() && self.audit.enabled() {
            let reason = AuthFailure::ClientCertificateUntrusted;
            self.audit.record(AuditEvent::AuthFailed { reason, route: HANDSHAKE.to_owned(), peer: None });
        }
        verified
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Builds the server's rustls config: its certificate, and the client CA when one is configured (a
/// certificate it refuses is audited).
pub fn server_config(files: &TlsFiles, audit: &Audit) -> Result<rustls::ServerConfig, ConfigError> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|_| unreadable("AUGCHATD_TLS_CERT", &files.cert, "a PEM certificate chain"))?;
    if chain.is_empty() {
        return Err(unreadable("AUGCHATD_TLS_CERT", &files.cert, "a PEM certificate chain"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|_| unreadable("AUGCHATD_TLS_KEY", &files.key, "a PEM private key"))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca_path) => builder
            .with_client_cert_verifier(Arc::new(Audited { inner: client_verifier(ca_path)?, audit: audit.clone() })),
    };
    builder
        .with_single_cert(chain, key)
        .map_err(|_| ConfigError("AUGCHATD_TLS_KEY does not match AUGCHATD_TLS_CERT".into()))
}

/// The verified client leaf certificate of a connection.
#[derive(Clone)]
struct PeerCert(CertificateDer<'static>);

/// `HttpServer::on_connect` hook: remembers the verified client certificate, if any.
pub fn on_connect(conn: &dyn Any, extensions: &mut Extensions) {
    if let Some(tls) = conn.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>() {
        let (_tcp, session) = tls.get_ref();
        if let Some(leaf) = session.peer_certificates().and_then(|chain| chain.first()) {
            extensions.insert(PeerCert(leaf.clone().into_owned()));
        }
    }
}

/// How the `Integrator` extractor names tenants: from which certificate field, which peers may forward
/// a certificate, and the client CA a forwarded one must chain to (`None` without a client CA).
pub struct IntegratorTrust {
    /// `AUGCHATD_TENANT_FROM`.
    pub tenant_from: TenantFrom,
    /// `AUGCHATD_TRUSTED_PROXY_FINGERPRINTS`: lowercase hex SHA-256 of the proxies' client certificates.
    pub proxies: Vec<String>,
    /// `AUGCHATD_CLIENT_CA`'s verifier.
    pub verifier: Option<Arc<dyn ClientCertVerifier>>,
}

impl IntegratorTrust {
    fn is_proxy(&self, der: &[u8]) -> bool {
        self.proxies.contains(&sha256_hex(der))
    }

    /// The client's address: the connection's peer, or, on a pinned proxy's connection, the address that
    /// proxy appended to `X-Forwarded-For` (the last one: whatever the client sent comes before it).
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr().map(|addr| addr.ip());
        if !req.conn_data::<PeerCert>().is_some_and(|PeerCert(der)| self.is_proxy(der)) {
            return peer;
        }
        // Bytes, not `to_str`: nginx appends to whatever the client sent, and a non-ASCII byte there
        // must not make the whole header unreadable.
        let forwarded = req.headers().get_all(FORWARDED_FOR_HEADER).last();
        let last = forwarded.and_then(|v| v.as_bytes().rsplit(|b| *b == b',').next());
        let last = last.and_then(|ip| std::str::from_utf8(ip).ok());
        last.and_then(|ip| ip.trim().parse().ok()).or(peer)
    }

    /// The forwarded certificate, if it decodes and chains to the client CA.
    fn forwarded(&self, value: &HeaderValue) -> Option<CertificateDer<'static>> {
        let text = value.to_str().ok()?.trim();
        let der = if text.starts_with("-----") || text.contains('%') {
            let pem = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
            CertificateDer::from_pem_slice(pem.as_bytes()).ok()?
        } else {
            CertificateDer::from(base64::engine::general_purpose::STANDARD.decode(text).ok()?)
        };
        self.verifier.as_ref()?.verify_client_cert(&der, &[], UnixTime::now()).ok()?;
        Some(der)
    }

    /// The tenant of a request, or the answer and the audit reason of its refusal.
    fn tenant(&self, req: &HttpRequest) -> Result<TenantId, (ApiError, AuthFailure)> {
        let missing = (ApiError::ClientCertificateRequired, AuthFailure::ClientCertificateMissing);
        let peer = req.conn_data::<PeerCert>().map(|PeerCert(der)| der);
        let from_proxy = peer.is_some_and(|der| self.is_proxy(der));
        let der = match (req.headers().get(FORWARDED_CERT_HEADER), from_proxy) {
            (Some(_), false) => {
                return Err((ApiError::UntrustedForwardedCertificate, AuthFailure::ForwardedCertificateUntrusted));
            }
            (Some(value), true) => self
                .forwarded(value)
                .ok_or((ApiError::ClientCertificateRequired, AuthFailure::ClientCertificateUnusable))?,
            // A proxy speaks for integrators only through the header; its own certificate names no tenant.
            (None, true) => return Err(missing),
            (None, false) => peer.ok_or(missing)?.clone(),
        };
        tenant_of(&der, self.tenant_from).map_err(|e| (e, AuthFailure::ClientCertificateUnusable))
    }
}

/// The tenant behind a verified client certificate. Extracting it answers 401
/// `client_certificate_required` without one, 400 `invalid_tenant_id` for an unusable identity, and 403
/// `untrusted_forwarded_certificate` for a forwarded certificate from a peer that is not a trusted proxy.
#[derive(Debug)]
pub struct Integrator(pub TenantId);

impl FromRequest for Integrator {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(trust) = req.app_data::<web::Data<IntegratorTrust>>() else {
            return ready(Err(ApiError::Internal));
        };
        ready(trust.tenant(req).map(Integrator).map_err(|(error, failure)| {
            if let Some(state) = req.app_data::<web::Data<AppState>>() {
                audit_refusal(state, req, failure);
            }
            error
        }))
    }
}

/// Derives the tenant id from a verified certificate.
fn tenant_of(der: &[u8], from: TenantFrom) -> Result<TenantId, ApiError> {
    let name = match from {
        TenantFrom::Fingerprint => Some(sha256_hex(der)),
        TenantFrom::Cn | TenantFrom::SanDns => {
            let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| ApiError::InvalidTenantId)?;
            match from {
                TenantFrom::Cn => {
                    cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned)
                }
                _ => cert.subject_alternative_name().ok().flatten().and_then(|san| {
                    san.value.general_names.iter().find_map(|name| match name {
                        x509_parser::extensions::GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                        _ => None,
                    })
                }),
            }
        }
    };
    name.and_then(|n| TenantId::try_from(n).ok()).ok_or(ApiError::InvalidTenantId)
}

/// Lowercase hex SHA-256: of a certificate, its fingerprint as `openssl x509 -fingerprint -sha256` shows
/// it (without colons).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
