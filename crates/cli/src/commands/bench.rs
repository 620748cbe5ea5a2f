//! `cryptflow bench mnist`: the four networks of the paper's Table V, each run several
//! times by three processes over loopback TCP; medians of what the parties measured.

use crate::commands::demo::models_dir;
use crate::inputs;
use crate::orchestrate::{run_local, LocalRun};
use crate::report::{mib, PartyLine};
use anyhow::Result;
use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Suite {
    /// LogReg, SecureML, MiniONN, LeNet on one MNIST digit.
    Mnist,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    pub suite: Suite,
    /// Runs per network; the median is reported.
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// Print one JSON object per network instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// EzPC's Porthos measured on this class of machine (../shared/reference/protocol-notes.md):
/// milliseconds and MiB in total.
const PORTHOS: [(&str, f64, f64); 4] = [
    ("logreg", 5.0, 0.13),
    ("secureml", 66.0, 1.95),
    ("minionn", 570.0, 10.4),
    ("lenet", 610.0, 20.8),
];

#[derive(Debug, serde::Serialize)]
struct Row {
    net: &'static str,
    median_ms: f64,
    median_online_ms: f64,
    bytes_sent: [u64; 3],
    total_mib: f64,
    rounds: u64,
    porthos_ms: f64,
    porthos_mib: f64,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let Suite::Mnist = args.suite;
    let models = models_dir()?;
    let digit = inputs::load_input(&models.join("digits").join("digit_7.npy"))?;
    let scratch = std::env::temp_dir().join(format!("cryptflow-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let mut rows = Vec::new();
    for (net, porthos_ms, porthos_mib) in PORTHOS {
        let model = models.join(format!("{net}.onnx"));
        // The same digit, shaped as this network takes it ([1, 784] or [1, 1, 28, 28]).
        let compiled = inputs::load_model(&model, cryptflow_compiler::DEFAULT_SCALE.into())?;
        let input = scratch.join(format!("{net}-input.npy"));
        inputs::save_npy(
            &input,
            &digit
                .clone()
                .reshaped(compiled.program.input_shape().to_vec())?,
        )?;
        let mut runs: Vec<[PartyLine; 3]> = Vec::with_capacity(args.runs);
        for _ in 0..args.runs.max(1) {
            runs.push(run_local(&LocalRun {
                model: &model,
                input: &input,
                scale: cryptflow_compiler::DEFAULT_SCALE.into(),
                timeout_s: 30,
            })?);
        }
        let total = median(runs.iter().map(|r| r[1].setup_s + r[1].online_s).collect());
        let online = median(runs.iter().map(|r| r[1].online_s).collect());
        let last = &runs[runs.len() - 1];
        let bytes_sent = [last[0].bytes_sent, last[1].bytes_sent, last[2].bytes_sent];
        let row = Row {
            net,
            median_ms: total * 1e3,
            median_online_ms: online * 1e3,
            bytes_sent,
            total_mib: mib(bytes_sent.iter().sum()),
            rounds: last[1].rounds,
            porthos_ms,
            porthos_mib,
        };
        if args.json {
            println!("{}", serde_json::to_string(&row)?);
        }
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !args.json {
        print_table(&rows, args.runs);
    }
    Ok(())
}

fn print_table(rows: &[Row], runs: usize) {
    println!("median of {runs} runs; three processes on loopback TCP; time = setup + online as measured by the client");
    println!(
        "{:<9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7} {:>12} {:>8}",
        "net",
        "time ms",
        "online ms",
        "P0 MiB",
        "P1 MiB",
        "P2 MiB",
        "total MiB",
        "rounds",
        "Porthos ms",
        "speedup"
    );
    for r in rows {
        println!(
            "{:<9} {:>9.2} {:>10.2} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>7} {:>12.0} {:>7.1}x",
            r.net,
            r.median_ms,
            r.median_online_ms,
            mib(r.bytes_sent[0]),
            mib(r.bytes_sent[1]),
            mib(r.bytes_sent[2]),
            r.total_mib,
            r.rounds,
            r.porthos_ms,
            r.porthos_ms / r.median_ms
        );
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
