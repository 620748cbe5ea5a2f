//! The line each party process prints for the orchestrating `infer`, and the summary
//! `infer` prints for the user.

use cryptflow_runtime::LayerReport;
use serde::{Deserialize, Serialize};

/// One party's outcome, as a JSON line on its stdout (`party --report`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartyLine {
    pub party: usize,
    /// "semi-honest" or "malicious".
    pub mode: String,
    pub setup_s: f64,
    /// Of `setup_s`, the offline phase (input-independent precomputation).
    #[serde(default)]
    pub offline_s: f64,
    pub online_s: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub rounds: u64,
    pub peak_rss_mib: f64,
    /// The client's decoded output.
    pub output: Option<Vec<f32>>,
    pub shape: Option<Vec<usize>>,
    pub layers: Vec<LayerLine>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerLine {
    pub source: String,
    pub kernel: String,
    pub seconds: f64,
    pub bytes_sent: u64,
    #[serde(default)]
    pub rounds: u64,
}

impl From<&LayerReport> for LayerLine {
    fn from(l: &LayerReport) -> Self {
        LayerLine {
            source: l.source.clone(),
            kernel: l.kernel.to_owned(),
            seconds: l.seconds,
            bytes_sent: l.bytes_sent,
            rounds: l.rounds,
        }
    }
}

/// One step of the program as `--profile` reports it: the time in it (the client's,
/// or this party's in `party --profile`), the bytes each party sent in it (null for a
/// party whose process this is not), and its rounds.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileLayer {
    pub step: usize,
    /// The model node the step comes from.
    pub node: String,
    pub kernel: String,
    pub seconds: f64,
    pub bytes_sent: [Option<u64>; 3],
    pub rounds: u64,
}

/// The three parties' per-step records side by side (each records every step).
pub fn profile(lines: &[PartyLine; 3]) -> Vec<ProfileLayer> {
    profile_of(1, lines.each_ref().map(|line| Some(line.layers.as_slice())))
}

/// One party's own per-step records (`party --profile`): the others' bytes unknown.
pub fn own_profile(me: usize, layers: &[LayerLine]) -> Vec<ProfileLayer> {
    let mut parties = [None; 3];
    if let Some(slot) = parties.get_mut(me) {
        *slot = Some(layers);
    }
    profile_of(me, parties)
}

/// The three parties' per-step records of one run in this process (`bench`).
pub fn profile_of_reports(reports: [&cryptflow_runtime::PartyReport; 3]) -> Vec<ProfileLayer> {
    let lines = reports.map(|r| r.layers.iter().map(LayerLine::from).collect::<Vec<_>>());
    profile_of(1, lines.each_ref().map(|l| Some(l.as_slice())))
}

/// Steps as party `timer` records them, with the bytes of each party known here.
fn profile_of(timer: usize, parties: [Option<&[LayerLine]>; 3]) -> Vec<ProfileLayer> {
    let steps = parties.get(timer).copied().flatten().unwrap_or_default();
    (steps.iter().enumerate())
        .map(|(step, layer)| ProfileLayer {
            step,
            node: layer.source.clone(),
            kernel: layer.kernel.clone(),
            seconds: layer.seconds,
            bytes_sent: parties.map(|p| Some(p?.get(step)?.bytes_sent)),
            rounds: layer.rounds,
        })
        .collect()
}

/// The `--profile` table: every step, then the kernels by their share of the time.
pub fn print_profile(layers: &[ProfileLayer]) {
    let total: f64 = layers.iter().map(|l| l.seconds).sum();
    println!(
        "{:>5}  {:<28} {:<10} {:>9} {:>6}  {:>24}  {:>6}",
        "step", "node", "kernel", "ms", "%", "sent P0/P1/P2 KiB", "rounds"
    );
    for l in layers {
        let [a, b, c] = l
            .bytes_sent
            .map(|x| x.map_or_else(|| "?".to_owned(), |x| x.div_ceil(1024).to_string()));
        println!(
            "{:>5}  {:<28} {:<10} {:>9.2} {:>6.1}  {:>24}  {:>6}",
            l.step,
            truncate(&l.node, 28),
            l.kernel,
            l.seconds * 1e3,
            share(l.seconds, total),
            format!("{a} / {b} / {c}"),
            l.rounds
        );
    }
    let mut kernels: Vec<(String, f64, u64, u64)> = Vec::new();
    for l in layers {
        let sent = l.bytes_sent.iter().flatten().sum::<u64>();
        match kernels.iter_mut().find(|k| k.0 == l.kernel) {
            Some(k) => {
                k.1 += l.seconds;
                k.2 += sent;
                k.3 += l.rounds;
            }
            None => kernels.push((l.kernel.clone(), l.seconds, sent, l.rounds)),
        }
    }
    kernels.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!("by kernel (time and bytes of the steps above, of the parties known here):");
    for (kernel, seconds, sent, rounds) in kernels {
        println!(
            "  {kernel:<10} {:>9.1} ms {:>5.1}%  {:>10.1} MiB  {rounds:>5} rounds",
            seconds * 1e3,
            share(seconds, total),
            mib(sent)
        );
    }
}

fn share(part: f64, total: f64) -> f64 {
    if total > 0.0 {
        100.0 * part / total
    } else {
        0.0
    }
}

/// `text` cut to `width` characters, the last an ellipsis if it was longer.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The `--json` object of `infer`, `plain` and `party`. `infer` and `plain` fill in
/// every field; `party --json` only what that one party knows, the rest is null.
#[derive(Clone, Debug, Serialize)]
pub struct InferenceJson {
    /// "semi-honest" or "malicious" (attested execution).
    pub mode: String,
    /// The decoded output; null on P0 and P2, which do not learn it.
    pub output: Option<Vec<f32>>,
    pub shape: Option<Vec<usize>>,
    pub top1: Option<usize>,
    pub wall_s: f64,
    /// The client's time from its input ready (the session set up) to the output
    /// revealed; `wall_s` adds the setup (seeds, program, plan) and the offline phase.
    pub online_s: f64,
    /// The client's offline phase: its products with the masked weights, before its
    /// input is shared (0 under a memory budget, which interleaves them).
    pub offline_s: f64,
    /// Bytes each party sent, indexed by party; null for a party whose process this
    /// is not.
    pub bytes_sent: [Option<u64>; 3],
    pub rounds: u64,
    /// Peak resident memory of each party's process; null as for `bytes_sent`.
    pub peak_rss_mib: [Option<f64>; 3],
    /// Per step, with `--profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<ProfileLayer>>,
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// This process's peak resident memory in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
