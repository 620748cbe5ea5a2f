//! `cryptflow compile`: ONNX to a compiled `.cfp` program that `infer`, `plain` and
//! `party` accept in place of the ONNX file.

use crate::comparisons::{self, WidthCount};
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
    /// A folder of .npy inputs that calibrate the program: the scale (with
    /// `--scale auto`) and each comparison's width (the narrowest that holds what the
    /// step compared, with 8 bits of margin; DESIGN.md, "Comparison width").
    #[arg(long)]
    pub calibrate: Option<PathBuf>,
    /// Keep every comparison at 64 bits (exact for any value) even with --calibrate.
    #[arg(long)]
    pub exact_comparisons: bool,
    /// Report the memory plan for this budget per party (MiB): which steps run in
    /// pieces and what it costs in rounds, or refuse naming the smallest budget that
    /// works. The plan is made again by every party at run time from the program and
    /// the `--memory-budget` given there; this only shows it.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_budget: Option<u64>,
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
    memory_plan: PlanReport,
    /// Comparing steps per width, narrowest first.
    comparison_bits: Vec<WidthCount>,
}

/// The memory plan (compiler/src/passes/memory.rs) as `compile --json` reports it.
#[derive(Debug, Serialize)]
struct PlanReport {
    /// `null`: unbounded.
    budget_mib: Option<u64>,
    /// The plan's estimate of each party's peak (P0, P1, P2).
    peak_mib: [u64; 3],
    extra_rounds: u64,
    /// The smallest budget any plan meets for this program.
    smallest_budget_mib: u64,
    /// The steps that run in pieces, in program order.
    pieced_steps: Vec<PiecedStep>,
    /// The linear steps whose weight is read, masked and sent in blocks.
    blocked_steps: Vec<BlockedStep>,
}

#[derive(Debug, Serialize)]
struct BlockedStep {
    step: usize,
    node: String,
    kernel: &'static str,
    /// Output channels (Conv) or features (MatMul) per block.
    units_per_block: usize,
    blocks: usize,
}

#[derive(Debug, Serialize)]
struct PiecedStep {
    step: usize,
    /// The ONNX node the step came from.
    node: String,
    kernel: &'static str,
    piece_elements: usize,
    extra_rounds: u64,
}

impl PlanReport {
    fn new(program: &cryptflow_ir::Program, budget_mib: Option<u64>) -> Result<Self> {
        use cryptflow_compiler::passes::memory::{self, plan};
        let chosen = plan(program, budget_mib).map_err(|e| inputs::usage(e.into()))?;
        // A budget of 0 is met by no program: its refusal names the smallest that is.
        let smallest_budget_mib = plan(program, Some(0)).err().map_or(0, |e| e.needed_mib);
        let pieced_steps = (program.instructions.iter().enumerate())
            .filter_map(|(step, instruction)| {
                Some(PiecedStep {
                    step,
                    node: instruction.source.clone(),
                    kernel: instruction.kernel.name(),
                    piece_elements: chosen.piece(step)?,
                    extra_rounds: chosen.step_extra_rounds.get(step).copied().unwrap_or(0),
                })
            })
            .collect();
        let blocked_steps = (program.instructions.iter().enumerate())
            .filter_map(|(step, instruction)| {
                let per_block = chosen.block(step)?;
                let (units, _) = memory::weight_units(&instruction.kernel)?;
                Some(BlockedStep {
                    step,
                    node: instruction.source.clone(),
                    kernel: instruction.kernel.name(),
                    units_per_block: per_block,
                    blocks: units.div_ceil(per_block.max(1)),
                })
            })
            .collect();
        Ok(PlanReport {
            budget_mib,
            peak_mib: chosen.peak_mib,
            extra_rounds: chosen.extra_rounds,
            smallest_budget_mib,
            pieced_steps,
            blocked_steps,
        })
    }
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
    let calibration = match &args.calibrate {
        Some(dir) => Some(sweep::load_calibration(dir)?),
        None => None,
    };
    let scale = match (args.scale, &calibration) {
        (ScaleArg::Bits(bits), _) => bits,
        (ScaleArg::Auto, None) => cryptflow_compiler::DEFAULT_SCALE.into(),
        (ScaleArg::Auto, Some(calibration)) => {
            let (best, rows) = sweep::sweep(&graph, calibration)?;
            sweep::print_table(&rows, best);
            best
        }
    };
    let started = Instant::now();
    let mut compiled = cryptflow_compiler::compile(graph, scale).map_err(|e| {
        inputs::usage(
            anyhow::Error::new(e).context(format!("cannot compile {}", args.model.display())),
        )
    })?;
    let compile_s = import_s + started.elapsed().as_secs_f64();
    // Like the sweep, calibration is not part of the compile time.
    let comparison_bits = match &calibration {
        Some(calibration) if !args.exact_comparisons => {
            eprintln!(
                "choosing comparison widths on {} calibration inputs (two clear runs each)…",
                calibration.len()
            );
            comparisons::narrow(&mut compiled, calibration)?
        }
        _ => comparisons::full_width(&compiled.program),
    };
    // Before the file is written: a budget no plan meets writes nothing.
    let memory_plan = PlanReport::new(&compiled.program, args.memory_budget)?;
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
        memory_plan,
        comparison_bits,
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
        let source = match (&calibration, args.exact_comparisons) {
            (Some(c), false) => format!("widths from {} calibration inputs", c.len()),
            (Some(_), true) => "exact, as --exact-comparisons asks".into(),
            (None, _) => "exact; --calibrate DIR narrows them".into(),
        };
        println!(
            "comparisons: {} ({source})",
            comparisons::describe(&report.comparison_bits)
        );
        print_plan(&report.memory_plan);
    }
    Ok(())
}

fn print_plan(plan: &PlanReport) {
    let [p0, p1, p2] = plan.peak_mib;
    match plan.budget_mib {
        None => println!(
            "memory plan, unbounded: estimated peak {p0} / {p1} / {p2} MiB (P0 / P1 / P2); \
             the smallest --memory-budget that works is {} MiB",
            plan.smallest_budget_mib
        ),
        Some(budget) => {
            println!(
                "memory plan for {budget} MiB per party: estimated peak {p0} / {p1} / {p2} MiB, \
                 steps in pieces: {}, more rounds: {}, weights in blocks: {} (the smallest \
                 budget that works is {} MiB)",
                plan.pieced_steps.len(),
                plan.extra_rounds,
                plan.blocked_steps.len(),
                plan.smallest_budget_mib
            );
            for step in &plan.pieced_steps {
                println!(
                    "  step {:>4} {:<8} {}: pieces of {} elements, +{} rounds",
                    step.step, step.kernel, step.node, step.piece_elements, step.extra_rounds
                );
            }
            for step in &plan.blocked_steps {
                println!(
                    "  step {:>4} {:<8} {}: weight in {} blocks of {} outputs, no more rounds",
                    step.step, step.kernel, step.node, step.blocks, step.units_per_block
                );
            }
        }
    }
}
