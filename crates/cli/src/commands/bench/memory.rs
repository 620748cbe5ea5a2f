//! `cryptflow bench memory`: one model under a list of memory budgets (the paper's
//! §V-D-1 and issue 8's table), in both modes. Unlike the other suites, the three
//! parties run as processes of their own (as `infer` runs them), so each party's peak
//! is its own process's high-water mark (`VmHWM`), not the bench process's.

use super::{median, BenchArgs, Modes};
use crate::orchestrate::{run_local, CompiledModel, LocalRun};
use crate::report::PartyLine;
use crate::security::{Mode, SecurityArgs};
use anyhow::{Context, Result};

/// The budgets measured without `--memory-budget`: unbounded, then 512, 256 and 128
/// MiB (the EPC itself).
const DEFAULT_BUDGETS: [Option<u64>; 4] = [None, Some(512), Some(256), Some(128)];

/// One budget in one mode: its medians, or the refusal.
#[derive(Debug, serde::Serialize)]
struct BudgetRow {
    mode: &'static str,
    /// MiB per party; null: unbounded.
    budget_mib: Option<u64>,
    /// The smallest budget that works, when this one is refused at the start.
    refused_needs_mib: Option<u64>,
    /// What the runs measured; absent when the budget was refused.
    #[serde(flatten)]
    measured: Option<Measured>,
}

#[derive(Debug, serde::Serialize)]
struct Measured {
    /// Each party's highest peak over the runs (MiB).
    peak_rss_mib: [f64; 3],
    /// The plan's estimate of each party's peak (MiB).
    planned_mib: [u64; 3],
    rounds: u64,
    median_s: f64,
    median_online_s: f64,
    /// This median over the unbounded run's, in the same mode and the same rounds.
    over_unbounded: Option<f64>,
    top1: Option<usize>,
    /// The largest difference from the first unbounded run's output over this budget's
    /// runs, in units in the last place of the program's scale. Every run draws fresh
    /// truncation randomness, so runs differ by a few units; the unbounded row's own
    /// value (its other runs) is that noise floor.
    max_diff_lsb: Option<f64>,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let target = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"));
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| target.join("models").join("resnet50.onnx"));
    let input = args
        .input
        .clone()
        .unwrap_or_else(|| target.join("photos").join("chelsea.npy"));
    for path in [&model, &input] {
        if !path.exists() {
            return Err(crate::inputs::usage(anyhow::anyhow!(
                "{} not found: give --model and --input, or run bash \
                 scripts/prepare_test_models.sh for ResNet50 and its photo",
                path.display()
            )));
        }
    }
    let budgets: Vec<Option<u64>> = match &args.memory_budget {
        Some(list) => std::iter::once(None)
            .chain(list.iter().map(|&b| Some(b)))
            .collect(),
        None => DEFAULT_BUDGETS.to_vec(),
    };
    let compiled = CompiledModel::prepare(&model, cryptflow_compiler::DEFAULT_SCALE.into())?;
    let modes: &[(&'static str, Mode)] = match args.mode {
        Modes::SemiHonest => &[("semi-honest", Mode::SemiHonest)],
        Modes::Malicious => &[("malicious", Mode::Malicious)],
        Modes::Both => &[
            ("semi-honest", Mode::SemiHonest),
            ("malicious", Mode::Malicious),
        ],
    };
    let mut rows = Vec::new();
    for &(mode_name, mode) in modes {
        rows.extend(one_mode(
            args, &compiled, &input, &budgets, mode_name, mode,
        )?);
    }
    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row)?);
        }
    } else {
        print_table(&model, args.runs(), &rows);
    }
    Ok(())
}

