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
}

impl From<&LayerReport> for LayerLine {
    fn from(l: &LayerReport) -> Self {
        LayerLine {
            source: l.source.clone(),
            kernel: l.kernel.to_owned(),
            seconds: l.seconds,
            bytes_sent: l.bytes_sent,
        }
    }
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
    /// Bytes each party sent, indexed by party; null for a party whose process this
    /// is not.
    pub bytes_sent: [Option<u64>; 3],
    pub rounds: u64,
    /// Peak resident memory of each party's process; null as for `bytes_sent`.
    pub peak_rss_mib: [Option<f64>; 3],
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
