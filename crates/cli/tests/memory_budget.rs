//! `infer --memory-budget` against the real processes: every party's measured peak
//! (`VmHWM`) stays under the budget, the output matches the unbounded run, the extra
//! rounds are the plan's, and a budget too small is refused with the one that works.
//! (Bit-identity under the same seeds is runtime/src/budget_tests.rs: `infer` draws
//! fresh seeds, so here the truncation after the convolution may differ by its ±1.)

mod common;

use common::*;
use prost::Message;
use serde_json::Value;
use std::path::Path;

/// 16 channels of 128 × 128: a 262144-element ReLU, over 48 MiB at P0 and P1 in one
/// piece (53 measured with the bit-sliced comparison; the plan, conservative, says 96).
fn write_model(dir: &Path) -> (String, String) {
    let model = dir.join("conv_relu_pool.onnx");
    std::fs::write(&model, conv_relu_pool(16, 128).encode_to_vec()).expect("write model");
    let input = dir.join("x.npy");
    let x: Vec<f32> = (0..128 * 128)
        .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
        .collect();
    write_npy(&input, &[1, 1, 128, 128], &x);
    (model.display().to_string(), input.display().to_string())
}

fn infer(model: &str, input: &str, budget: Option<&str>) -> Value {
    let mut args = vec!["infer", model, "--input", input, "--json"];
    if let Some(budget) = budget {
        args.extend(["--memory-budget", budget]);
    }
    let outcome = cryptflow(&args);
    assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    serde_json::from_str(&outcome.stdout).expect("one JSON object")
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

#[test]
fn every_party_stays_under_the_budget_with_the_unbounded_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (model, input) = write_model(dir.path());
    let whole = infer(&model, &input, None);
    let peaks = floats(&whole["peak_rss_mib"]);
    // The budget must bind: the unbounded run needs more than 48 MiB at P0 and P1.
    assert!(
        peaks[0] > 48.0 && peaks[1] > 48.0,
        "unbounded peaks {peaks:?}"
    );
    let within = infer(&model, &input, Some("48"));
    let peaks = floats(&within["peak_rss_mib"]);
    assert!(
        peaks.iter().all(|&p| p > 0.0 && p <= 48.0),
        "peaks {peaks:?} over 48 MiB"
    );
    // Pieces of 65536 elements (the plan's under 48 MiB): the ReLU's 262144 in 4, the
    // max tree's first level (2 selects per window, 131072) in 2, its last in 1; so 4
    // more pieces, 8 rounds each.
    let extra =
        within["rounds"].as_u64().expect("rounds") - whole["rounds"].as_u64().expect("rounds");
    assert_eq!(extra, 4 * 8);
    let (a, b) = (floats(&whole["output"]), floats(&within["output"]));
    assert_eq!(a.len(), 16 * 64 * 64);
    let lsb = 1.0 / 4096.0;
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 2.0 * lsb, "outputs differ by {worst}");
}

#[test]
fn a_budget_too_small_names_the_smallest_that_works_and_that_one_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (model, input) = write_model(dir.path());
    let outcome = cryptflow(&["infer", &model, "--input", &input, "--memory-budget", "16"]);
    assert_fails(&outcome, 2, &["a memory budget of 16 MiB is too small"]);
    let needed: String = outcome
        .stderr
        .split("the smallest budget that works is ")
        .nth(1)
        .expect("names a budget")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let within = infer(&model, &input, Some(&needed));
    let peaks = floats(&within["peak_rss_mib"]);
    let needed: f64 = needed.parse().expect("a number");
    assert!(
        peaks.iter().all(|&p| p <= needed),
        "peaks {peaks:?} over {needed} MiB"
    );
}

#[test]
fn the_model_owner_under_a_budget_needs_a_compiled_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (model, _) = write_model(dir.path());
    let outcome = cryptflow(&[
        "party",
        "--id",
        "0",
        "--peers",
        "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3",
        "--plaintext",
        "--model",
        &model,
        "--memory-budget",
        "64",
    ]);
    assert_fails(&outcome, 2, &["cryptflow compile", "--model MODEL.cfp"]);
}

/// A 1024 × 4096 dense layer (32 MiB a copy): whole, the model owner holds three
/// copies and the client one; under 48 MiB the weight goes in blocks of output
/// features, with no more rounds, every party under the budget and the same output.
#[test]
fn a_weight_larger_than_the_budget_runs_in_blocks_under_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("dense.onnx");
    std::fs::write(&model, dense(1024, 4096).encode_to_vec()).expect("write model");
    let cfp = dir.path().join("dense.cfp").display().to_string();
    let model = model.display().to_string();
    let outcome = cryptflow(&[
        "compile",
        &model,
        "-o",
        &cfp,
        "--json",
        "--memory-budget",
        "48",
    ]);
    assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    let report: Value = serde_json::from_str(&outcome.stdout).expect("one JSON object");
    let blocked = report["memory_plan"]["blocked_steps"]
        .as_array()
        .expect("blocked steps");
    assert_eq!(blocked.len(), 1, "{report}");
    assert_eq!(blocked[0]["kernel"], "MatMul");
    assert!(blocked[0]["blocks"].as_u64() > Some(1), "{report}");
    let input = dir.path().join("x.npy");
    let x: Vec<f32> = (0..1024)
        .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
        .collect();
    write_npy(&input, &[1, 1024], &x);
    let input = input.display().to_string();
    let whole = infer(&cfp, &input, None);
    let peaks = floats(&whole["peak_rss_mib"]);
    assert!(
        peaks[0] > 96.0,
        "whole, the owner holds 3 copies: {peaks:?}"
    );
    let within = infer(&cfp, &input, Some("48"));
    let peaks = floats(&within["peak_rss_mib"]);
    assert!(
        peaks.iter().all(|&p| p > 0.0 && p <= 48.0),
        "peaks {peaks:?} over 48 MiB"
    );
    assert_eq!(within["rounds"], whole["rounds"], "blocks cost no rounds");
    let (a, b) = (floats(&whole["output"]), floats(&within["output"]));
    assert_eq!(a.len(), 4096);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 2.0 / 4096.0, "outputs differ by {worst}");
}

