//! A new key pair and self-signed certificate for one party (`cryptflow keygen`).

use std::fmt;

use cryptflow_ring::Party;
use rcgen::{CertificateParams, DnType, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::identity::certificate_fingerprint;
use super::setup::server_name;
use crate::NetError;

/// A party's fresh key and certificate, in PEM (for files) and DER (for use in
/// memory). The certificate names the party (`p2.cryptflow`) for people reading
/// it; the peers trust it because it is pinned, not because of the name.
pub struct PartyCertificate {
    pub party: Party,
    /// PKCS#8 private key, PEM. Keep it on the party's host only.
    pub key_pem: String,
    pub certificate_pem: String,
    /// Zeroized when dropped.
    key_der: PrivatePkcs8KeyDer<'static>,
    certificate_der: CertificateDer<'static>,
    /// SHA-256 of the certificate, as `openssl x509 -fingerprint -sha256` prints it.
    pub fingerprint: String,
}

impl PartyCertificate {
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_der.clone_key())
    }

    pub fn certificate_der(&self) -> CertificateDer<'static> {
        self.certificate_der.clone()
    }
}

impl fmt::Debug for PartyCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartyCertificate")
            .field("party", &self.party)
            .field("key", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// An ECDSA P-256 key (from the operating system's randomness) and a self-signed
/// certificate for it.
pub fn generate(party: Party) -> Result<PartyCertificate, NetError> {
    let failed = |source| NetError::KeyGeneration { party, source };
    let key = KeyPair::generate().map_err(failed)?;
    let mut params = CertificateParams::new(vec![server_name(party)]).map_err(failed)?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("cryptflow {party}"));
    let certificate = params.self_signed(&key).map_err(failed)?;
    Ok(PartyCertificate {
        party,
        key_pem: key.serialize_pem(),
        certificate_pem: certificate.pem(),
        key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        fingerprint: certificate_fingerprint(certificate.der()),
        certificate_der: certificate.der().clone(),
    })
}
