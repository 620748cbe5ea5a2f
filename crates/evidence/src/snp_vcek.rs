//! Checks on a VCEK certificate that `sev` leaves to the caller: its validity
//! period, and that it was issued for the chip and TCB in the report.
//!
//! The extension OIDs are from AMD's "Versioned Chip Endorsement Key (VCEK)
//! Certificate and KDS Interface Specification" (57230), table "VCEK extensions".

use sev::certs::snp::Certificate;
use sev::firmware::guest::AttestationReport;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::Decode;

use crate::EvidenceError;

const OID_BL_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.1");
const OID_TEE_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.2");
const OID_SNP_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.3");
const OID_UCODE_SPL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.3.8");
const OID_HW_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.4");

/// `cert` (named `name` in errors) must be valid at `now_unix`.
pub(crate) fn check_validity(
    name: &str,
    cert: &Certificate,
    now_unix: u64,
) -> Result<(), EvidenceError> {
    let cert = x509_cert::Certificate::from(cert.clone());
    let validity = &cert.tbs_certificate.validity;
    let not_before = validity.not_before.to_unix_duration().as_secs();
    let not_after = validity.not_after.to_unix_duration().as_secs();
    if now_unix < not_before {
        return Err(EvidenceError::NotValidAt {
            at: now_unix,
            reason: format!("{name} certificate is not valid before {not_before}"),
        });
    }
    if now_unix > not_after {
        return Err(EvidenceError::NotValidAt {
            at: now_unix,
            reason: format!("{name} certificate expired at {not_after}"),
        });
    }
    Ok(())
}

/// The VCEK's hardware id must be the report's CHIP_ID and its security patch
/// levels the report's REPORTED_TCB: the key is derived from both, so a VCEK that
/// names another chip or TCB is the wrong certificate for this report.
pub(crate) fn check_binding(
    vcek: &Certificate,
    report: &AttestationReport,
) -> Result<(), EvidenceError> {
    let cert = x509_cert::Certificate::from(vcek.clone());
    let extensions = cert.tbs_certificate.extensions.unwrap_or_default();
    let find = |oid: ObjectIdentifier| {
        extensions
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    };
    let mismatch = |reason: String| EvidenceError::ChainMismatch { reason };

    // Milan and Genoa VCEKs carry the whole 64-byte chip id, Turin's only its first
    // 8 bytes (the report pads those with zeros).
    let hw_id = find(OID_HW_ID).ok_or_else(|| mismatch("VCEK has no hwID extension".into()))?;
    let chip_id = &report.chip_id[..];
    let (head, tail) = chip_id.split_at(hw_id.len().min(chip_id.len()));
    if hw_id.is_empty() || head != hw_id || tail.iter().any(|&b| b != 0) {
        return Err(mismatch(format!(
            "VCEK hwID {} is not the report's CHIP_ID {}",
            hex::encode(hw_id),
            hex::encode(chip_id)
        )));
    }

    let tcb = &report.reported_tcb;
    for (name, oid, reported) in [
        ("bootloader", OID_BL_SPL, tcb.bootloader),
        ("TEE", OID_TEE_SPL, tcb.tee),
        ("SNP", OID_SNP_SPL, tcb.snp),
        ("microcode", OID_UCODE_SPL, tcb.microcode),
    ] {
        let raw = find(oid).ok_or_else(|| mismatch(format!("VCEK has no {name} SPL")))?;
        let certified = u8::from_der(raw)
            .map_err(|e| mismatch(format!("VCEK {name} SPL is not a small integer: {e}")))?;
        if certified != reported {
            return Err(mismatch(format!(
                "VCEK {name} SPL {certified} is not the report's {reported}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sev::parser::ByteParser;

    const REPORT_HEX: &str = include_str!("../tests/data/report_milan.hex");
    const VCEK_MILAN: &[u8] = include_bytes!("../tests/data/vcek_milan.der");
    const VCEK_TURIN: &[u8] = include_bytes!("../tests/data/vcek_turin.der");

    fn sample() -> (Certificate, AttestationReport) {
        let bytes = hex::decode(REPORT_HEX.trim()).unwrap();
        let report = AttestationReport::from_bytes(&bytes).unwrap();
        (Certificate::from_der(VCEK_MILAN).unwrap(), report)
    }

    #[test]
    fn the_sample_vcek_is_bound_to_the_sample_report() {
        let (vcek, report) = sample();
        check_binding(&vcek, &report).unwrap();
    }

    #[test]
    fn another_chip_id_is_a_mismatch() {
        let (vcek, mut report) = sample();
        report.chip_id[63] ^= 1;
        let err = check_binding(&vcek, &report).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::ChainMismatch { reason } if reason.contains("CHIP_ID")),
            "{err}"
        );
        // A Turin VCEK names an 8-byte hardware id, which is not this Milan chip's.
        let (_, report) = sample();
        let turin = Certificate::from_der(VCEK_TURIN).unwrap();
        assert!(matches!(
            check_binding(&turin, &report),
            Err(EvidenceError::ChainMismatch { .. })
        ));
    }

    #[test]
    fn another_reported_tcb_is_a_mismatch() {
        let (vcek, mut report) = sample();
        report.reported_tcb.microcode = report.reported_tcb.microcode.wrapping_add(1);
        let err = check_binding(&vcek, &report).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::ChainMismatch { reason } if reason.contains("microcode")),
            "{err}"
        );
    }

    #[test]
    fn validity_is_checked_at_both_ends() {
        let (vcek, _) = sample();
        // 2023-04-03T19:23:43Z .. 2030-04-03T19:23:43Z
        check_validity("VCEK", &vcek, 1_680_549_823).unwrap();
        check_validity("VCEK", &vcek, 1_901_474_623).unwrap();
        for at in [1_680_549_822, 1_901_474_624] {
            assert!(matches!(
                check_validity("VCEK", &vcek, at),
                Err(EvidenceError::NotValidAt { .. })
            ));
        }
    }
}
