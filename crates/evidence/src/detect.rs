//! Telling a DCAP quote from an SEV-SNP report by its first bytes.
//!
//! The two headers cannot be confused: a quote starts with a little-endian `u16`
//! version (3, 4 or 5) followed by the `u16` attestation key type 2, so its first
//! `u32` is at least 0x0002_0003; a report starts with a `u32` version 2..=5.

use crate::Tee;

/// DCAP quote header length (Intel SGX ECDSA Quote Library API, "Quote Header").
pub(crate) const QUOTE_HEADER_LEN: usize = 48;
/// ECDSA-256 with P-256, the only attestation key type DCAP quotes use.
const ATTESTATION_KEY_TYPE_ECDSA_P256: u16 = 2;
const TEE_TYPE_SGX: u32 = 0x0000_0000;
const TEE_TYPE_TDX: u32 = 0x0000_0081;

/// SEV-SNP ATTESTATION_REPORT size (AMD SEV-SNP ABI spec, table "ATTESTATION_REPORT").
pub(crate) const SNP_REPORT_LEN: usize = 1184;
/// Offset of SIGNATURE_ALGO; 1 means ECDSA P-384 with SHA-384, the only one defined.
const SNP_SIG_ALGO_OFFSET: usize = 0x34;
const SNP_SIG_ALGO_ECDSA_P384_SHA384: u32 = 1;

/// Which TEE these bytes look like evidence from, judged by header fields only (no
/// signature is checked). `None` when they look like neither.
pub fn detect(bytes: &[u8]) -> Option<Tee> {
    detect_quote(bytes).or_else(|| detect_snp_report(bytes))
}

fn detect_quote(bytes: &[u8]) -> Option<Tee> {
    if bytes.len() < QUOTE_HEADER_LEN {
        return None;
    }
    let version = u16_at(bytes, 0)?;
    let key_type = u16_at(bytes, 2)?;
    let tee_type = u32_at(bytes, 4)?;
    if key_type != ATTESTATION_KEY_TYPE_ECDSA_P256 {
        return None;
    }
    match (version, tee_type) {
        (3, TEE_TYPE_SGX) => Some(Tee::Sgx),
        // Quote v4 and v5 also carry SGX enclave reports; dcap-qvl only accepts v3
        // for SGX, but detecting it as SGX gives a clearer error than "unknown".
        (4 | 5, TEE_TYPE_SGX) => Some(Tee::Sgx),
        (4 | 5, TEE_TYPE_TDX) => Some(Tee::Tdx),
        _ => None,
    }
}

fn detect_snp_report(bytes: &[u8]) -> Option<Tee> {
    if bytes.len() != SNP_REPORT_LEN {
        return None;
    }
    let version = u32_at(bytes, 0)?;
    let sig_algo = u32_at(bytes, SNP_SIG_ALGO_OFFSET)?;
    ((2..=5).contains(&version) && sig_algo == SNP_SIG_ALGO_ECDSA_P384_SHA384)
        .then_some(Tee::SevSnp)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let raw = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(raw.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(raw.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote_header(version: u16, key_type: u16, tee_type: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; QUOTE_HEADER_LEN];
        bytes[0..2].copy_from_slice(&version.to_le_bytes());
        bytes[2..4].copy_from_slice(&key_type.to_le_bytes());
        bytes[4..8].copy_from_slice(&tee_type.to_le_bytes());
        bytes
    }

    fn snp_report(version: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; SNP_REPORT_LEN];
        bytes[0..4].copy_from_slice(&version.to_le_bytes());
        bytes[SNP_SIG_ALGO_OFFSET..SNP_SIG_ALGO_OFFSET + 4].copy_from_slice(&1u32.to_le_bytes());
        bytes
    }

    #[test]
    fn quote_headers_by_version_and_tee_type() {
        assert_eq!(detect(&quote_header(3, 2, TEE_TYPE_SGX)), Some(Tee::Sgx));
        assert_eq!(detect(&quote_header(4, 2, TEE_TYPE_TDX)), Some(Tee::Tdx));
        assert_eq!(detect(&quote_header(5, 2, TEE_TYPE_TDX)), Some(Tee::Tdx));
        assert_eq!(detect(&quote_header(3, 2, TEE_TYPE_TDX)), None);
        assert_eq!(detect(&quote_header(4, 3, TEE_TYPE_TDX)), None);
        assert_eq!(detect(&quote_header(6, 2, TEE_TYPE_TDX)), None);
        assert_eq!(detect(&quote_header(4, 2, TEE_TYPE_TDX)[..47]), None);
    }

    #[test]
    fn snp_reports_by_version_algorithm_and_size() {
        for version in 2..=5 {
            assert_eq!(detect(&snp_report(version)), Some(Tee::SevSnp));
        }
        assert_eq!(detect(&snp_report(1)), None);
        assert_eq!(detect(&snp_report(2)[..SNP_REPORT_LEN - 1]), None);
        let mut wrong_algo = snp_report(2);
        wrong_algo[SNP_SIG_ALGO_OFFSET] = 2;
        assert_eq!(detect(&wrong_algo), None);
    }

    #[test]
    fn empty_and_short_inputs_are_nothing() {
        assert_eq!(detect(&[]), None);
        assert_eq!(detect(&[3, 0, 2, 0]), None);
    }
}