/// `compile --memory-budget` shows the plan `infer` will run: the steps in pieces,
/// their rounds (those the infer test above measures), and the smallest budget; a
/// budget no plan meets writes no program.
#[test]
fn compile_reports_the_plan_for_a_budget_and_refuses_one_too_small() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (model, _) = write_model(dir.path());
    let cfp = dir.path().join("m.cfp").display().to_string();
    let compile = |budget: Option<&str>| {
        let mut args = vec!["compile", &model, "-o", &cfp, "--json"];
        args.extend(budget.iter().flat_map(|b| ["--memory-budget", b]));
        cryptflow(&args)
    };
    let report = |outcome: Finished| -> Value {
        assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
        serde_json::from_str::<Value>(&outcome.stdout).expect("one JSON object")["memory_plan"]
            .clone()
    };
    let whole = report(compile(None));
    assert!(whole["budget_mib"].is_null());
    assert_eq!(whole["extra_rounds"], 0);
    assert_eq!(whole["pieced_steps"].as_array().map(Vec::len), Some(0));
    assert_eq!(whole["smallest_budget_mib"], 41);

    let within = report(compile(Some("48")));
    assert_eq!(within["budget_mib"], 48);
    assert_eq!(within["extra_rounds"], 4 * 8);
    let steps = within["pieced_steps"].as_array().expect("pieced steps");
    let kernels: Vec<&str> = steps.iter().filter_map(|s| s["kernel"].as_str()).collect();
    assert_eq!(kernels, ["Relu", "MaxPool"]);
    // The ReLU's 262144 elements in 4 pieces, the pool's first level in 2.
    assert!(steps.iter().all(|s| s["piece_elements"] == 65_536));
    assert_eq!(steps[0]["extra_rounds"], 3 * 8);
    assert_eq!(steps[1]["extra_rounds"], 8);
    assert!(floats(&within["peak_mib"]).iter().all(|&m| m <= 48.0));

    std::fs::remove_file(&cfp).expect("the program was written");
    let refused = compile(Some("16"));
    assert_fails(
        &refused,
        2,
        &["too small", "the smallest budget that works is 41 MiB"],
    );
    assert!(
        !Path::new(&cfp).exists(),
        "a refused budget wrote a program"
    );
}

/// `bench memory` runs every budget as `infer` would and reports what the processes
/// measured: the unbounded row, a binding budget under which every peak stays and the
/// plan's extra rounds appear, and a refused one that names the smallest that works.
#[test]
fn bench_memory_reports_each_budget_measured_or_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (model, input) = write_model(dir.path());
    let outcome = cryptflow(&[
        "bench",
        "memory",
        "--model",
        &model,
        "--input",
        &input,
        "--memory-budget",
        "48,16",
        "--mode",
        "semi-honest",
        "--runs",
        "1",
        "--json",
    ]);
    assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    let rows: Vec<Value> = outcome
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(rows.len(), 3, "rows: {rows:?}");
    let (whole, within, refused) = (&rows[0], &rows[1], &rows[2]);
    assert!(whole["budget_mib"].is_null());
    assert_eq!(within["budget_mib"], 48);
    let peaks = floats(&within["peak_rss_mib"]);
    assert!(
        peaks.iter().all(|&p| p > 0.0 && p <= 48.0),
        "peaks {peaks:?} over 48 MiB"
    );
    assert!(floats(&whole["peak_rss_mib"])[0] > 48.0, "rows: {rows:?}");
    let rounds = |row: &Value| row["rounds"].as_u64().expect("rounds");
    assert_eq!(rounds(within) - rounds(whole), 4 * 8);
    assert!(within["max_diff_lsb"].as_f64().expect("a difference") <= 2.0);
    assert!(within["median_s"].as_f64().expect("a time") > 0.0);
    assert_eq!(refused["budget_mib"], 16);
    assert_eq!(refused["refused_needs_mib"], 41);
    assert!(
        refused.get("peak_rss_mib").is_none(),
        "a refused budget ran"
    );
}

/// The other suites run in one process, so a per-party budget means nothing there.
#[test]
fn only_bench_memory_takes_a_budget() {
    let outcome = cryptflow(&["bench", "mnist", "--memory-budget", "64"]);
    assert_fails(&outcome, 2, &["bench memory"]);
}

/// `bench mnist --profile`: each row carries its last run's steps, whose rounds add up
/// to the row's but the output's; the process-per-party suite refuses it.
#[test]
fn bench_profile_gives_each_row_its_steps() {
    let outcome = cryptflow(&[
        "bench",
        "mnist",
        "--runs",
        "1",
        "--mode",
        "semi-honest",
        "--json",
        "--profile",
    ]);
    assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    let rows: Vec<Value> = (outcome.stdout.lines())
        .map(|line| serde_json::from_str(line).expect("a JSON row"))
        .collect();
    assert_eq!(rows.len(), 4, "one row per net");
    for row in &rows {
        let layers = row["layers"].as_array().expect("layers with --profile");
        let rounds: u64 = layers.iter().filter_map(|l| l["rounds"].as_u64()).sum();
        assert_eq!(Some(rounds + 1), row["rounds"].as_u64(), "{}", row["net"]);
    }
    let refused = cryptflow(&["bench", "memory", "--profile"]);
    assert_fails(&refused, 2, &["--profile is for `bench mnist`"]);
}
