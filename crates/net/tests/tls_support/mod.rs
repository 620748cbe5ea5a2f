//! Keys, certificates and TLS configurations for three parties, and a raw TLS
//! client that can say things a real party never would.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use cryptflow_net::tls::{generate, PartyCertificate};
use cryptflow_net::{Party, TcpConfig, TlsIdentity};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use crate::tcp_support::config;

/// A fresh key and certificate for each party.
pub fn keys() -> [PartyCertificate; 3] {
    Party::ALL.map(|party| generate(party).unwrap())
}

/// The test config with TLS for `me`: its `key`, and the certificates in `pinned`
/// (which may differ from what the others have).
pub fn pinning(me: Party, key: &PartyCertificate, pinned: [&PartyCertificate; 3]) -> TcpConfig {
    let certs = pinned.map(PartyCertificate::certificate_der);
    TcpConfig {
        tls: Some(TlsIdentity::new(me, key.key_der(), certs).unwrap()),
        ..config()
    }
}

/// The test config with TLS for `me`, everyone's keys pinned as they are.
pub fn tls_config(me: Party, keys: &[PartyCertificate; 3]) -> TcpConfig {
    pinning(me, &keys[me.index()], keys.each_ref())
}

/// The hello bytes, as in tcp_failures.rs.
pub fn hello(party_index: u8, session_id: &[u8; 16]) -> Vec<u8> {
    let mut bytes = b"CFLW".to_vec();
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.push(party_index);
    bytes.extend_from_slice(session_id);
    bytes
}

/// A TLS client with `key`'s certificate that trusts any server (it only wants to
/// talk to the acceptor) and names itself `server_name`.
pub struct RawClient {
    pub socket: TcpStream,
    pub tls: ClientConnection,
}

impl RawClient {
    pub fn connect(addr: SocketAddr, key: &PartyCertificate, server_name: &str) -> RawClient {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
            .with_client_auth_cert(vec![key.certificate_der()], key.key_der())
            .unwrap();
        let name = ServerName::try_from(server_name.to_owned()).unwrap();
        let mut tls = ClientConnection::new(Arc::new(config), name).unwrap();
        let mut socket = TcpStream::connect(addr).unwrap();
        while tls.is_handshaking() {
            if tls.complete_io(&mut socket).is_err() {
                break;
            }
        }
        RawClient { socket, tls }
    }

    /// Plaintext inside the TLS session.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut stream = rustls::Stream::new(&mut self.tls, &mut self.socket);
        stream.write_all(bytes)?;
        stream.flush()
    }

    pub fn read_exact(&mut self, buffer: &mut [u8]) -> std::io::Result<()> {
        rustls::Stream::new(&mut self.tls, &mut self.socket).read_exact(buffer)
    }
}

/// Accepts every server certificate, but still checks handshake signatures.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
