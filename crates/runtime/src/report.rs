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
    /// Seeds, program distribution and weight masking.
    pub setup_seconds: f64,
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
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            layer_started: Instant::now(),
            layer_stats: CommStats::default(),
            layer_rounds: 0,
            layers: Vec::new(),
        }
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
            online_seconds,
            comm: link.stats(),
            rounds: link.rounds,
            layers: self.layers,
        }
    }
}
