//! Certificate pinning for both ends of a connection. The dialler (TLS client)
//! accepts only the certificate pinned for the party it dialled; the acceptor (TLS
//! server) only the one pinned for the party the dialler claims to be in its SNI.
//! There is no CA, no chain, no name and no validity-period check: the pin is the
//! whole trust decision. The handshake signature is still verified with the
//! provider's algorithms, which is what proves the peer holds the pinned key.

use std::fmt;
use std::sync::Arc;

use cryptflow_ring::Party;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

use super::identity::{certificate_fingerprint, PinnedCertificate};

/// Why a verifier refused a certificate; travels inside the rustls error so that
/// the connection setup can name the party and both fingerprints.
#[derive(Debug)]
pub(crate) struct NotPinned {
    pub(crate) party: Party,
    /// Fingerprint of the certificate the peer presented.
    pub(crate) presented: String,
}

impl fmt::Display for NotPinned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate {} is not the one pinned for {}",
            self.presented, self.party
        )
    }
}

impl std::error::Error for NotPinned {}

/// The check both verifiers make.
#[derive(Debug)]
struct Pin {
    party: Party,
    der: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pin {
    fn new(party: Party, pinned: &PinnedCertificate, provider: &CryptoProvider) -> Pin {
        Pin {
            party,
            der: pinned.der.clone(),
            algorithms: provider.signature_verification_algorithms,
        }
    }

    /// Only the end-entity certificate matters; intermediates are ignored because
    /// nothing chains.
    fn check(&self, presented: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if presented.as_ref() == self.der.as_ref() {
            return Ok(());
        }
        let refusal = NotPinned {
            party: self.party,
            presented: certificate_fingerprint(presented),
        };
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(refusal)),
        )))
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Our configurations allow TLS 1.3 only, so this is never reached; if it
        // were, it would still check the signature properly.
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
}

/// The dialler's verifier: the server must be the party we dialled.
#[derive(Debug)]
pub(crate) struct PinnedServer(Pin);

impl PinnedServer {
    pub(crate) fn new(
        party: Party,
        pinned: &PinnedCertificate,
        provider: &CryptoProvider,
    ) -> PinnedServer {
        PinnedServer(Pin::new(party, pinned, provider))
    }
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        // The name is our own SNI claim, not the server's; the pin decides.
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0.check(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.algorithms.supported_schemes()
    }
}

/// The acceptor's verifier for a dialler claiming to be `party`: a client
/// certificate is mandatory and must be that party's.
#[derive(Debug)]
pub(crate) struct PinnedClient(Pin);

impl PinnedClient {
    pub(crate) fn new(
        party: Party,
        pinned: &PinnedCertificate,
        provider: &CryptoProvider,
    ) -> PinnedClient {
        PinnedClient(Pin::new(party, pinned, provider))
    }
}

impl ClientCertVerifier for PinnedClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No CA to hint at: the client has exactly one certificate to offer.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0.check(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.algorithms.supported_schemes()
    }
}
