//! One TLS port with optional client authentication (spec/CRATES.md §3).
//! Browsers connect without a certificate; integrators present one signed by `AUGCHATD_CLIENT_CA`,
//! and a certificate from any other CA fails the handshake. The verified leaf is copied into the
//! connection's data, and the `Integrator` extractor turns it into a `TenantId` on `/sessions*`.
//! Invariant: a tenant exists only for a chain rustls verified against the configured CA.

use std::any::Any;
use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::{Extensions, Payload};
use actix_web::rt::net::TcpStream;
use actix_web::{FromRequest, HttpRequest, web};
use augchatd_actors::audit::AuthFailure;
use augchatd_actors::ids::TenantId;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::AppState;
use super::auth::audit_refusal;
use super::error::ApiError;
use crate::config::{ConfigError, TenantFrom, TlsFiles};

/// Builds the server's rustls config: its certificate, and the client CA when one is configured.
pub fn server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, ConfigError> {
    let unreadable = |var: &str, path: &std::path::Path, what: &str| {
        ConfigError(format!("{var}: cannot read {what} from {}", path.display()))
    };
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
        Some(ca_path) => {
            let mut roots = RootCertStore::empty();
            let cas = CertificateDer::pem_file_iter(ca_path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|_| unreadable("AUGCHATD_CLIENT_CA", ca_path, "PEM CA certificates"))?;
            for ca in cas {
                roots.add(ca).map_err(|_| unreadable("AUGCHATD_CLIENT_CA", ca_path, "a usable CA certificate"))?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .allow_unauthenticated()
                .build()
                .map_err(|_| unreadable("AUGCHATD_CLIENT_CA", ca_path, "a usable CA certificate"))?;
            builder.with_client_cert_verifier(verifier)
        }
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

/// The tenant behind a verified client certificate. Extracting it answers 401
/// `client_certificate_required` without one and 400 `invalid_tenant_id` for an unusable identity.
#[derive(Debug)]
pub struct Integrator(pub TenantId);

impl FromRequest for Integrator {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tenant_from = req.app_data::<web::Data<TenantFrom>>().map_or(TenantFrom::Cn, |t| *t.get_ref());
        let tenant = match req.conn_data::<PeerCert>() {
            None => Err((ApiError::ClientCertificateRequired, AuthFailure::ClientCertificateMissing)),
            Some(PeerCert(der)) => tenant_of(der, tenant_from).map_err(|e| (e, AuthFailure::ClientCertificateUnusable)),
        };
        ready(tenant.map(Integrator).map_err(|(error, failure)| {
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
        TenantFrom::Fingerprint => Some(hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref())),
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
