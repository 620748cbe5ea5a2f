//! The evidence a caller hands in and what a successful verification returns.

use serde::{Serialize, Serializer};

/// Which trusted execution environment produced the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Tee {
    /// An Intel SGX enclave (DCAP quote v3).
    #[serde(rename = "sgx")]
    Sgx,
    /// An Intel TDX trust domain (DCAP quote v4/v5).
    #[serde(rename = "tdx")]
    Tdx,
    /// An AMD SEV-SNP guest (attestation report).
    #[serde(rename = "sev-snp")]
    SevSnp,
}

/// What verified evidence says, mapped onto the fields our attestation token uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedEvidence {
    /// Which TEE signed the evidence.
    pub tee: Tee,
    /// The code identity: MRENCLAVE (32 bytes) for SGX, MRTD (48 bytes) for TDX,
    /// MEASUREMENT (48 bytes) for SEV-SNP.
    #[serde(serialize_with = "hex_bytes")]
    pub measurement: Vec<u8>,
    /// The 64 bytes the enclave/TD/guest chose to bind into the evidence; our token
    /// puts the hash of the enclave's public keys and the session here.
    #[serde(serialize_with = "hex_bytes")]
    pub report_data: [u8; 64],
    /// The platform's TCB status. For DCAP it is dcap-qvl's verdict ("UpToDate",
    /// "SWHardeningNeeded", "OutOfDate", ...). SEV-SNP has no such verdict offline,
    /// so for it this is [`SNP_STATUS`].
    pub status: String,
    /// Intel security advisory ids that apply to the platform (DCAP only).
    pub advisories: Vec<String>,
}

/// The `status` of a verified SEV-SNP report: the signature chain to AMD's root
/// holds and the VCEK belongs to the report's chip and TCB. AMD publishes no
/// per-TCB verdict to compare against, so whether that TCB is recent enough is a
/// policy the caller applies.
pub const SNP_STATUS: &str = "VcekVerified";

/// Evidence to verify, with everything verification needs. Nothing here is fetched:
/// the caller obtained the collateral or VCEK ahead of time.
#[derive(Debug, Clone, Copy)]
pub enum Evidence<'a> {
    /// An Intel SGX or TDX DCAP quote.
    DcapQuote {
        /// The quote bytes as the quoting enclave produced them.
        quote: &'a [u8],
        /// `QuoteCollateralV3` as JSON (TCB info, QE identity, CRLs and their
        /// issuer chains), from Intel PCS or a PCCS.
        collateral: &'a [u8],
        /// The verification time, in UNIX seconds: collateral and certificates must
        /// be valid then.
        now_unix: u64,
    },
    /// An AMD SEV-SNP attestation report signed by a VCEK.
    SevSnpReport {
        /// The 1184-byte report from `SNP_GET_REPORT`.
        report: &'a [u8],
        /// The chip's VCEK certificate, DER or PEM, from AMD KDS. Its issuers (ASK,
        /// ARK) are AMD's, built into the `sev` crate, so they are not an input.
        vcek: &'a [u8],
        /// The verification time, in UNIX seconds: VCEK, ASK and ARK must be valid then.
        now_unix: u64,
    },
}

// Lowercase hex in JSON: the form `measurement` is compared in everywhere else
// (build manifests, vendor tools), rather than serde's array of numbers.
fn hex_bytes<T: AsRef<[u8]>, S: Serializer>(bytes: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}
