//! `cryptflow compile`: ONNX to a compiled `.cfp` program that `infer`, `plain` and
//! `party` accept in place of the ONNX file.

use crate::{inputs, sweep};
use anyhow::{Context, Result};
use clap::Args;
use cryptflow_compiler::passes::liveness::peak_activation_bytes;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct CompileArgs {
    /// The ONNX model.
    pub model: PathBuf,
    /// Where to write the compiled program.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Fixed-point scale: fractional bits of every value, or `auto` to sweep scales on
    /// the --calibrate inputs (without them, auto means the default, 12).
    #[arg(long, default_value = "12")]
    pub scale: ScaleArg,
    /// A folder of .npy inputs for `--scale auto`.
    #[arg(long)]
    pub calibrate: Option<PathBuf>,
    /// Print one JSON object on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
}

/// `--scale`: a number of fractional bits or `auto`.
#[derive(Clone, Copy, Debug)]
pub enum ScaleArg {
    Bits(u32),
    Auto,
}

impl std::str::FromStr for ScaleArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(ScaleArg::Auto),
            _ => s
                .parse()
                .map(ScaleArg::Bits)
                .map_err(|_| format!("`{s}` is neither a number of bits nor `auto`")),
        }
    }
}

#[derive(Debug, Serialize)]
struct CompileReport {
    compile_s: f64,
    scale: u32,
    nodes: usize,
    peak_activation_mib: PeakActivation,
}

#[derive(Debug, Serialize)]
struct PeakActivation {
    without_liveness: f64,
    with_liveness: f64,
}

pub fn run(args: CompileArgs) -> Result<()> {
    let bytes = inputs::read_model_bytes(&args.model)?;
    let started = Instant::now();
    let graph = inputs::import(&args.model, &bytes)?;
    let nodes = graph.nodes.len();
    let import_s = started.elapsed().as_secs_f64();
    // The sweep is not part of the compile time (the paper reports it separately).
    let scale = match (args.scale, &args.calibrate) {
        (ScaleArg::Bits(bits), _) => bits,
        (ScaleArg::Auto, None) => cryptflow_compiler::DEFAULT_SCALE.into(),
        (ScaleArg::Auto, Some(dir)) => {
            let calibration = sweep::load_calibration(dir)?;
            let (best, rows) = sweep::sweep(&graph, &calibration)?;
            sweep::print_table(&rows, best);
            best
        }
    };
    let started = Instant::now();
    let compiled = cryptflow_compiler::compile(graph, scale).map_err(|e| {
        inputs::usage(
            anyhow::Error::new(e).context(format!("cannot compile {}", args.model.display())),
        )
    })?;
    let compile_s = import_s + started.elapsed().as_secs_f64();
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&args.output)
            .with_context(|| format!("cannot create {}", args.output.display()))?,
    );
    cryptflow_ir::artifact::write(&mut file, &compiled.program, &compiled.weights)?;
    std::io::Write::flush(&mut file)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let (without, with) = peak_activation_bytes(&compiled.program);
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    let report = CompileReport {
        compile_s,
        scale: compiled.program.scale.bits(),
        nodes,
        peak_activation_mib: PeakActivation {
            without_liveness: mib(without),
            with_liveness: mib(with),
        },
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "compiled {} ({} nodes, {} steps, scale {}) in {:.3} s to {}",
            args.model.display(),
            nodes,
            compiled.program.instructions.len(),
            report.scale,
            compile_s,
            args.output.display()
        );
        println!(
            "peak activation memory per party: {:.1} MiB without liveness, {:.1} MiB with",
            report.peak_activation_mib.without_liveness, report.peak_activation_mib.with_liveness
        );
    }
    Ok(())
}
