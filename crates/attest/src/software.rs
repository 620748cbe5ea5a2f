//! The software backend, like SGX's simulation mode: an attestation root (an Ed25519
//! key pair in `DIR/root.key`, `DIR/root.pub`) stands in for the attestation service,
//! and a party's "boundary" is its process. Tokens chain to the root, so the prelude,
//! the key agreement and the authenticated transcript run exactly as with hardware.
//!
//! It gives no protection against a host that holds `root.key`: such a host can sign
//! any claims, e.g. a key-exchange key it chose, and then read and forge every message.
//! With hardware the root is the vendor's and the key never leaves the attestation
//! service; see crates/evidence for verifying real SGX, TDX and SEV-SNP evidence.

use crate::identity::Digest;
use crate::token::{Attested, Attester, Evidence, EvidenceVerifier, TokenRejection};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use std::path::{Path, PathBuf};

/// Domain separation: a root signature on a token can be nothing else.
const SIGNED_PREFIX: &[u8] = b"cryptflow 2026-12 software attestation v1\0";

/// An attestation root: the verifying key, and the signing key where this party issues.
#[derive(Debug)]
pub struct SoftwareRoot {
    signing: Option<SigningKey>,
    verifying: VerifyingKey,
}

/// A root directory could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an Ed25519 {what} in PEM ({detail})")]
    Format {
        path: PathBuf,
        what: &'static str,
        detail: String,
    },
    #[error("{key} and {public} are not a key pair")]
    Mismatch { key: PathBuf, public: PathBuf },
    #[error("no entropy from the operating system: {0}")]
    Entropy(String),
    #[error("{0} exists; remove it or choose another directory (a root is never overwritten)")]
    Exists(PathBuf),
}

impl SoftwareRoot {
    /// A fresh root from the operating system's randomness.
    pub fn generate() -> Result<SoftwareRoot, RootError> {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(secret.as_mut()).map_err(|e| RootError::Entropy(e.to_string()))?;
        let signing = SigningKey::from_bytes(&secret);
        Ok(SoftwareRoot {
            verifying: signing.verifying_key(),
            signing: Some(signing),
        })
    }

    /// Writes `root.key` (owner-only) and `root.pub` into `dir`, refusing to overwrite.
    pub fn write(&self, dir: &Path) -> Result<(), RootError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RootError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let (key_path, pub_path) = (dir.join("root.key"), dir.join("root.pub"));
        for path in [&key_path, &pub_path] {
            if path.exists() {
                return Err(RootError::Exists(path.clone()));
            }
        }
        let public = self
            .verifying
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format_error(&pub_path, "public key", e))?;
        if let Some(signing) = &self.signing {
            let pem = signing
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| format_error(&key_path, "private key", e))?;
            write_private(&key_path, pem.as_bytes()).map_err(io(&key_path))?;
        }
        std::fs::write(&pub_path, public).map_err(io(&pub_path))?;
        Ok(())
    }

    /// Reads a root from `dir`: `root.pub` always, `root.key` if present (a party
    /// that issues its own tokens needs it; one that only verifies does not).
    pub fn load(dir: &Path) -> Result<SoftwareRoot, RootError> {
        let (key_path, pub_path) = (dir.join("root.key"), dir.join("root.pub"));
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| RootError::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        let verifying = VerifyingKey::from_public_key_pem(&read(&pub_path)?)
            .map_err(|e| format_error(&pub_path, "public key", e))?;
        let signing = if key_path.exists() {
            let key = SigningKey::from_pkcs8_pem(&read(&key_path)?)
                .map_err(|e| format_error(&key_path, "private key", e))?;
            if key.verifying_key() != verifying {
                return Err(RootError::Mismatch {
                    key: key_path,
                    public: pub_path,
                });
            }
            Some(key)
        } else {
            None
        };
        Ok(SoftwareRoot { signing, verifying })
    }

    /// The root's public key, for display.
    pub fn public_key(&self) -> Digest {
        Digest(self.verifying.to_bytes())
    }

    pub fn can_issue(&self) -> bool {
        self.signing.is_some()
    }
}

fn format_error(path: &Path, what: &'static str, e: impl std::fmt::Display) -> RootError {
    RootError::Format {
        path: path.to_path_buf(),
        what,
        detail: e.to_string(),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

fn signed_bytes(measurement: &Digest, report_data: &[u8]) -> Vec<u8> {
    [SIGNED_PREFIX, &measurement.0, report_data].concat()
}

impl Attester for SoftwareRoot {
    fn attest(&self, measurement: Digest, report_data: &[u8; 64]) -> Result<Evidence, String> {
        let signing = self.signing.as_ref().ok_or(
            "this attestation root has no root.key: it can verify tokens but not issue them",
        )?;
        let signature = signing.sign(&signed_bytes(&measurement, report_data));
        Ok(Evidence::Software {
            measurement,
            report_data: report_data.to_vec(),
            signature: signature.to_bytes().to_vec(),
        })
    }
}

impl EvidenceVerifier for SoftwareRoot {
    fn verify(&self, evidence: &Evidence) -> Result<Attested, TokenRejection> {
        let Evidence::Software {
            measurement,
            report_data,
            signature,
        } = evidence;
        let report: [u8; 64] = report_data
            .as_slice()
            .try_into()
            .map_err(|_| TokenRejection::Malformed("report data is not 64 bytes".into()))?;
        let signature: [u8; 64] = signature
            .as_slice()
            .try_into()
            .map_err(|_| TokenRejection::Malformed("signature is not 64 bytes".into()))?;
        self.verifying
            .verify_strict(
                &signed_bytes(measurement, &report),
                &Signature::from_bytes(&signature),
            )
            .map_err(|_| TokenRejection::NotSignedByRoot)?;
        Ok(Attested {
            measurement: *measurement,
            report_data: report,
        })
    }
}
