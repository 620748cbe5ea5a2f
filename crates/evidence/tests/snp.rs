//! The genuine AMD SEV-SNP report from the `sev` crate's tests (a Milan guest),
//! verified against its VCEK and AMD's built-in ASK/ARK, and tampered.

mod common;

use common::*;
use cryptflow_evidence::{verify, verify_bytes, Evidence, EvidenceError, Part, Tee, SNP_STATUS};

// Read independently at the ABI spec's offsets (REPORT_DATA at 0x50, MEASUREMENT
// at 0x90) from tests/data/report_milan.hex.
const MEASUREMENT: &str = "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d\
                           3e1a0dc39b2c60bd95b9c480cd81841f";
const REPORT_DATA: &str = "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581\
                           0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd";

const REPORT_DATA_AT: usize = 0x50;
const MEASUREMENT_AT: usize = 0x90;
/// The signature (R, S, 72 bytes each) starts here; everything before it is signed.
const SIGNATURE_AT: usize = 0x2a0;

fn snp(
    report: &[u8],
    vcek: &[u8],
    now_unix: u64,
) -> Result<cryptflow_evidence::VerifiedEvidence, EvidenceError> {
    verify(Evidence::SevSnpReport {
        report,
        vcek,
        now_unix,
    })
}

#[test]
fn milan_sample_verifies_with_its_measurement_and_report_data() {
    let verified = snp(&snp_report(), VCEK_MILAN, SNP_VALID_AT).expect("genuine sample");
    assert_eq!(verified.tee, Tee::SevSnp);
    assert_eq!(hex::encode(&verified.measurement), MEASUREMENT);
    assert_eq!(hex::encode(verified.report_data), REPORT_DATA);
    assert_eq!(verified.status, SNP_STATUS);
    assert!(verified.advisories.is_empty());
}

#[test]
fn the_vcek_may_be_given_as_pem() {
    let pem = sev::certs::snp::Certificate::from_der(VCEK_MILAN)
        .and_then(|cert| cert.to_pem())
        .unwrap();
    assert!(pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
    let verified = snp(&snp_report(), &pem, SNP_VALID_AT).unwrap();
    assert_eq!(hex::encode(&verified.measurement), MEASUREMENT);
}

#[test]
fn a_flipped_measurement_or_report_data_byte_is_a_bad_signature() {
    for at in [
        MEASUREMENT_AT,
        MEASUREMENT_AT + 47,
        REPORT_DATA_AT,
        REPORT_DATA_AT + 63,
    ] {
        let err = snp(&flipped(&snp_report(), at), VCEK_MILAN, SNP_VALID_AT).unwrap_err();
        assert!(
            matches!(err, EvidenceError::BadSignature { .. }),
            "byte {at:#x}: {err}"
        );
    }
}

#[test]
fn a_flipped_signature_byte_is_a_bad_signature() {
    // R's first byte and S's first byte (both little-endian, zero-padded to 72).
    for at in [SIGNATURE_AT, SIGNATURE_AT + 72] {
        let err = snp(&flipped(&snp_report(), at), VCEK_MILAN, SNP_VALID_AT).unwrap_err();
        assert!(
            matches!(err, EvidenceError::BadSignature { .. }),
            "byte {at:#x}: {err}"
        );
    }
}

#[test]
fn no_flipped_byte_of_the_report_verifies() {
    // Every byte, signed body and signature and reserved tail: a flip is refused
    // whether the parser, the round-trip check or the signature catches it.
    let report = snp_report();
    for at in 0..report.len() {
        let result = snp(&flipped(&report, at), VCEK_MILAN, SNP_VALID_AT);
        assert!(result.is_err(), "flipping byte {at:#x} still verified");
    }
}

#[test]
fn the_report_is_refused_outside_the_vceks_validity() {
    for at in [VCEK_NOT_BEFORE - 1, VCEK_NOT_AFTER + 1] {
        let err = snp(&snp_report(), VCEK_MILAN, at).unwrap_err();
        assert!(
            matches!(err, EvidenceError::NotValidAt { at: t, .. } if t == at),
            "{err}"
        );
    }
    // The boundaries themselves are inside.
    for at in [VCEK_NOT_BEFORE, VCEK_NOT_AFTER] {
        snp(&snp_report(), VCEK_MILAN, at).unwrap();
    }
}

#[test]
fn a_tampered_vcek_is_not_signed_by_amd() {
    // Byte 40 is inside the VCEK's signed TBSCertificate (the `sev` crate's own
    // tamper test flips the same byte).
    let mut vcek = VCEK_MILAN.to_vec();
    vcek[40] ^= 0xff;
    let err = snp(&snp_report(), &vcek, SNP_VALID_AT).unwrap_err();
    assert!(matches!(err, EvidenceError::ChainMismatch { .. }), "{err}");
}

#[test]
fn another_chips_genuine_vcek_does_not_verify_the_report() {
    // A real Turin VCEK: it chains to AMD's Turin ARK, but its key did not sign this
    // Milan report.
    let err = snp(&snp_report(), VCEK_TURIN, SNP_VALID_AT).unwrap_err();
    assert!(matches!(err, EvidenceError::BadSignature { .. }), "{err}");
}

#[test]
fn verify_bytes_detects_the_report_raw_and_as_hex_text() {
    let raw = verify_bytes(&snp_report(), Some(VCEK_MILAN), SNP_VALID_AT).unwrap();
    let text = verify_bytes(SNP_REPORT_HEX, Some(VCEK_MILAN), SNP_VALID_AT).unwrap();
    assert_eq!(raw, text);
    assert_eq!(hex::encode(&raw.measurement), MEASUREMENT);
    let json = serde_json::to_value(&raw).unwrap();
    assert_eq!(json["tee"], "sev-snp");
    assert_eq!(json["measurement"], MEASUREMENT);
}

#[test]
fn a_report_without_vcek_is_missing_the_vcek() {
    let err = verify_bytes(&snp_report(), None, SNP_VALID_AT).unwrap_err();
    assert!(
        matches!(err, EvidenceError::Missing { part: Part::Vcek }),
        "{err}"
    );
}
