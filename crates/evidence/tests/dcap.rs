//! Genuine Intel SGX and TDX quotes from dcap-qvl's samples, verified and tampered.

mod common;

use common::*;
use cryptflow_evidence::{verify, verify_bytes, Evidence, EvidenceError, Tee};

// Expected fields, read independently at the documented offsets of the quote (header
// 48 bytes; SGX report: MRENCLAVE at +64, REPORT_DATA at +320; TDX 1.0 report: MRTD
// at +136, REPORT_DATA at +520) and equal to dcap-qvl's own snapshots of the samples.
const SGX_MRENCLAVE: &str = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
const SGX_REPORT_DATA: &str = "48656c6c6f2c20776f726c642100000000000000000000000000000000000000\
                               0000000000000000000000000000000000000000000000000000000000000000";
const TDX_MRTD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407\
                        de03ae6dc5f87f27428b2538873118b7";
const TDX_REPORT_DATA: &str = "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9\
                               eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20";

// Offsets in the quotes of one byte of the signed report and of the ISV signature
// (after the report: a u32 auth data length, then the 64-byte ECDSA signature).
const SGX_MRENCLAVE_AT: usize = 48 + 64;
const SGX_REPORT_DATA_AT: usize = 48 + 320;
const SGX_SIGNATURE_AT: usize = 48 + 384 + 4;
const TDX_MRTD_AT: usize = 48 + 136;
const TDX_REPORT_DATA_AT: usize = 48 + 520;
const TDX_SIGNATURE_AT: usize = 48 + 584 + 4;

fn dcap(
    quote: &[u8],
    collateral: &[u8],
    now_unix: u64,
) -> Result<cryptflow_evidence::VerifiedEvidence, EvidenceError> {
    verify(Evidence::DcapQuote {
        quote,
        collateral,
        now_unix,
    })
}

#[test]
fn sgx_sample_verifies_with_its_mrenclave_and_report_data() {
    let verified = dcap(SGX_QUOTE, SGX_COLLATERAL, DCAP_VALID_AT).expect("genuine sample");
    assert_eq!(verified.tee, Tee::Sgx);
    assert_eq!(hex::encode(&verified.measurement), SGX_MRENCLAVE);
    assert_eq!(hex::encode(verified.report_data), SGX_REPORT_DATA);
    assert!(verified.report_data.starts_with(b"Hello, world!\0"));
    assert_eq!(verified.status, "ConfigurationAndSWHardeningNeeded");
    assert_eq!(verified.advisories, ["INTEL-SA-00289", "INTEL-SA-00615"]);
}

#[test]
fn tdx_sample_verifies_with_its_mrtd_and_report_data() {
    let verified = dcap(TDX_QUOTE, TDX_COLLATERAL, DCAP_VALID_AT).expect("genuine sample");
    assert_eq!(verified.tee, Tee::Tdx);
    assert_eq!(hex::encode(&verified.measurement), TDX_MRTD);
    assert_eq!(hex::encode(verified.report_data), TDX_REPORT_DATA);
    assert_eq!(verified.status, "UpToDate");
    assert!(verified.advisories.is_empty());
}

#[test]
fn a_flipped_byte_in_the_signed_report_is_a_bad_signature() {
    for (quote, collateral, at) in [
        (SGX_QUOTE, SGX_COLLATERAL, SGX_MRENCLAVE_AT),
        (SGX_QUOTE, SGX_COLLATERAL, SGX_REPORT_DATA_AT),
        (TDX_QUOTE, TDX_COLLATERAL, TDX_MRTD_AT),
        (TDX_QUOTE, TDX_COLLATERAL, TDX_REPORT_DATA_AT),
    ] {
        let err = dcap(&flipped(quote, at), collateral, DCAP_VALID_AT).unwrap_err();
        assert!(
            matches!(err, EvidenceError::BadSignature { .. }),
            "byte {at}: {err}"
        );
    }
}

