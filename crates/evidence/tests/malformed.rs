//! Truncated, garbage and half-right inputs give errors, never panics.

mod common;

use common::*;
use cryptflow_evidence::{detect, verify, verify_bytes, Evidence, EvidenceError, Part};
use proptest::prelude::*;

fn dcap(
    quote: &[u8],
    collateral: &[u8],
) -> Result<cryptflow_evidence::VerifiedEvidence, EvidenceError> {
    verify(Evidence::DcapQuote {
        quote,
        collateral,
        now_unix: DCAP_VALID_AT,
    })
}

fn snp(report: &[u8], vcek: &[u8]) -> Result<cryptflow_evidence::VerifiedEvidence, EvidenceError> {
    verify(Evidence::SevSnpReport {
        report,
        vcek,
        now_unix: SNP_VALID_AT,
    })
}

/// Where a quote's auth data ends: signed header and report, a u32 length, the data.
fn declared_len(quote: &[u8], report_len: usize) -> usize {
    let at = 48 + report_len;
    let auth_len = u32::from_le_bytes(quote[at..at + 4].try_into().unwrap());
    at + 4 + auth_len as usize
}

#[test]
fn every_truncation_of_a_quote_is_refused() {
    for (quote, collateral, report_len) in [
        (SGX_QUOTE, SGX_COLLATERAL, 384),
        (TDX_QUOTE, TDX_COLLATERAL, 584),
    ] {
        for len in 0..declared_len(quote, report_len) {
            let err = dcap(&quote[..len], collateral).unwrap_err();
            if len < 48 {
                assert!(
                    matches!(err, EvidenceError::Length { part: Part::Quote, len: l, .. } if l == len),
                    "{len}: {err}"
                );
            } else {
                assert!(
                    matches!(
                        err,
                        EvidenceError::Malformed {
                            part: Part::Quote,
                            ..
                        }
                    ),
                    "{len}: {err}"
                );
            }
        }
    }
}

