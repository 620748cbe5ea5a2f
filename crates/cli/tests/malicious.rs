//! `--mode malicious` through the CLI: the same prediction as semi-honest mode, the
//! JSON's "mode", faults injected by every party's host (early and late) named by
//! every honest party with no panic, `attest init`, and `attest verify` on genuine
//! SGX, TDX and SEV-SNP evidence.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn infer(extra: &[&str]) -> Finished {
    infer_on("lenet.onnx", extra)
}

fn infer_on(net: &str, extra: &[&str]) -> Finished {
    let model = model(net);
    // LogReg and SecureML take the digit flat, [1, 784].
    let dir = tempfile::tempdir().expect("temp dir");
    let digit = if net == "logreg.onnx" || net == "secureml.onnx" {
        flat_digit_7(dir.path())
    } else {
        digit_7()
    };
    let mut args = vec![
        "infer",
        model.to_str().expect("utf-8"),
        "--input",
        digit.to_str().expect("utf-8"),
        "--json",
    ];
    args.extend_from_slice(extra);
    cryptflow(&args)
}

fn json(outcome: &Finished) -> Value {
    assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    serde_json::from_str(&outcome.stdout).expect("one JSON object")
}

#[test]
fn malicious_mode_predicts_what_semi_honest_mode_predicts_on_the_table_v_nets() {
    for net in ["logreg.onnx", "secureml.onnx", "minionn.onnx", "lenet.onnx"] {
        let semi = json(&infer_on(net, &[]));
        let mal = json(&infer_on(net, &["--mode", "malicious"]));
        assert_eq!(semi["mode"], "semi-honest");
        assert_eq!(mal["mode"], "malicious");
        assert_eq!(mal["top1"], semi["top1"], "{net}");
        assert_eq!(mal["rounds"], semi["rounds"], "{net}");
        let values = |v: &Value| -> Vec<f64> {
            v["output"]
                .as_array()
                .expect("output")
                .iter()
                .filter_map(Value::as_f64)
                .collect()
        };
        let (a, b) = (values(&mal), values(&semi));
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(&b) {
            // Local truncation's last-bit error depends on the masks, which are fresh
            // in every session (and made inside the boundary in malicious mode).
            assert!((a - b).abs() < 0.01, "{net}: {a} vs {b}");
        }
    }
}

const NAMES: [&str; 3] = ["P0 (model owner)", "P1 (client)", "P2 (helper)"];

/// Runs with `party`'s host tampering and checks that the run fails and that every
/// honest party's report starts by blaming `party`.
fn assert_caught(party: usize, kind: &str, message: u64) {
    let fault = format!("party={party},kind={kind},message={message}");
    let outcome = infer(&[
        "--mode",
        "malicious",
        "--timeout",
        "1",
        "--inject-fault",
        &fault,
    ]);
    assert_no_panic(&outcome);
    assert_eq!(
        outcome.code(),
        Some(1),
        "{fault} went unnoticed:\n{}",
        outcome.stderr
    );
    for honest in (0..3).filter(|&p| p != party) {
        let line = outcome
            .stderr
            .lines()
            .map(|l| l.trim_start_matches("error: "))
            .find(|l| l.starts_with(NAMES[honest]))
            .unwrap_or_else(|| {
                panic!(
                    "{fault}: no report from {}:\n{}",
                    NAMES[honest], outcome.stderr
                )
            });
        let expected = format!(
            "{} failed: {}'s host misbehaved",
            NAMES[honest], NAMES[party]
        );
        assert!(line.starts_with(&expected), "{fault}: {line}");
    }
}

#[test]
fn faults_in_the_prelude_are_named_by_every_honest_party() {
    // P0's messages 0, 1 are the program, 2..5 its prelude; the others' 0..3.
    for (party, kind, message) in [
        (0, "flip", 0),
        (0, "replay", 3),
        (1, "drop", 1),
        (1, "reorder", 0),
        (2, "flip", 3),
        (2, "drop", 2),
    ] {
        assert_caught(party, kind, message);
    }
}

#[test]
fn faults_late_in_the_protocol_are_named_by_every_honest_party() {
    for (party, kind, message) in [
        (0, "drop", 20),
        (0, "reorder", 12),
        (1, "flip", 10),
        (1, "replay", 12),
        (2, "replay", 7),
        (2, "reorder", 6),
    ] {
        assert_caught(party, kind, message);
    }
}

#[test]
fn semi_honest_mode_does_not_notice_a_flipped_bit() {
    // Why malicious mode exists: the same fault in semi-honest mode gives a wrong
    // (or failed) result, with nobody named.
    let outcome = infer(&["--inject-fault", "party=0,kind=flip,message=10"]);
    assert!(
        !outcome.stderr.contains("host misbehaved"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn malicious_mode_needs_a_root_with_its_key_for_a_single_party() {
    let outcome = cryptflow(&[
        "party",
        "--id",
        "2",
        "--peers",
        "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3",
        "--plaintext",
        "--mode",
        "malicious",
    ]);
    assert_fails(&outcome, 2, &["--attest-root"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let init = cryptflow(&[
        "attest",
        "init",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(init.code(), Some(0), "{}", init.stderr);
    assert!(dir.path().join("root.key").exists() && dir.path().join("root.pub").exists());
    // A root is never overwritten.
    let again = cryptflow(&[
        "attest",
        "init",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_fails(&again, 2, &["exists"]);
    std::fs::remove_file(dir.path().join("root.key")).expect("removed");
    let outcome = cryptflow(&[
        "party",
        "--id",
        "2",
        "--peers",
        "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3",
        "--plaintext",
        "--mode",
        "malicious",
        "--attest-root",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_fails(&outcome, 2, &["no root.key"]);
}

fn evidence(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../evidence/tests/data")
        .join(name)
}

fn verify(file: &str, collateral: &str, at: &str) -> Finished {
    cryptflow(&[
        "attest",
        "verify",
        evidence(file).to_str().expect("utf-8"),
        "--collateral",
        evidence(collateral).to_str().expect("utf-8"),
        "--at",
        at,
        "--json",
    ])
}

#[test]
fn attest_verify_reads_genuine_sgx_tdx_and_sev_snp_evidence() {
    // 2025-07-01 for the DCAP samples' collateral; 2026-01-01 for the VCEK.
    for (file, collateral, at, tee) in [
        (
            "sgx_quote",
            "sgx_quote_collateral.json",
            "1751328000",
            "sgx",
        ),
        (
            "tdx_quote",
            "tdx_quote_collateral.json",
            "1751328000",
            "tdx",
        ),
        (
            "report_milan.hex",
            "vcek_milan.der",
            "1767225600",
            "sev-snp",
        ),
    ] {
        let outcome = verify(file, collateral, at);
        let v = json(&outcome);
        assert_eq!(v["tee"], tee);
        assert!(
            v["measurement"].as_str().is_some_and(|m| m.len() >= 64),
            "{v}"
        );
        assert_eq!(v["report_data"].as_str().map(str::len), Some(128), "{v}");
    }
    // After the collateral expired: rejected with the reason, exit non-zero.
    let late = verify("sgx_quote", "sgx_quote_collateral.json", "1893456000");
    assert_no_panic(&late);
    assert_ne!(late.code(), Some(0));
    assert!(late.stderr.contains("rejected"), "{}", late.stderr);
}
