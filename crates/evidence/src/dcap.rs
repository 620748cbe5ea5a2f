//! Intel SGX and TDX DCAP quotes, verified offline by `dcap-qvl`.
//!
//! dcap-qvl checks, against Intel's SGX root CA built into it: the CRLs and issuer
//! chains of the collateral, the TCB info and QE identity signatures and their
//! issue/next-update window at the given time, the PCK certificate chain embedded
//! in the quote, the QE report signature and its binding to the attestation key,
//! the ISV enclave/TD report signature, and the TCB level match. It refuses
//! debug enclaves and TDs and revoked TCBs. We map its report onto ours.

use dcap_qvl::quote::{Quote, Report};
use dcap_qvl::QuoteCollateralV3;

use crate::detect::QUOTE_HEADER_LEN;
use crate::{EvidenceError, Part, Tee, VerifiedEvidence};

/// Verifies a DCAP quote with its collateral at `now_unix` (UNIX seconds).
pub(crate) fn verify_quote(
    quote: &[u8],
    collateral: &[u8],
    now_unix: u64,
) -> Result<VerifiedEvidence, EvidenceError> {
    if quote.len() < QUOTE_HEADER_LEN {
        return Err(EvidenceError::Length {
            part: Part::Quote,
            len: quote.len(),
            expected: "at least 48",
        });
    }
    let collateral: QuoteCollateralV3 =
        serde_json::from_slice(collateral).map_err(|e| EvidenceError::Malformed {
            part: Part::Collateral,
            reason: e.to_string(),
        })?;
    // Parse first so that a quote which does not decode is reported as malformed,
    // not as whatever collateral check dcap-qvl happens to run before decoding.
    let parsed = Quote::parse(quote).map_err(|e| EvidenceError::Malformed {
        part: Part::Quote,
        reason: format!("{e:#}"),
    })?;
    check_trailing_bytes(quote, &parsed)?;
    let verified = dcap_qvl::verify::verify(quote, &collateral, now_unix)
        .map_err(|e| classify(&format!("{e:#}"), now_unix))?;

    let (tee, measurement, report_data) = match &verified.report {
        Report::SgxEnclave(r) => (Tee::Sgx, r.mr_enclave.to_vec(), r.report_data),
        Report::TD10(r) => (Tee::Tdx, r.mr_td.to_vec(), r.report_data),
        Report::TD15(r) => (Tee::Tdx, r.base.mr_td.to_vec(), r.base.report_data),
        Report::TD15Ex(r) => (
            Tee::Tdx,
            r.base.base.mr_td.to_vec(),
            r.base.base.report_data,
        ),
    };
    Ok(VerifiedEvidence {
        tee,
        measurement,
        report_data,
        status: verified.status,
        advisories: verified.advisory_ids,
    })
}

/// Quotes are often stored in a fixed-size buffer, so zero bytes after the auth data
/// are accepted (the TDX sample has 70). Anything else there is refused: those bytes
/// are not signed, and accepting them would let one quote take many byte forms.
fn check_trailing_bytes(quote: &[u8], parsed: &Quote) -> Result<(), EvidenceError> {
    let signed = parsed.signed_length();
    let auth_len = signed
        .checked_add(4)
        .and_then(|end| quote.get(signed..end))
        .and_then(|raw| raw.try_into().ok())
        .map(u32::from_le_bytes);
    let end = auth_len
        .and_then(|len| usize::try_from(len).ok())
        .and_then(|len| signed.checked_add(4)?.checked_add(len));
    let tail = end.and_then(|end| quote.get(end..));
    match tail {
        Some(tail) if tail.iter().all(|&b| b == 0) => Ok(()),
        Some(_) => Err(EvidenceError::Malformed {
            part: Part::Quote,
            reason: "non-zero bytes after the quote's auth data".into(),
        }),
        // Quote::parse read this far, so this does not happen; refuse rather than guess.
        None => Err(EvidenceError::Malformed {
            part: Part::Quote,
            reason: "auth data length runs past the end of the quote".into(),
        }),
    }
}

/// Sorts a dcap-qvl error (an `anyhow` chain rendered as text, the only form it
/// gives) into our variants. The patterns are the messages of dcap-qvl 0.7 and of
/// its webpki fork (`InvalidSignatureForPublicKey`, `CertExpired`, `BadDer`, ...);
/// anything unrecognised stays a plain rejection. The full text is always kept.
fn classify(message: &str, at: u64) -> EvidenceError {
    let lower = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let reason = message.to_string();
    if any(&["expired", "in the future", "notvalidyet"]) {
        EvidenceError::NotValidAt { at, reason }
    } else if any(&[
        "signature is invalid",
        "invalidsignature",
        "signaturealgorithmmismatch",
        "hash mismatch",
    ]) {
        EvidenceError::BadSignature { reason }
    } else if any(&[
        "unknownissuer",
        "chain is too short",
        "causedasendentity",
        "root ca",
        "fmspc mismatch",
        // Collateral for the other TEE: TDX TCB info or QE identity for an SGX quote.
        "tcb info in the collateral",
        "qe identity id/version",
    ]) {
        EvidenceError::ChainMismatch { reason }
    } else if any(&[
        "badder",
        "trailingdata",
        "extensionvalueinvalid",
        "failed to parse",
        "failed to extract",
        "failed to decode",
        "could not decode",
        "not enough data",
        "data length exceeds",
    ]) {
        // Collateral parsed as JSON already, so what fails to parse is in the quote
        // (its PCK chain, its QE report) unless the message names a collateral item.
        let part = if any(&[
            "collateral",
            "tcb info",
            "tcbinfo",
            "qe identity",
            "qeidentity",
            "crl",
        ]) {
            Part::Collateral
        } else {
            Part::Quote
        };
        EvidenceError::Malformed { part, reason }
    } else if any(&["unsupported", "unknown qe vendor"]) {
        EvidenceError::Unsupported { reason }
    } else {
        // Authentic but refused: revoked TCB, debug enclave or TD, no TCB level match.
        EvidenceError::Rejected { reason }
    }
}
