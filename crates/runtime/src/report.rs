//! What a party measured: time, traffic and rounds, in total and per layer.

use crate::link::Link;
use cryptflow_net::CommStats;
use cryptflow_ring::Party;
use serde::Serialize;
use std::time::Instant;

#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    /// The model node the step comes from.
    pub source: String,
    pub kernel: &'static str,
    pub seconds: f64,
    pub bytes_sent: u64,
    /// Rounds between the share-holders in this step (0 at the helper).
    pub rounds: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PartyReport {
    pub party: Party,
    /// Seeds, program distribution, weight masking and the offline phase: everything
    /// before the input is shared.
    pub setup_seconds: f64,
    /// Of `setup_seconds`, the offline phase: the work that does not depend on the
    /// input (P1's products with the masked weights, the helper's dealing of them);
    /// 0 under a memory budget, which interleaves it with the online phase.
    pub offline_seconds: f64,
    /// From the input being shared to the output being revealed.
    pub online_seconds: f64,
    pub comm: CommStats,
    /// Communication rounds between the share-holders (0 for the helper, which only
    /// streams dealt randomness ahead of need).
    pub rounds: u64,
    pub layers: Vec<LayerReport>,
}

/// Collects per-layer numbers while the instruction loop runs.
#[derive(Debug)]
pub(crate) struct Recorder {
    started: Instant,
    layer_started: Instant,
    layer_stats: CommStats,
    layer_rounds: u64,
    layers: Vec<LayerReport>,
    offline_seconds: f64,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            layer_started: Instant::now(),
            layer_stats: CommStats::default(),
            layer_rounds: 0,
            layers: Vec::new(),
            offline_seconds: 0.0,
        }
    }

    /// Records the offline phase's length (part of the setup).
    pub fn offline(&mut self, seconds: f64) {
        self.offline_seconds = seconds;
    }

    /// Puts the layers recorded so far in instruction order, `steps[i]` being the
    /// instruction of the i-th recorded (the helper deals out of order offline).
    pub fn order_layers(&mut self, steps: &[usize]) {
        let mut numbered: Vec<(usize, LayerReport)> =
            steps.iter().copied().zip(self.layers.drain(..)).collect();
        numbered.sort_by_key(|(step, _)| *step);
        self.layers = numbered.into_iter().map(|(_, layer)| layer).collect();
    }

    pub fn begin(&mut self, link: &Link) {
        self.layer_started = Instant::now();
        self.layer_stats = link.stats();
        self.layer_rounds = link.rounds;
    }

    pub fn end(&mut self, link: &Link, source: &str, kernel: &'static str) {
        self.layers.push(LayerReport {
            source: source.to_owned(),
            kernel,
            seconds: self.layer_started.elapsed().as_secs_f64(),
            bytes_sent: link.stats().since(&self.layer_stats).bytes_sent,
            rounds: link.rounds.saturating_sub(self.layer_rounds),
        });
    }

    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    pub fn finish(self, link: &Link, setup_seconds: f64, online_seconds: f64) -> PartyReport {
        PartyReport {
            party: link.me(),
            setup_seconds,
            offline_seconds: self.offline_seconds,
            online_seconds,
            comm: link.stats(),
            rounds: link.rounds,
            layers: self.layers,
        }
    }
}
