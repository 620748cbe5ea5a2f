//! `cryptflow bench paper`: the paper's evaluation (§VI) in one command. Table IV
//! (ResNet50, DenseNet121), Table V (the four MNIST nets) and Fig. 10 (ResNet-n for
//! n = 18 … 200) in both modes, and Table VI (fixed- against floating-point accuracy on
//! the bundled real data). Every secure run is three `cryptflow party` processes over
//! loopback TCP, as `infer` runs them, so each party's peak memory is its own; the
//! modes alternate within each round, so both medians share machine time. It writes
//! `paper.json` and `fig10.svg` into `--out`, and prints each table beside the
//! paper's figures (quoted, never divided by: they were measured on other machines).

use super::{median, BenchArgs, Modes, MNIST_NETS, PAPER_TABLE_IV, TABLE_V_REFERENCES};
use crate::orchestrate::{run_local, CompiledModel, LocalRun};
use crate::report::{argmax, mib, PartyLine};
use crate::security::{Mode, SecurityArgs};
use crate::{comparisons, inputs};
use anyhow::{Context, Result};
use cryptflow_ring::Tensor;
use indicatif::ProgressBar;
use serde::Serialize;
use std::path::{Path, PathBuf};

mod accuracy;
mod figure;

/// Fig. 10's depths; `--quick` measures the first two.
const FIG10_DEPTHS: [u32; 6] = [18, 34, 50, 101, 152, 200];
const QUICK_DEPTHS: usize = 2;
/// The ImageNet photos the comparison widths are chosen on; the runs use another.
const CALIBRATION_PHOTOS: [&str; 3] = ["astronaut", "camera", "coffee"];
const RUN_PHOTO: &str = "chelsea";

/// One network in one mode: medians over the runs.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    pub net: String,
    pub mode: &'static str,
    pub runs: usize,
    /// The client's setup + online time.
    pub median_s: f64,
    pub median_online_s: f64,
    /// This median over the semi-honest one of the same rounds (malicious rows).
    pub over_semi_honest: Option<f64>,
    /// Each party's bytes sent in the last run.
    pub bytes_sent: [u64; 3],
    pub total_gib: f64,
    pub rounds: u64,
    /// Each party's highest peak over the runs (its process's VmHWM).
    pub peak_rss_mib: [f64; 3],
    pub top1: Option<usize>,
    /// The comparison widths the run used (chosen on calibration inputs).
    pub comparisons: String,
}

/// What `paper.json` holds.
#[derive(Debug, Serialize)]
struct Paper {
    quick: bool,
    runs: usize,
    unix_time: u64,
    machine: Machine,
    table_iv: Vec<Measured>,
    table_v: Vec<Measured>,
    fig10: figure::Fig10,
    table_vi: Vec<accuracy::AccuracyRow>,
    /// The paper's figures, quoted.
    paper: serde_json::Value,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    cpu: Option<String>,
}