#[test]
fn zero_padding_after_a_quote_is_accepted_and_anything_else_refused() {
    // The TDX sample carries 70 zero bytes after its auth data.
    let end = declared_len(TDX_QUOTE, 584);
    assert_eq!(TDX_QUOTE.len() - end, 70);
    for len in end..=TDX_QUOTE.len() {
        dcap(&TDX_QUOTE[..len], TDX_COLLATERAL).unwrap();
    }
    for at in [end, TDX_QUOTE.len() - 1] {
        let err = dcap(&flipped(TDX_QUOTE, at), TDX_COLLATERAL).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::Malformed {
                    part: Part::Quote,
                    ..
                }
            ),
            "{at}: {err}"
        );
    }
    let mut longer = SGX_QUOTE.to_vec();
    longer.push(1);
    let err = dcap(&longer, SGX_COLLATERAL).unwrap_err();
    assert!(
        matches!(
            err,
            EvidenceError::Malformed {
                part: Part::Quote,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn every_truncation_of_a_report_is_a_length_error() {
    let report = snp_report();
    for len in 0..report.len() {
        let err = snp(&report[..len], VCEK_MILAN).unwrap_err();
        assert!(
            matches!(err, EvidenceError::Length { part: Part::SnpReport, len: l, .. } if l == len),
            "{len}: {err}"
        );
    }
    let mut longer = report.clone();
    longer.push(0);
    assert!(matches!(
        snp(&longer, VCEK_MILAN),
        Err(EvidenceError::Length { .. })
    ));
}

#[test]
fn every_truncation_through_verify_bytes_is_refused() {
    let report = snp_report();
    for (evidence, collateral, at) in [
        (
            &SGX_QUOTE[..declared_len(SGX_QUOTE, 384)],
            SGX_COLLATERAL,
            DCAP_VALID_AT,
        ),
        (
            &TDX_QUOTE[..declared_len(TDX_QUOTE, 584)],
            TDX_COLLATERAL,
            DCAP_VALID_AT,
        ),
        (&report[..], VCEK_MILAN, SNP_VALID_AT),
    ] {
        verify_bytes(evidence, Some(collateral), at).unwrap();
        for len in 0..evidence.len() {
            assert!(verify_bytes(&evidence[..len], Some(collateral), at).is_err());
        }
    }
}

#[test]
fn truncated_collateral_is_malformed_collateral() {
    for len in (0..SGX_COLLATERAL.len()).step_by(61) {
        let err = dcap(SGX_QUOTE, &SGX_COLLATERAL[..len]).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::Malformed {
                    part: Part::Collateral,
                    ..
                }
            ),
            "{len}: {err}"
        );
    }
}

#[test]
fn garbage_in_any_collateral_field_is_refused() {
    let genuine: serde_json::Value = serde_json::from_slice(TDX_COLLATERAL).unwrap();
    let fields: Vec<String> = genuine.as_object().unwrap().keys().cloned().collect();
    // dcap-qvl checks the CRLs against Intel's root key itself and never reads
    // `pck_crl_issuer_chain` (its own tests assert that), so garbage there is harmless.
    for field in fields.iter().filter(|f| *f != "pck_crl_issuer_chain") {
        for garbage in [
            "",
            "00",
            "zz",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "{}",
        ] {
            let mut collateral = genuine.clone();
            collateral[field] = garbage.into();
            let bytes = serde_json::to_vec(&collateral).unwrap();
            assert!(
                dcap(TDX_QUOTE, &bytes).is_err(),
                "{field} = {garbage:?} verified"
            );
        }
    }
}

#[test]
fn every_truncation_of_the_vcek_is_refused() {
    let report = snp_report();
    for len in 0..VCEK_MILAN.len() {
        let err = snp(&report, &VCEK_MILAN[..len]).unwrap_err();
        assert!(
            matches!(
                err,
                EvidenceError::Malformed {
                    part: Part::Vcek,
                    ..
                }
            ),
            "{len}: {err}"
        );
    }
}

#[test]
fn unknown_bytes_are_an_unknown_format() {
    for bytes in [&b""[..], b"hello", &[0u8; 4096], b"0x", b"abc"] {
        let err = verify_bytes(bytes, Some(b"{}"), 0).unwrap_err();
        assert!(matches!(err, EvidenceError::UnknownFormat { .. }), "{err}");
        assert_eq!(detect(bytes), None);
    }
}

/// A DCAP quote v4 TDX header (version 4, ECDSA-P256 key type, TEE type 0x81).
const TDX_HEADER: [u8; 8] = [4, 0, 2, 0, 0x81, 0, 0, 0];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..6000)) {
        prop_assert!(verify_bytes(&bytes, Some(SGX_COLLATERAL), DCAP_VALID_AT).is_err());
        prop_assert!(verify_bytes(&bytes, Some(VCEK_MILAN), SNP_VALID_AT).is_err());
        prop_assert!(verify_bytes(&bytes, None, 0).is_err());
        prop_assert!(dcap(SGX_QUOTE, &bytes).is_err());
        prop_assert!(snp(&snp_report(), &bytes).is_err());
    }

    #[test]
    fn random_bytes_behind_a_quote_header_never_verify(tail in proptest::collection::vec(any::<u8>(), 0..6000)) {
        let mut quote = TDX_HEADER.to_vec();
        quote.extend_from_slice(&TDX_QUOTE[TDX_HEADER.len()..48]);
        quote.extend_from_slice(&tail);
        prop_assert!(dcap(&quote, TDX_COLLATERAL).is_err());
    }

    #[test]
    fn a_genuine_quote_with_random_bytes_spliced_in_never_verifies(
        at in 0usize..5006,
        patch in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let mut quote = TDX_QUOTE.to_vec();
        let end = (at + patch.len()).min(quote.len());
        let changed = quote[at..end] != patch[..end - at];
        quote[at..end].copy_from_slice(&patch[..end - at]);
        // Only a change to signed bytes must be caught; the embedded root CA
        // certificate and PEM whitespace are not signed, so skip the unsigned tail.
        if changed && end <= 48 + 584 {
            prop_assert!(dcap(&quote, TDX_COLLATERAL).is_err());
        } else {
            let _ = dcap(&quote, TDX_COLLATERAL);
        }
    }

    #[test]
    fn random_snp_shaped_reports_never_verify(body in proptest::collection::vec(any::<u8>(), 1184)) {
        let mut report = body;
        report[0..4].copy_from_slice(&2u32.to_le_bytes());
        report[0x34..0x38].copy_from_slice(&1u32.to_le_bytes());
        prop_assert!(snp(&report, VCEK_MILAN).is_err());
        prop_assert!(verify_bytes(&report, Some(VCEK_MILAN), SNP_VALID_AT).is_err());
    }
}
