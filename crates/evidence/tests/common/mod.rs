//! The genuine samples (see tests/data/README.md) and the times they are valid at.
#![allow(dead_code)] // each test binary uses a different part of this

pub const SGX_QUOTE: &[u8] = include_bytes!("../data/sgx_quote");
pub const SGX_COLLATERAL: &[u8] = include_bytes!("../data/sgx_quote_collateral.json");
pub const TDX_QUOTE: &[u8] = include_bytes!("../data/tdx_quote");
pub const TDX_COLLATERAL: &[u8] = include_bytes!("../data/tdx_quote_collateral.json");
pub const SNP_REPORT_HEX: &[u8] = include_bytes!("../data/report_milan.hex");
pub const VCEK_MILAN: &[u8] = include_bytes!("../data/vcek_milan.der");
pub const VCEK_TURIN: &[u8] = include_bytes!("../data/vcek_turin.der");

/// 2025-07-01T00:00:00Z: inside both quotes' collateral windows. The SGX window is
/// 2025-06-19T10:56:11Z (TCB info issued) to 2025-07-19T10:01:18Z (QE identity's
/// nextUpdate); the TDX one 2025-06-19T10:32:27Z to 2025-07-19T10:00:35Z (PCK CRL).
pub const DCAP_VALID_AT: u64 = 1_751_328_000;
/// 2025-07-20T00:00:00Z: after every nextUpdate of both collaterals.
pub const DCAP_EXPIRED_AT: u64 = 1_752_969_600;
/// 2025-06-19T00:00:00Z: before the TCB info, QE identity and PCK CRL were issued.
pub const DCAP_NOT_YET_AT: u64 = 1_750_291_200;

/// 2026-01-01T00:00:00Z: inside the Milan VCEK's validity, 2023-04-03T19:23:43Z to
/// 2030-04-03T19:23:43Z (and the ASK's and ARK's, 2020-10-22 to 2045-10-22).
pub const SNP_VALID_AT: u64 = 1_767_225_600;
pub const VCEK_NOT_BEFORE: u64 = 1_680_549_823;
pub const VCEK_NOT_AFTER: u64 = 1_901_474_623;

pub fn snp_report() -> Vec<u8> {
    let text = std::str::from_utf8(SNP_REPORT_HEX).expect("the sample is ASCII hex");
    hex::decode(text.trim()).expect("the sample is hex")
}

pub fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0x01;
    out
}