/// One network to measure: where it is, what it runs on, what calibrates it.
struct Net {
    name: String,
    model: PathBuf,
    input: Tensor<f32>,
    calibration: Vec<Tensor<f32>>,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let runs = args.runs.unwrap_or(if args.quick { 1 } else { 3 }).max(1);
    let target = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"));
    let depths = &FIG10_DEPTHS[..if args.quick {
        QUICK_DEPTHS
    } else {
        FIG10_DEPTHS.len()
    }];
    let mnist = mnist_nets()?;
    let table_iv_names: &[&str] = if args.quick {
        &[]
    } else {
        &["resnet50", "densenet121"]
    };
    let mut imagenet_names: Vec<String> = table_iv_names.iter().map(|s| s.to_string()).collect();
    for n in depths {
        let name = format!("resnet{n}");
        if !imagenet_names.contains(&name) {
            imagenet_names.push(name);
        }
    }
    check_models(target, &imagenet_names)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("bench-paper"));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot make {}", out.display()))?;

    let modes = modes(args.mode);
    let nets = mnist.len() + imagenet_names.len();
    let progress = ProgressBar::new((nets * (runs + 1) * modes.len() + nets) as u64).with_style(
        indicatif::ProgressStyle::with_template("{msg:<40} {bar:30} {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );

    let mut table_v = Vec::new();
    for net in &mnist {
        table_v.extend(measure_net(net, args, &modes, runs, &progress)?);
    }
    let mut imagenet = Vec::new();
    for name in &imagenet_names {
        let net = imagenet_net(target, name)?;
        imagenet.extend(measure_net(&net, args, &modes, runs, &progress)?);
    }
    progress.set_message("Table VI: accuracy in the clear");
    let table_vi = accuracy::table_vi(target, &progress)?;
    progress.finish_and_clear();

    let table_iv: Vec<Measured> = imagenet
        .iter()
        .filter(|m| table_iv_names.contains(&m.net.as_str()))
        .cloned()
        .collect();
    let fig10 = figure::Fig10::from_rows(&imagenet, depths);
    let svg = out.join("fig10.svg");
    figure::plot(&svg, &fig10)?;
    let paper = Paper {
        quick: args.quick,
        runs,
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: machine(),
        table_iv,
        table_v,
        fig10,
        table_vi,
        paper: quoted_paper(),
    };
    let json = out.join("paper.json");
    std::fs::write(&json, serde_json::to_string_pretty(&paper)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    print_tables(&paper);
    println!("\nwrote {} and {}", json.display(), svg.display());
    Ok(())
}

fn modes(modes: Modes) -> Vec<(&'static str, Mode)> {
    match modes {
        Modes::SemiHonest => vec![("semi-honest", Mode::SemiHonest)],
        Modes::Malicious => vec![("malicious", Mode::Malicious)],
        Modes::Both => vec![
            ("semi-honest", Mode::SemiHonest),
            ("malicious", Mode::Malicious),
        ],
    }
}

/// Every ImageNet model is made by a script (random seeded weights); name the missing
/// ones at once, before anything is measured.
fn check_models(target: &Path, names: &[String]) -> Result<()> {
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !target.join("models").join(format!("{n}.onnx")).is_file())
        .map(String::as_str)
        .collect();
    let photo = target.join("photos").join(format!("{RUN_PHOTO}.npy"));
    if missing.is_empty() && photo.is_file() {
        return Ok(());
    }
    Err(inputs::usage(anyhow::anyhow!(
        "bench paper needs {} and the photos in {}: run bash scripts/prepare_test_models.sh{}",
        if missing.is_empty() {
            "the ImageNet models".to_string()
        } else {
            missing.join(", ")
        },
        target.display(),
        if missing
            .iter()
            .any(|m| ["resnet101", "resnet152", "resnet200"].contains(m))
        {
            " and python3 scripts/make_imagenet_models.py --out target/models --check none \
             resnet101 resnet152 resnet200 (about 5 s each)"
        } else {
            ""
        }
    )))
}

/// Table V's nets on digit 7, calibrated on the other nine digits.
fn mnist_nets() -> Result<Vec<Net>> {
    let models = crate::commands::demo::models_dir()?;
    let digit =
        |d: usize| inputs::load_input(&models.join("digits").join(format!("digit_{d}.npy")));
    MNIST_NETS
        .iter()
        .map(|net| {
            Ok(Net {
                name: net.to_string(),
                model: models.join(format!("{net}.onnx")),
                input: digit(7)?,
                calibration: (0..10)
                    .filter(|d| *d != 7)
                    .map(digit)
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}

fn imagenet_net(target: &Path, name: &str) -> Result<Net> {
    let photo = |p: &str| inputs::load_input(&target.join("photos").join(format!("{p}.npy")));
    Ok(Net {
        name: name.to_string(),
        model: target.join("models").join(format!("{name}.onnx")),
        input: photo(RUN_PHOTO)?,
        calibration: CALIBRATION_PHOTOS
            .iter()
            .map(|p| photo(p))
            .collect::<Result<_>>()?,
    })
}

/// Compiles and calibrates `net`, then runs it `runs` times per mode after a warm-up
/// round, the modes alternating.
fn measure_net(
    net: &Net,
    args: &BenchArgs,
    modes: &[(&'static str, Mode)],
    runs: usize,
    progress: &ProgressBar,
) -> Result<Vec<Measured>> {
    progress.set_message(format!("{}: compiling, choosing widths", net.name));
    let mut compiled = inputs::load_model(&net.model, cryptflow_compiler::DEFAULT_SCALE.into())?;
    // Each input as this network takes it ([1, 784] or [1, 1, 28, 28] for a digit).
    let shape = compiled.program.input_shape().to_vec();
    let fit = |x: &Tensor<f32>| x.clone().reshaped(shape.clone());
    let calibration = net
        .calibration
        .iter()
        .map(fit)
        .collect::<Result<Vec<_>, _>>()?;
    let widths = if args.exact_comparisons {
        "all 64 bits".to_string()
    } else {
        comparisons::describe(&comparisons::narrow(&mut compiled, &calibration)?)
    };
    let scratch = tempfile::tempdir().context("cannot make a temporary directory")?;
    let input = scratch.path().join("input.npy");
    inputs::write_npy(&input, &fit(&net.input)?)?;
    let model = CompiledModel::write(compiled)?;
    progress.inc(1);

    let securities: Vec<SecurityArgs> = modes
        .iter()
        .map(|&(_, mode)| SecurityArgs {
            mode,
            ..SecurityArgs::default()
        })
        .collect();
    let preprocess = crate::image_input::Preprocess::default();
    let mut lines: Vec<Vec<[PartyLine; 3]>> = modes.iter().map(|_| Vec::new()).collect();
    for round in 0..=runs {
        for (m, (mode_name, _)) in modes.iter().enumerate() {
            progress.set_message(format!("{} {mode_name}", net.name));
            let line = run_local(&LocalRun {
                model: model.path(),
                input: &input,
                preprocess: &preprocess,
                scale: cryptflow_compiler::DEFAULT_SCALE.into(),
                timeout_s: 120,
                tls: false,
                security: &securities[m],
                memory_budget: None,
                offline_phase: args.offline_phase,
            })
            .with_context(|| format!("{} in {mode_name} mode", net.name))?;
            progress.inc(1);
            // The first round warms up (page cache, CPU clocks) and is not counted.
            if round > 0 {
                lines[m].push(line);
            }
        }
    }
    let mut rows: Vec<Measured> = Vec::new();
    for ((mode, _), lines) in modes.iter().zip(&lines) {
        let semi_honest = rows.iter().find(|r| r.mode == "semi-honest");
        rows.push(summarize(&net.name, mode, lines, semi_honest, &widths));
    }
    Ok(rows)
}

fn summarize(
    net: &str,
    mode: &'static str,
    lines: &[[PartyLine; 3]],
    semi_honest: Option<&Measured>,
    widths: &str,
) -> Measured {
    let median_s = median(lines.iter().map(|l| l[1].setup_s + l[1].online_s).collect());
    let last = &lines[lines.len() - 1];
    let bytes_sent = [0, 1, 2].map(|p| last[p].bytes_sent);
    Measured {
        net: net.to_string(),
        mode,
        runs: lines.len(),
        median_s,
        median_online_s: median(lines.iter().map(|l| l[1].online_s).collect()),
        over_semi_honest: semi_honest
            .filter(|_| mode == "malicious")
            .map(|s| median_s / s.median_s),
        bytes_sent,
        total_gib: mib(bytes_sent.iter().sum()) / 1024.0,
        rounds: last[1].rounds,
        peak_rss_mib: [0, 1, 2]
            .map(|p| lines.iter().map(|l| l[p].peak_rss_mib).fold(0.0, f64::max)),
        top1: last[1].output.as_deref().map(argmax),
        comparisons: widths.to_string(),
    }
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        });
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        cpu,
    }
}

/// The paper's Tables IV, V and VI as it prints them (Fig. 10 is a plot only).
fn quoted_paper() -> serde_json::Value {
    serde_json::json!({
        "source": "Kumar et al., CrypTFlow, IEEE S&P 2020; 3 machines with 4 cores, LAN",
        "table_iv_s": PAPER_TABLE_IV.iter().map(|(net, semi, mal)| {
            serde_json::json!({"net": net, "semi_honest": semi, "malicious": mal})
        }).collect::<Vec<_>>(),
        "table_v_porthos_ms": TABLE_V_REFERENCES.iter().map(|(net, paper_ms, _, _)| {
            serde_json::json!({"net": net, "ms": paper_ms})
        }).collect::<Vec<_>>(),
        "table_vi": accuracy::PAPER_TABLE_VI.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect::<Vec<_>>(),
        "fig10": "time and communication grow linearly with n; malicious about 3x semi-honest",
    })
}

fn print_tables(paper: &Paper) {
    println!(
        "cryptflow bench paper{}: median of {} runs per network and mode; three party \
         processes over loopback TCP on this machine ({} CPUs); time = the client's setup + online",
        if paper.quick { " --quick" } else { "" },
        paper.runs,
        paper.machine.cpus,
    );
    if !paper.table_iv.is_empty() {
        println!("\nTable IV: ImageNet-scale networks (paper: Porthos / Aramis on 3×4 cores, LAN)");
        print_measured(&paper.table_iv, 1.0, "s", |net, mode| {
            PAPER_TABLE_IV
                .iter()
                .find(|(n, _, _)| n.to_lowercase() == net)
                .map(|(_, s, m)| if mode == "malicious" { *m } else { *s })
        });
    }
    println!("\nTable V: MNIST networks (paper: Porthos, semi-honest, 3 machines)");
    print_measured(&paper.table_v, 1e3, "ms", |net, mode| {
        TABLE_V_REFERENCES
            .iter()
            .find(|r| r.0 == net && mode == "semi-honest")
            .map(|r| r.1)
    });
    figure::print(&paper.fig10);
    accuracy::print(&paper.table_vi);
}

/// One table of measured rows; `paper` gives the paper's figure for (net, mode) in
/// `unit`, printed beside ours.
fn print_measured(
    rows: &[Measured],
    per_second: f64,
    unit: &str,
    paper: impl Fn(&str, &str) -> Option<f64>,
) {
    println!(
        "{:<12} {:<12} {:>10} {:>10} {:>7} {:>10} {:>7} {:>22} {:>10}",
        "net",
        "mode",
        format!("time {unit}"),
        format!("online {unit}"),
        "vs s-h",
        "comm MiB",
        "rounds",
        "peak MiB P0/P1/P2",
        format!("paper {unit}"),
    );
    for r in rows {
        println!(
            "{:<12} {:<12} {:>10.2} {:>10.2} {:>7} {:>10.2} {:>7} {:>22} {:>10}",
            r.net,
            r.mode,
            r.median_s * per_second,
            r.median_online_s * per_second,
            r.over_semi_honest
                .map_or_else(|| "-".to_string(), |x| format!("{x:.2}")),
            r.total_gib * 1024.0,
            r.rounds,
            format!(
                "{:.0} / {:.0} / {:.0}",
                r.peak_rss_mib[0], r.peak_rss_mib[1], r.peak_rss_mib[2]
            ),
            paper(&r.net, r.mode).map_or_else(|| "-".to_string(), |p| format!("{p}")),
        );
    }
}
