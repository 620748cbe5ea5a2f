//! A party's TLS identity: its own certificate and key, and the three pinned
//! certificates it trusts, with the rustls configurations built from them once.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use cryptflow_ring::Party;
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::NoServerSessionStorage;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, ServerConfig};
use sha2::{Digest, Sha256};

use super::verify::{PinnedClient, PinnedServer};
use crate::NetError;

/// The certificate file of `party` in a `--certs` directory: `party{N}.crt`.
pub fn certificate_file_name(party: Party) -> String {
    format!("party{}.crt", party.index())
}

/// The private key file `cryptflow keygen` writes for `party`: `party{N}.key`.
pub fn key_file_name(party: Party) -> String {
    format!("party{}.key", party.index())
}

/// The SHA-256 fingerprint of a DER certificate, as `openssl x509 -fingerprint
/// -sha256` prints it (`AB:CD:...`), so users can compare the two.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|byte| format!("{byte:02X}")).collect();
    hex.join(":")
}

/// One certificate we trust for one party, and how to name it in errors.
#[derive(Clone)]
pub(crate) struct PinnedCertificate {
    pub(crate) der: CertificateDer<'static>,
    /// Where it came from, e.g. `certs/party2.crt`.
    pub(crate) label: String,
    pub(crate) fingerprint: String,
}

impl PinnedCertificate {
    fn new(der: CertificateDer<'static>, label: String) -> PinnedCertificate {
        PinnedCertificate {
            fingerprint: certificate_fingerprint(&der),
            der,
            label,
        }
    }
}

/// What a party needs for mutually authenticated TLS 1.3 with the other two: its
/// own private key, and exactly three trusted certificates, one per party (its own
/// among them). There is no CA and no name check: a peer is authenticated by
/// presenting the very certificate pinned for the party it is (and proving in the
/// handshake that it holds its key).
///
/// Cheap to clone. Two identities are equal when they are for the same party and
/// pin the same certificates (the key is checked to match ours on construction).
#[derive(Clone)]
pub struct TlsIdentity {
    inner: Arc<Inner>,
}

struct Inner {
    me: Party,
    pinned: [PinnedCertificate; 3],
    /// Indexed by the peer we dial (`None` in our own slot).
    client: [Option<Arc<ClientConfig>>; 3],
    /// Indexed by the peer that dials us.
    server: [Option<Arc<ServerConfig>>; 3],
}

