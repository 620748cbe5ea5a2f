//! `cryptflow bench paper --quick`: the paper's benchmark suite in its CI-sized form
//! (Table V, ResNet-18/34 for Fig. 10, Table VI), checked for what it must report, not
//! for how fast it is. Needs scripts/prepare_test_models.sh (run by .ci/run).

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

fn rows<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is a list"))
}

fn number(row: &Value, key: &str) -> f64 {
    row[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {row}"))
}

/// A measured row: positive time, bytes from every party, rounds, and a peak per party.
fn assert_measured(row: &Value) {
    assert!(number(row, "median_s") > 0.0, "{row}");
    assert!(number(row, "median_online_s") > 0.0, "{row}");
    assert!(
        number(row, "median_online_s") <= number(row, "median_s"),
        "{row}"
    );
    for key in ["bytes_sent", "peak_rss_mib"] {
        let per_party = rows(row, key);
        assert_eq!(per_party.len(), 3, "{row}");
        assert!(per_party.iter().all(|v| v.as_f64() > Some(0.0)), "{row}");
    }
    assert!(row["rounds"].as_u64() > Some(0), "{row}");
    let mode = row["mode"].as_str().expect("a mode");
    assert_eq!(
        row["over_semi_honest"].is_number(),
        mode == "malicious",
        "{row}"
    );
}

#[test]
fn bench_paper_quick_writes_the_tables_and_the_figure() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().expect("a UTF-8 temp path");
    let finished = Running::start(
        "cryptflow bench paper --quick",
        &["bench", "paper", "--quick", "--out", dir],
    )
    .finish_within(Duration::from_secs(600));
    assert_no_panic(&finished);
    assert_eq!(finished.code(), Some(0), "stderr:\n{}", finished.stderr);
    for table in ["Table V", "Fig. 10", "Table VI", "paper ms"] {
        assert!(
            finished.stdout.contains(table),
            "{table}:\n{}",
            finished.stdout
        );
    }

    let paper: Value = serde_json::from_slice(
        &std::fs::read(out.path().join("paper.json")).expect("paper.json is written"),
    )
    .expect("paper.json is JSON");
    assert_eq!(paper["quick"], true);
    assert!(
        rows(&paper, "table_iv").is_empty(),
        "--quick leaves Table IV out"
    );

    // Table V: four nets, both modes; LeNet (trained) reads digit 7 as 7.
    let table_v = rows(&paper, "table_v");
    assert_eq!(table_v.len(), 8);
    table_v.iter().for_each(assert_measured);
    for net in ["logreg", "secureml", "minionn", "lenet"] {
        let modes: Vec<&str> = table_v
            .iter()
            .filter(|r| r["net"] == net)
            .map(|r| r["mode"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(modes, ["semi-honest", "malicious"], "{net}");
    }
    assert!(table_v
        .iter()
        .filter(|r| r["net"] == "lenet")
        .all(|r| r["top1"] == 7));

    // Fig. 10: ResNet-18 and -34 in both modes; the deeper one sends more, and a line
    // is fitted through each mode's time and communication.
    let fig10 = &paper["fig10"];
    let points = rows(fig10, "points");
    assert_eq!(points.len(), 4);
    points.iter().for_each(assert_measured);
    let gib = |depth: u64, mode: &str| {
        points
            .iter()
            .find(|p| p["depth"] == depth && p["mode"] == mode)
            .map(|p| number(p, "total_gib"))
            .unwrap_or_else(|| panic!("ResNet-{depth} {mode}"))
    };
    for mode in ["semi-honest", "malicious"] {
        assert!(gib(34, mode) > gib(18, mode) * 1.2, "{mode}");
    }
    let fits = rows(fig10, "fits");
    assert_eq!(fits.len(), 4);
    assert!(fits.iter().all(|f| number(f, "slope") > 0.0), "{fits:?}");

    // Table VI: the fixed point keeps the float's accuracy on 1000 real digits, and
    // MobileNetV2's top-1 on every photo.
    let table_vi = rows(&paper, "table_vi");
    assert_eq!(table_vi.len(), 5);
    for row in &table_vi[..4] {
        assert_eq!(row["inputs"], 1000, "{row}");
        let (float, fixed) = (number(row, "float_top1"), number(row, "fixed_top1"));
        assert!(float > 0.9, "a trained net: {row}");
        assert!((float - fixed).abs() <= 0.005, "{row}");
    }
    assert_eq!(table_vi[4]["net"], "mobilenet_v2");
    assert_eq!(number(&table_vi[4], "top1_agreement"), 1.0);
    assert!(paper["paper"]["table_iv_s"].is_array());

    let svg = std::fs::read_to_string(out.path().join("fig10.svg")).expect("fig10.svg");
    assert!(svg.starts_with("<svg"));
    for label in [
        "ResNet-n: time (s)",
        "communication (GiB)",
        "malicious (Aramis)",
    ] {
        assert!(svg.contains(label), "{label} in the figure");
    }
}

#[test]
fn quick_and_out_belong_to_bench_paper() {
    let outcome = cryptflow(&["bench", "mnist", "--quick"]);
    assert_fails(&outcome, 2, &["--quick and --out are for `bench paper`"]);
    let outcome = cryptflow(&["bench", "paper", "--profile"]);
    assert_fails(&outcome, 2, &["--profile is for `bench mnist`"]);
}
