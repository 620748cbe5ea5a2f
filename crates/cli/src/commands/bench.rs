//! `cryptflow bench mnist`: the four networks of the paper's Table V, in both modes;
//! `bench imagenet`: the paper's Table IV networks (ResNet50, DenseNet121) likewise;
//! `bench memory`: one model under memory budgets (see `memory.rs`); `bench paper`: the
//! paper's Tables IV, V, VI and Fig. 10 in one command (see `paper.rs`).
//! Each inference runs the three parties on threads of this process over real TCP on
//! 127.0.0.1 (fresh connections each time); the time is the client's, from the
//! connections being up to the output being revealed (setup: seeds or the attested
//! prelude, program, weight masking; then online). Semi-honest and malicious runs
//! alternate, so both medians come from the same stretch of machine time.

use crate::commands::demo::models_dir;
use crate::report::{mib, print_profile, profile_of_reports, ProfileLayer};
use crate::{comparisons, inputs};
use anyhow::Result;
use clap::{Args, ValueEnum};
use cryptflow_runtime::loopback::{run_on_loopback_in_mode, LoopbackRun};
use cryptflow_runtime::{Attestation, SessionOptions};
use std::path::PathBuf;

mod memory;
mod paper;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Suite {
    /// LogReg, SecureML, MiniONN, LeNet on one MNIST digit.
    Mnist,
    /// ResNet50 and DenseNet121 (target/models, from scripts/prepare_test_models.sh) on
    /// one photo, both modes: the paper's Table IV. About 25 s per round; try --runs 3.
    Imagenet,
    /// Compile time (import + passes, no scale sweep) of ResNet50, DenseNet121 and
    /// ResNet200 from target/models (scripts/make_imagenet_models.py makes them).
    Compile,
    /// One model (default ResNet50 on its photo) under memory budgets: unbounded,
    /// 512, 256 and 128 MiB, or unbounded and those of --memory-budget; each party in
    /// a process of its own, so each peak is that party's.
    Memory,
    /// The paper's evaluation: Table IV (ResNet50, DenseNet121), Table V (the MNIST
    /// nets), Fig. 10 (ResNet-18 … 200), all in both modes, and Table VI (fixed vs
    /// float accuracy); writes paper.json and fig10.svg into --out. About 15 min;
    /// --quick (Table V, ResNet-18/34, Table VI) about 2 min.
    Paper,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    pub suite: Suite,
    /// Runs per network after one warm-up run; the median is reported (default 11;
    /// `paper`: 3, with --quick 1).
    #[arg(long)]
    pub runs: Option<usize>,
    /// Print one JSON object per network and mode instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Which modes to measure (mnist, memory).
    #[arg(long, value_enum, default_value_t = Modes::Both)]
    pub mode: Modes,
    /// `memory`: the budgets (MiB per party, comma-separated) measured beside the
    /// unbounded run.
    #[arg(long, value_name = "MIB,...", value_delimiter = ',',
          value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_budget: Option<Vec<u64>>,
    /// `memory`: the model (ONNX or `.cfp`; default target/models/resnet50.onnx).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// `memory`: the input `.npy` (default target/photos/chelsea.npy).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// `mnist`, `imagenet`: after the table, every step of each network's last run
    /// (the client's time, the bytes each party sent, the rounds) and the kernels by
    /// share of the time; with --json, `layers` in each row.
    #[arg(long)]
    pub profile: bool,
    /// `mnist`, `imagenet`: keep every comparison at 64 bits instead of calibrating
    /// the widths (on the other digits, or three photos other than the input).
    #[arg(long)]
    pub exact_comparisons: bool,
    /// `mnist`, `imagenet`: run an offline phase before each input is shared (see
    /// `infer --offline-phase`); the online column is then input to output.
    #[arg(long)]
    pub offline_phase: bool,
    /// `paper`: Table V, ResNet-18 and -34 for Fig. 10, and Table VI only.
    #[arg(long)]
    pub quick: bool,
    /// `paper`: where paper.json and fig10.svg go (default ./bench-paper).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl BenchArgs {
    /// Runs per network (`--runs`, else 11).
    fn runs(&self) -> usize {
        self.runs.unwrap_or(11).max(1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Modes {
    #[value(name = "semi-honest")]
    SemiHonest,
    Malicious,
    Both,
}

/// The paper's Table IV (3 machines with 4 cores each, LAN), quoted for reference:
/// (net, semi-honest s, malicious s). No ratio against our runs is computed from it.
const PAPER_TABLE_IV: [(&str, f64, f64); 2] =
    [("ResNet50", 25.9, 75.4), ("DenseNet121", 36.0, 112.9)];

/// The MNIST nets of the paper's Table V.
const MNIST_NETS: [&str; 4] = ["logreg", "secureml", "minionn", "lenet"];

/// Quoted references for Table V, printed beside our runs; no ratio is computed from
/// them, since neither was measured in this run: (net, the paper's Porthos in ms
/// (Table V: 3 machines, 2.7 GHz, 1.5 GBps), EzPC's Porthos built from its repository
/// and run on this 2-core machine over loopback (ms, MiB in total; issue 9, 2026)).
const TABLE_V_REFERENCES: [(&str, f64, f64, f64); 4] = [
    ("logreg", 2.7, 2.6, 0.13),
    ("secureml", 8.0, 15.0, 1.95),
    ("minionn", 34.0, 104.0, 5.9),
    ("lenet", 58.0, 137.0, 12.7),
];

#[derive(Debug, serde::Serialize)]
struct Row {
    net: &'static str,
    mode: &'static str,
    /// Malicious rows: this median over the semi-honest median of the same run.
    over_semi_honest: Option<f64>,
    median_ms: f64,
    median_online_ms: f64,
    bytes_sent: [u64; 3],
    total_mib: f64,
    rounds: u64,
    /// With --profile: per step, the last run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<ProfileLayer>>,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let memory_only = args.memory_budget.is_some() || args.model.is_some() || args.input.is_some();
    if memory_only && !matches!(args.suite, Suite::Memory) {
        // These suites run the parties on threads of one process, where no party's
        // peak could be told apart.
        return Err(inputs::usage(anyhow::anyhow!(
            "--memory-budget, --model and --input are for `bench memory`, which runs each \
             party in a process of its own (e.g. bench memory --model models/lenet.onnx \
             --input models/digits/digit_7.npy --memory-budget 16)"
        )));
    }
    if (args.quick || args.out.is_some()) && !matches!(args.suite, Suite::Paper) {
        return Err(inputs::usage(anyhow::anyhow!(
            "--quick and --out are for `bench paper`"
        )));
    }
    if args.profile && matches!(args.suite, Suite::Memory | Suite::Compile | Suite::Paper) {
        return Err(inputs::usage(anyhow::anyhow!(
            "--profile is for `bench mnist` and `bench imagenet`; for one run of a model \
             under a budget, use `infer MODEL --input X --memory-budget MIB --profile`"
        )));
    }
    match args.suite {
        Suite::Memory => memory::run(&args),
        Suite::Mnist => mnist(&args),
        Suite::Imagenet => imagenet(&args),
        Suite::Compile => compile_times(&args),
        Suite::Paper => paper::run(&args),
    }
}

/// The paper: 5 s, 35 s and 2 min; the target here: 1 s, 2 s, 5 s.
fn compile_times(args: &BenchArgs) -> Result<()> {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/models"));
    println!(
        "median of {} compiles (import + passes, no scale sweep)",
        args.runs()
    );
    for (net, target_s) in [("resnet50", 1.0), ("densenet121", 2.0), ("resnet200", 5.0)] {
        let path = dir.join(format!("{net}.onnx"));
        let bytes = std::fs::read(&path).map_err(|e| {
            anyhow::anyhow!(
                "{}: {e}; run python3 scripts/make_imagenet_models.py {net}",
                path.display()
            )
        })?;
        let mut times = Vec::new();
        for _ in 0..args.runs() {
            let started = std::time::Instant::now();
            let graph = inputs::import(&path, &bytes)?;
            cryptflow_compiler::compile(graph, cryptflow_compiler::DEFAULT_SCALE.into())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            times.push(started.elapsed().as_secs_f64());
        }
        let t = median(times);
        if args.json {
            println!(
                "{}",
                serde_json::json!({"net": net, "median_compile_s": t, "target_s": target_s})
            );
        } else {
            println!("{net:<12} {t:>7.3} s   (target {target_s} s)");
        }
    }
    Ok(())
}

fn mnist(args: &BenchArgs) -> Result<()> {
    let models = models_dir()?;
    let digit = inputs::load_input(&models.join("digits").join("digit_7.npy"))?;
    let mut rows = Vec::new();
    for net in MNIST_NETS {
        let mut compiled = inputs::load_model(
            &models.join(format!("{net}.onnx")),
            cryptflow_compiler::DEFAULT_SCALE.into(),
        )?;
        // The same digit, shaped as this network takes it ([1, 784] or [1, 1, 28, 28]).
        let shape = compiled.program.input_shape().to_vec();
        let input = digit.clone().reshaped(shape.clone())?;
        let calibration = (0..10)
            .filter(|d| *d != 7)
            .map(|d| {
                let path = models.join("digits").join(format!("digit_{d}.npy"));
                Ok(inputs::load_input(&path)?.reshaped(shape.clone())?)
            })
            .collect::<Result<Vec<_>>>()?;
        calibrate_widths(net, &mut compiled, &calibration, args)?;
        rows.extend(measure(net, &compiled, &input, args)?);
    }
    if !args.json {
        print_table(&rows, args.runs());
        print_table_v_references();
        print_profiles(&rows);
    }
    Ok(())
}

fn imagenet(args: &BenchArgs) -> Result<()> {
    let target = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"));
    let photo = target.join("photos").join("chelsea.npy");
    let input = inputs::load_input(&photo)
        .map_err(|e| e.context("run bash scripts/prepare_test_models.sh first"))?;
    let mut rows = Vec::new();
    for net in ["resnet50", "densenet121"] {
        let mut compiled = inputs::load_model(
            &target.join("models").join(format!("{net}.onnx")),
            cryptflow_compiler::DEFAULT_SCALE.into(),
        )
        .map_err(|e| e.context("run bash scripts/prepare_test_models.sh first"))?;
        let calibration = ["astronaut", "camera", "coffee"]
            .iter()
            .map(|p| inputs::load_input(&target.join("photos").join(format!("{p}.npy"))))
            .collect::<Result<Vec<_>>>()?;
        calibrate_widths(net, &mut compiled, &calibration, args)?;
        rows.extend(measure(net, &compiled, &input, args)?);
    }
    if !args.json {
        print_table(&rows, args.runs());
        print_paper_reference();
        print_profiles(&rows);
    }
    Ok(())
}

/// Narrows `compiled`'s comparisons on `calibration` (none of it the benchmark's input)
/// unless --exact-comparisons; says what it chose on stderr.
fn calibrate_widths(
    net: &str,
    compiled: &mut cryptflow_compiler::Compiled,
    calibration: &[cryptflow_ring::Tensor<f32>],
    args: &BenchArgs,
) -> Result<()> {
    if args.exact_comparisons {
        return Ok(());
    }
    eprintln!(
        "{net}: choosing comparison widths on {} calibration inputs…",
        calibration.len()
    );
    let widths = comparisons::narrow(compiled, calibration)?;
    eprintln!("{net}: comparisons {}", comparisons::describe(&widths));
    Ok(())
}

/// One network: a warm-up round, then `args.runs` rounds with the modes alternating,
/// so both medians come from the same stretch of machine time.
fn measure(
    net: &'static str,
    compiled: &cryptflow_compiler::Compiled,
    input: &cryptflow_ring::Tensor<f32>,
    args: &BenchArgs,
) -> Result<Vec<Row>> {
    let root = cryptflow_attest::SoftwareRoot::generate()?;
    let attestation = Attestation {
        root: &root,
        code_override: None,
        memory_budget_mib: None,
        offline_phase: args.offline_phase,
    };
    let options = SessionOptions {
        memory_budget_mib: None,
        offline_phase: args.offline_phase,
    };
    let modes: Vec<(&'static str, Option<&Attestation>)> = match args.mode {
        Modes::SemiHonest => vec![("semi-honest", None)],
        Modes::Malicious => vec![("malicious", Some(&attestation))],
        Modes::Both => vec![("semi-honest", None), ("malicious", Some(&attestation))],
    };
    let mut runs: Vec<Vec<LoopbackRun>> = modes.iter().map(|_| Vec::new()).collect();
    let rounds = args.runs() + 1;
    // On stderr, and only on a terminal (indicatif hides itself otherwise).
    let progress = indicatif::ProgressBar::new((rounds * modes.len()) as u64)
        .with_style(
            indicatif::ProgressStyle::with_template(
                "{msg:<12} {bar:30} {pos}/{len} runs {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        )
        .with_message(net);
    for round in 0..rounds {
        for (m, (_, attestation)) in modes.iter().enumerate() {
            let run = run_on_loopback_in_mode(
                &compiled.program,
                &compiled.weights,
                input,
                *attestation,
                options,
            )?;
            progress.inc(1);
            // The first round warms up and is not counted.
            if round > 0 {
                runs[m].push(run);
            }
        }
    }
    progress.finish_and_clear();
    let mut rows = Vec::new();
    let mut semi_honest_ms = None;
    for ((mode, _), runs) in modes.iter().zip(&runs) {
        let mut row = summarize_runs(net, mode, runs, semi_honest_ms);
        if let (true, Some(last)) = (args.profile, runs.last()) {
            row.layers = Some(profile_of_reports([
                &last.owner,
                &last.prediction.report,
                &last.helper,
            ]));
        }
        if *mode == "semi-honest" {
            semi_honest_ms = Some(row.median_ms);
        }
        if args.json {
            println!("{}", serde_json::to_string(&row)?);
        }
        rows.push(row);
    }
    Ok(rows)
}

fn summarize_runs(
    net: &'static str,
    mode: &'static str,
    runs: &[LoopbackRun],
    semi_honest_ms: Option<f64>,
) -> Row {
    let client = |r: &LoopbackRun| r.prediction.report.clone();
    let total = median(
        runs.iter()
            .map(|r| client(r).setup_seconds + client(r).online_seconds)
            .collect(),
    );
    let online = median(runs.iter().map(|r| client(r).online_seconds).collect());
    let last = &runs[runs.len() - 1];
    let bytes_sent = [
        last.owner.comm.bytes_sent,
        last.prediction.report.comm.bytes_sent,
        last.helper.comm.bytes_sent,
    ];
    Row {
        net,
        mode,
        over_semi_honest: semi_honest_ms
            .filter(|_| mode == "malicious")
            .map(|semi| total * 1e3 / semi),
        median_ms: total * 1e3,
        median_online_ms: online * 1e3,
        bytes_sent,
        total_mib: mib(bytes_sent.iter().sum()),
        rounds: last.prediction.report.rounds,
        layers: None,
    }
}

/// Each row's steps (`--profile`), after the table.
fn print_profiles(rows: &[Row]) {
    for row in rows {
        if let Some(layers) = &row.layers {
            println!("\n{} {}, the last run:", row.net, row.mode);
            print_profile(layers);
        }
    }
}

fn print_table(rows: &[Row], runs: usize) {
    println!("median of {runs} runs; three parties on threads over loopback TCP; time = setup + online, as the client measures it");
    println!(
        "{:<12} {:<12} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>9} {:>7}",
        "net",
        "mode",
        "time ms",
        "vs s-h",
        "online ms",
        "P0 MiB",
        "P1 MiB",
        "P2 MiB",
        "total MiB",
        "rounds",
    );
    for r in rows {
        println!(
            "{:<12} {:<12} {:>9.2} {:>7} {:>10.2} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>7}",
            r.net,
            r.mode,
            r.median_ms,
            r.over_semi_honest
                .map_or_else(|| "-".to_string(), |x| format!("{x:.2}")),
            r.median_online_ms,
            mib(r.bytes_sent[0]),
            mib(r.bytes_sent[1]),
            mib(r.bytes_sent[2]),
            r.total_mib,
            r.rounds,
        );
    }
}

/// Table V's peers, quoted with their sources (not measured here, so no ratio).
fn print_table_v_references() {
    println!(
        "for reference, not measured in this run (so no ratio): semi-honest Porthos in the \
         paper's Table V (3 machines, 2.7 GHz, 1.5 GBps), and EzPC's Porthos built from its \
         repository and run on this 2-core machine over loopback (issue 9):"
    );
    for (net, paper_ms, ezpc_ms, ezpc_mib) in TABLE_V_REFERENCES {
        println!(
            "  {net:<12} paper {paper_ms:>6.1} ms   EzPC here {ezpc_ms:>6.1} ms, {ezpc_mib:>5.2} MiB"
        );
    }
}

/// The paper's malicious column, as quoted references.
fn print_paper_reference() {
    println!("the paper's Table IV (Aramis on SGX; 3 machines × 4 cores, LAN), for reference:");
    for (net, semi, malicious) in PAPER_TABLE_IV {
        println!("  {net:<12} semi-honest {semi:>5.1} s   malicious {malicious:>6.1} s");
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
