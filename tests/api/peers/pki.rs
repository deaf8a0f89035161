//! Test certificates made with rcgen: a CA the daemon trusts, a server certificate, integrator client
//! certificates (one per tenant), and a client certificate from a CA the daemon does not trust.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose as Eku, IsCa, KeyPair,
    KeyUsagePurpose as Ku,
};

/// PEM files on disk for the daemon, and identities for clients.
pub struct Pki {
    pub ca_pem: String,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_ca: PathBuf,
    issuer: CertifiedIssuer<'static, KeyPair>,
    rogue_issuer: CertifiedIssuer<'static, KeyPair>,
}

fn ca(cn: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![Ku::KeyCertSign, Ku::CrlSign, Ku::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(issuer: &CertifiedIssuer<'static, KeyPair>, sans: Vec<String>, cn: &str, eku: Eku) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![eku];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    pub fn create(dir: &Path) -> Self {
        let issuer = ca("augchatd test CA");
        let rogue_issuer = ca("rogue CA");
        let (server_pem, server_key_pem) =
            leaf(&issuer, vec!["localhost".into(), "127.0.0.1".into()], "augchatd", Eku::ServerAuth);
        let server_cert = dir.join("server.pem");
        let server_key = dir.join("server.key");
        let client_ca = dir.join("client-ca.pem");
        std::fs::write(&server_cert, server_pem).unwrap();
        std::fs::write(&server_key, server_key_pem).unwrap();
        std::fs::write(&client_ca, issuer.pem()).unwrap();
        Self { ca_pem: issuer.pem(), server_cert, server_key, client_ca, issuer, rogue_issuer }
    }

    /// A client identity (cert + key PEM) for tenant `cn`, signed by the trusted CA.
    pub fn integrator(&self, cn: &str) -> String {
        let (cert, key) = leaf(&self.issuer, vec![], cn, Eku::ClientAuth);
        format!("{cert}{key}")
    }

    /// A client identity signed by a CA the daemon does not trust.
    pub fn rogue(&self) -> String {
        let (cert, key) = leaf(&self.rogue_issuer, vec![], "mallory", Eku::ClientAuth);
        format!("{cert}{key}")
    }
}