impl TlsIdentity {
    /// Reads `key` (PEM private key) and `certs_dir/party{0,1,2}.crt` (PEM
    /// certificates), as `cryptflow keygen` writes them.
    pub fn load(me: Party, key: &Path, certs_dir: &Path) -> Result<TlsIdentity, NetError> {
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|source| NetError::TlsFile {
            path: key.to_owned(),
            what: "a PEM private key",
            hint: "make this party's key with `cryptflow keygen --id N --out DIR`",
            source,
        })?;
        let load_certificate = |party| {
            let path = certs_dir.join(certificate_file_name(party));
            let der = CertificateDer::from_pem_file(&path).map_err(|source| NetError::TlsFile {
                path: path.clone(),
                what: "a PEM certificate",
                hint: "--certs must hold every party's certificate, as the keygen of \
                       that party wrote it, named party0.crt, party1.crt and party2.crt",
                source,
            })?;
            Ok::<_, NetError>(PinnedCertificate::new(der, path.display().to_string()))
        };
        let pinned = [
            load_certificate(Party::ModelOwner)?,
            load_certificate(Party::Client)?,
            load_certificate(Party::Helper)?,
        ];
        TlsIdentity::build(me, key_der, key.display().to_string(), pinned)
    }

    /// The same from bytes in memory: our DER private key and the DER certificates
    /// of P0, P1 and P2, in that order.
    pub fn new(
        me: Party,
        key: PrivateKeyDer<'static>,
        certs: [CertificateDer<'static>; 3],
    ) -> Result<TlsIdentity, NetError> {
        let [p0, p1, p2] = certs;
        let pin =
            |der, party| PinnedCertificate::new(der, format!("the certificate pinned for {party}"));
        let pinned = [
            pin(p0, Party::ModelOwner),
            pin(p1, Party::Client),
            pin(p2, Party::Helper),
        ];
        TlsIdentity::build(me, key, "the given private key".to_owned(), pinned)
    }

    fn build(
        me: Party,
        key: PrivateKeyDer<'static>,
        key_label: String,
        pinned: [PinnedCertificate; 3],
    ) -> Result<TlsIdentity, NetError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ours = &pinned[me.index()];
        let certified =
            CertifiedKey::from_der(vec![ours.der.clone()], key, &provider).map_err(|source| {
                match source {
                    rustls::Error::InconsistentKeys(_) => NetError::KeyMismatch {
                        me,
                        key: key_label.clone(),
                        certificate: ours.label.clone(),
                    },
                    source => NetError::UnusableKey {
                        key: key_label.clone(),
                        source,
                    },
                }
            })?;
        let certified = Arc::new(certified);
        let mut client: [Option<Arc<ClientConfig>>; 3] = Default::default();
        let mut server: [Option<Arc<ServerConfig>>; 3] = Default::default();
        for peer in Party::ALL.into_iter().filter(|&peer| peer != me) {
            let unusable = |source| NetError::UnusableKey {
                key: key_label.clone(),
                source,
            };
            let pin = &pinned[peer.index()];
            client[peer.index()] = Some(Arc::new(
                client_config(
                    &provider,
                    &certified,
                    PinnedServer::new(peer, pin, &provider),
                )
                .map_err(unusable)?,
            ));
            server[peer.index()] = Some(Arc::new(
                server_config(
                    &provider,
                    &certified,
                    PinnedClient::new(peer, pin, &provider),
                )
                .map_err(unusable)?,
            ));
        }
        Ok(TlsIdentity {
            inner: Arc::new(Inner {
                me,
                pinned,
                client,
                server,
            }),
        })
    }

    /// The party this identity belongs to.
    pub fn party(&self) -> Party {
        self.inner.me
    }

    /// The fingerprint of our own certificate.
    pub fn fingerprint(&self) -> &str {
        &self.inner.pinned[self.inner.me.index()].fingerprint
    }

    pub(crate) fn pinned(&self, party: Party) -> &PinnedCertificate {
        &self.inner.pinned[party.index()]
    }

    /// The configuration for dialling `peer`; `None` for ourselves.
    pub(crate) fn client_config(&self, peer: Party) -> Option<Arc<ClientConfig>> {
        self.inner.client[peer.index()].clone()
    }

    /// The configuration for accepting `peer`; `None` for ourselves.
    pub(crate) fn server_config(&self, peer: Party) -> Option<Arc<ServerConfig>> {
        self.inner.server[peer.index()].clone()
    }
}

/// TLS 1.3 only, our certificate for client authentication, the peer pinned.
fn client_config(
    provider: &Arc<CryptoProvider>,
    ours: &Arc<CertifiedKey>,
    verifier: PinnedServer,
) -> Result<ClientConfig, rustls::Error> {
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(ours.clone())));
    // A resumed session skips certificate verification; every connection must show
    // its pinned certificate afresh.
    config.resumption = Resumption::disabled();
    Ok(config)
}

/// TLS 1.3 only, a client certificate required and pinned, no resumption.
fn server_config(
    provider: &Arc<CryptoProvider>,
    ours: &Arc<CertifiedKey>,
    verifier: PinnedClient,
) -> Result<ServerConfig, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(ours.clone())));
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(config)
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fingerprints: Vec<&str> = self
            .inner
            .pinned
            .iter()
            .map(|pin| pin.fingerprint.as_str())
            .collect();
        f.debug_struct("TlsIdentity")
            .field("me", &self.inner.me)
            .field("key", &"<redacted>")
            .field("pinned", &fingerprints)
            .finish()
    }
}

impl PartialEq for TlsIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.inner.me == other.inner.me
            && self
                .inner
                .pinned
                .iter()
                .zip(&other.inner.pinned)
                .all(|(a, b)| a.der == b.der)
    }
}

impl Eq for TlsIdentity {}