fn one_mode(
    args: &BenchArgs,
    compiled: &CompiledModel,
    input: &std::path::Path,
    budgets: &[Option<u64>],
    mode_name: &'static str,
    mode: Mode,
) -> Result<Vec<BudgetRow>> {
    let security = SecurityArgs {
        mode,
        ..SecurityArgs::default()
    };
    let preprocess = crate::image_input::Preprocess::default();
    let plans: Vec<_> = budgets
        .iter()
        .map(|&b| cryptflow_compiler::passes::memory::plan(&compiled.program, b))
        .collect();
    let runnable: Vec<usize> = (0..budgets.len()).filter(|&i| plans[i].is_ok()).collect();
    let mut lines: Vec<Vec<[PartyLine; 3]>> = budgets.iter().map(|_| Vec::new()).collect();
    let rounds = args.runs() + 1;
    let progress = indicatif::ProgressBar::new((rounds * runnable.len()) as u64)
        .with_style(
            indicatif::ProgressStyle::with_template(
                "{msg:<24} {bar:30} {pos}/{len} runs {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        )
        .with_message(format!("memory, {mode_name}"));
    // The budgets alternate within each round, so their medians share machine time;
    // the first round warms up and is not counted.
    for round in 0..rounds {
        for &i in &runnable {
            let run = run_local(&LocalRun {
                model: compiled.path(),
                input,
                preprocess: &preprocess,
                scale: cryptflow_compiler::DEFAULT_SCALE.into(),
                timeout_s: 60,
                tls: false,
                security: &security,
                memory_budget: budgets[i],
                offline_phase: false,
            })
            .with_context(|| format!("the run under {}", shown(budgets[i])))?;
            progress.inc(1);
            if round > 0 {
                lines[i].push(run);
            }
        }
    }
    progress.finish_and_clear();
    let unbounded = budgets.iter().position(Option::is_none);
    let reference = unbounded
        .and_then(|i| lines[i].first())
        .and_then(|l| l[1].output.clone());
    let unbounded_s = unbounded.map(|i| median_of(&lines[i], |l| l[1].setup_s + l[1].online_s));
    let mut rows = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let runs = &lines[i];
        let measured = plan.as_ref().ok().map(|plan| {
            let median_s = median_of(runs, |l| l[1].setup_s + l[1].online_s);
            let peak = |p: usize| runs.iter().map(|l| l[p].peak_rss_mib).fold(0.0, f64::max);
            Measured {
                peak_rss_mib: [peak(0), peak(1), peak(2)],
                planned_mib: plan.peak_mib,
                rounds: runs.first().map_or(0, |l| l[1].rounds),
                median_s,
                median_online_s: median_of(runs, |l| l[1].online_s),
                over_unbounded: unbounded_s.map(|u| median_s / u),
                top1: runs
                    .first()
                    .and_then(|l| l[1].output.as_deref())
                    .map(crate::report::argmax),
                max_diff_lsb: reference
                    .as_ref()
                    .and_then(|reference| max_diff_lsb(runs, reference, compiled)),
            }
        });
        let row = BudgetRow {
            mode: mode_name,
            budget_mib: budgets[i],
            refused_needs_mib: plan.as_ref().err().map(|refused| refused.needed_mib),
            measured,
        };
        rows.push(row);
    }
    Ok(rows)
}

/// The largest element-wise difference of the runs' outputs from `reference`, in units
/// in the last place; None when a run has no output or a different length.
fn max_diff_lsb(
    runs: &[[PartyLine; 3]],
    reference: &[f32],
    compiled: &CompiledModel,
) -> Option<f64> {
    let lsb = 0.5f64.powi(compiled.program.scale.bits() as i32);
    let mut worst = 0.0f64;
    for run in runs {
        let out = run[1].output.as_deref()?;
        if out.len() != reference.len() {
            return None;
        }
        for (x, y) in out.iter().zip(reference) {
            worst = worst.max((f64::from(*x) - f64::from(*y)).abs() / lsb);
        }
    }
    Some(worst)
}

fn median_of(runs: &[[PartyLine; 3]], f: impl Fn(&[PartyLine; 3]) -> f64) -> f64 {
    if runs.is_empty() {
        return 0.0;
    }
    median(runs.iter().map(f).collect())
}

fn shown(budget: Option<u64>) -> String {
    budget.map_or_else(
        || "no budget".to_owned(),
        |b| format!("--memory-budget {b}"),
    )
}

fn print_table(model: &std::path::Path, runs: usize, rows: &[BudgetRow]) {
    println!(
        "{}: median of {runs} runs per budget (budgets alternating); three party processes \
         over loopback TCP; peak = each process's VmHWM, the highest over the runs",
        model.display()
    );
    println!(
        "{:<12} {:>9} {:>22} {:>18} {:>7} {:>9} {:>9} {:>6} {:>5} {:>7}",
        "mode",
        "budget",
        "peak P0/P1/P2 MiB",
        "plan P0/P1/P2",
        "rounds",
        "time s",
        "online s",
        "×",
        "top1",
        "Δ LSB"
    );
    for row in rows {
        let budget = row
            .budget_mib
            .map_or("none".to_owned(), |b| format!("{b} MiB"));
        let Some(m) = &row.measured else {
            let needed = row.refused_needs_mib.unwrap_or(0);
            println!(
                "{:<12} {budget:>9}   refused at the start: the smallest budget that works is {needed} MiB",
                row.mode
            );
            continue;
        };
        let [a, b, c] = m.peak_rss_mib;
        let [pa, pb, pc] = m.planned_mib;
        println!(
            "{:<12} {budget:>9} {:>22} {:>18} {:>7} {:>9.2} {:>9.2} {:>6} {:>5} {:>7}",
            row.mode,
            format!("{a:.0} / {b:.0} / {c:.0}"),
            format!("{pa} / {pb} / {pc}"),
            m.rounds,
            m.median_s,
            m.median_online_s,
            m.over_unbounded
                .map_or("–".to_owned(), |r| format!("{r:.2}")),
            m.top1.map_or("–".to_owned(), |t| t.to_string()),
            m.max_diff_lsb.map_or("–".to_owned(), |d| format!("{d:.0}")),
        );
    }
}
