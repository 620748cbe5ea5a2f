//! Why a piece of evidence was rejected.

use std::fmt;

/// Which input a [`EvidenceError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// An Intel DCAP quote (SGX or TDX).
    Quote,
    /// The Intel collateral for a quote (`QuoteCollateralV3` JSON).
    Collateral,
    /// An AMD SEV-SNP attestation report.
    SnpReport,
    /// The AMD VCEK certificate for an SEV-SNP report.
    Vcek,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Quote => "DCAP quote",
            Part::Collateral => "DCAP collateral",
            Part::SnpReport => "SEV-SNP report",
            Part::Vcek => "VCEK certificate",
        })
    }
}

/// Why evidence was rejected. The `reason` strings carry the underlying crate's own
/// message, so nothing it said is lost; the variant says what kind of failure it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The bytes are neither a DCAP quote nor an SEV-SNP report.
    #[error("unknown evidence format ({len} bytes): neither a DCAP quote nor an SEV-SNP report")]
    UnknownFormat {
        /// Length of the input.
        len: usize,
    },
    /// An input is shorter (or longer) than its format allows.
    #[error("{part} has {len} bytes, expected {expected}")]
    Length {
        /// Which input.
        part: Part,
        /// Its length.
        len: usize,
        /// What the format requires, in words ("1184", "at least 48").
        expected: &'static str,
    },
    /// An input does not parse.
    #[error("malformed {part}: {reason}")]
    Malformed {
        /// Which input.
        part: Part,
        /// What the parser said.
        reason: String,
    },
    /// A required input was not given (e.g. a quote without collateral).
    #[error("missing {part}")]
    Missing {
        /// Which input.
        part: Part,
    },
    /// A signature does not verify: the evidence or its collateral was altered, or
    /// was not signed by the key the chain says.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// What failed to verify.
        reason: String,
    },
    /// The collateral or a certificate is not valid at the verification time:
    /// expired, or not yet issued.
    #[error("not valid at {at} (UNIX seconds): {reason}")]
    NotValidAt {
        /// The verification time that was asked for.
        at: u64,
        /// Which item is out of its validity window.
        reason: String,
    },
    /// The certificates or collateral do not belong together or to this evidence: a
    /// chain that does not reach the vendor's root, collateral for another platform
    /// or TEE, a VCEK for another chip or TCB.
    #[error("certificate chain mismatch: {reason}")]
    ChainMismatch {
        /// What does not match.
        reason: String,
    },
    /// The evidence is authentic but describes a platform or guest we refuse: a
    /// revoked TCB, a debuggable enclave/TD/VM, no matching TCB level.
    #[error("rejected: {reason}")]
    Rejected {
        /// Why.
        reason: String,
    },
    /// A well-formed variant this crate does not handle (e.g. a VLEK-signed report).
    #[error("unsupported: {reason}")]
    Unsupported {
        /// What is not supported.
        reason: String,
    },
}