#[test]
fn a_flipped_byte_in_the_quote_signature_is_a_bad_signature() {
    for (quote, collateral, at) in [
        (SGX_QUOTE, SGX_COLLATERAL, SGX_SIGNATURE_AT),
        (TDX_QUOTE, TDX_COLLATERAL, TDX_SIGNATURE_AT),
    ] {
        let err = dcap(&flipped(quote, at), collateral, DCAP_VALID_AT).unwrap_err();
        assert!(
            matches!(err, EvidenceError::BadSignature { .. }),
            "byte {at}: {err}"
        );
    }
}

#[test]
fn no_flipped_byte_of_the_signed_header_and_report_verifies() {
    // Header and report are what the ISV signature covers; a flip anywhere there
    // must be refused, whatever check catches it first.
    for at in 0..48 + 384 {
        let result = dcap(&flipped(SGX_QUOTE, at), SGX_COLLATERAL, DCAP_VALID_AT);
        assert!(result.is_err(), "flipping byte {at} still verified");
    }
}

#[test]
fn tampered_collateral_is_a_bad_signature() {
    let mut collateral: serde_json::Value = serde_json::from_slice(TDX_COLLATERAL).unwrap();
    let signature = collateral["tcb_info_signature"].as_str().unwrap();
    // Hex text: change the last digit.
    let last = if signature.ends_with('0') { "1" } else { "0" };
    let tampered = format!("{}{last}", &signature[..signature.len() - 1]);
    collateral["tcb_info_signature"] = tampered.into();
    let collateral = serde_json::to_vec(&collateral).unwrap();
    let err = dcap(TDX_QUOTE, &collateral, DCAP_VALID_AT).unwrap_err();
    assert!(matches!(err, EvidenceError::BadSignature { .. }), "{err}");
}

#[test]
fn quotes_are_refused_after_their_collateral_expires() {
    for (quote, collateral) in [(SGX_QUOTE, SGX_COLLATERAL), (TDX_QUOTE, TDX_COLLATERAL)] {
        let err = dcap(quote, collateral, DCAP_EXPIRED_AT).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::NotValidAt {
                    at: DCAP_EXPIRED_AT,
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn quotes_are_refused_before_their_collateral_was_issued() {
    for (quote, collateral) in [(SGX_QUOTE, SGX_COLLATERAL), (TDX_QUOTE, TDX_COLLATERAL)] {
        let err = dcap(quote, collateral, DCAP_NOT_YET_AT).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::NotValidAt {
                    at: DCAP_NOT_YET_AT,
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn a_quote_with_the_other_tees_collateral_is_refused() {
    let err = dcap(SGX_QUOTE, TDX_COLLATERAL, DCAP_VALID_AT).unwrap_err();
    assert!(matches!(err, EvidenceError::ChainMismatch { .. }), "{err}");
}

#[test]
fn verify_bytes_detects_quotes_raw_and_as_hex_text() {
    let verified = verify_bytes(TDX_QUOTE, Some(TDX_COLLATERAL), DCAP_VALID_AT).unwrap();
    assert_eq!(hex::encode(&verified.measurement), TDX_MRTD);
    let as_hex = format!("{}\n", hex::encode(SGX_QUOTE));
    let verified = verify_bytes(as_hex.as_bytes(), Some(SGX_COLLATERAL), DCAP_VALID_AT).unwrap();
    assert_eq!(hex::encode(&verified.measurement), SGX_MRENCLAVE);
}

#[test]
fn a_quote_without_collateral_is_missing_collateral() {
    let err = verify_bytes(SGX_QUOTE, None, DCAP_VALID_AT).unwrap_err();
    assert!(
        matches!(
            err,
            EvidenceError::Missing {
                part: cryptflow_evidence::Part::Collateral
            }
        ),
        "{err}"
    );
}

#[test]
fn verified_evidence_serializes_with_hex_fields() {
    let verified = dcap(SGX_QUOTE, SGX_COLLATERAL, DCAP_VALID_AT).unwrap();
    let json = serde_json::to_value(&verified).unwrap();
    assert_eq!(json["tee"], "sgx");
    assert_eq!(json["measurement"], SGX_MRENCLAVE);
    assert_eq!(json["report_data"], SGX_REPORT_DATA);
    assert_eq!(json["status"], "ConfigurationAndSWHardeningNeeded");
    assert_eq!(json["advisories"][1], "INTEL-SA-00615");
}
