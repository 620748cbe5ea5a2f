//! Offline verification of TEE attestation evidence: Intel SGX and TDX DCAP quotes
//! (`dcap-qvl`) and AMD SEV-SNP attestation reports (`sev`).
//!
//! Everything is a pure function of the bytes passed in, the verification time
//! included: collateral and certificates are fetched by the caller ahead of time.
//! The crate README says what is verified for each TEE, which fields map onto our
//! attestation token, and what a deployment still needs.

#![forbid(unsafe_code)]

mod dcap;
mod detect;
mod error;
mod snp;
mod snp_vcek;
mod types;

pub use detect::detect;
pub use error::{EvidenceError, Part};
pub use types::{Evidence, Tee, VerifiedEvidence, SNP_STATUS};

/// Verifies evidence and returns what it attests. Pure: no I/O, no clock; the
/// verification time is part of the evidence.
pub fn verify(evidence: Evidence<'_>) -> Result<VerifiedEvidence, EvidenceError> {
    match evidence {
        Evidence::DcapQuote {
            quote,
            collateral,
            now_unix,
        } => dcap::verify_quote(quote, collateral, now_unix),
        Evidence::SevSnpReport {
            report,
            vcek,
            now_unix,
        } => snp::verify_report(report, vcek, now_unix),
    }
}

/// Verifies evidence whose kind is not known in advance, as a command line gets it:
/// `evidence` is a DCAP quote or an SEV-SNP report (raw bytes, or the same as hex
/// text), `collateral` is the quote's collateral JSON or the report's VCEK
/// certificate (DER or PEM), and `now_unix` is the verification time.
///
/// ```
/// let quote = include_bytes!("../tests/data/sgx_quote");
/// let collateral = include_bytes!("../tests/data/sgx_quote_collateral.json");
/// // 2025-07-01, inside the sample collateral's validity.
/// let verified = cryptflow_evidence::verify_bytes(quote, Some(collateral), 1_751_328_000)?;
/// assert_eq!(verified.tee, cryptflow_evidence::Tee::Sgx);
/// assert!(verified.report_data.starts_with(b"Hello, world!"));
/// # Ok::<(), cryptflow_evidence::EvidenceError>(())
/// ```
pub fn verify_bytes(
    evidence: &[u8],
    collateral: Option<&[u8]>,
    now_unix: u64,
) -> Result<VerifiedEvidence, EvidenceError> {
    let decoded = decode_hex_text(evidence);
    let evidence = decoded.as_deref().unwrap_or(evidence);
    let tee = detect(evidence).ok_or(EvidenceError::UnknownFormat {
        len: evidence.len(),
    })?;
    let part = match tee {
        Tee::Sgx | Tee::Tdx => Part::Collateral,
        Tee::SevSnp => Part::Vcek,
    };
    let collateral = collateral.ok_or(EvidenceError::Missing { part })?;
    verify(match tee {
        Tee::Sgx | Tee::Tdx => Evidence::DcapQuote {
            quote: evidence,
            collateral,
            now_unix,
        },
        Tee::SevSnp => Evidence::SevSnpReport {
            report: evidence,
            vcek: collateral,
            now_unix,
        },
    })
}

/// Evidence is often stored as hex (the SEV-SNP sample, `quote.hex` files from
/// TDX tooling). Returns the decoded bytes if the whole input, less surrounding
/// whitespace, is an even number of hex digits; binary evidence never is, because
/// both formats start with a zero or small version byte that is not a hex digit.
fn decode_hex_text(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    if text.is_empty() {
        return None;
    }
    hex::decode(text).ok()
}
