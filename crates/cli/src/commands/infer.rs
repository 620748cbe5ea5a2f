//! `cryptflow infer`: secure inference with the three parties on this machine.

use crate::image_input::Preprocess;
use crate::inputs;
use crate::orchestrate::{run_local, CompiledModel, LocalRun};
use crate::report::{argmax, mib, print_profile, profile, InferenceJson, PartyLine};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InferArgs {
    /// The ONNX model (held by the model owner, P0).
    pub model: PathBuf,
    /// The input: a .npy float32 tensor, or a .jpg/.png photo (preprocessed with the
    /// flags below) (held by the client, P1).
    #[arg(long)]
    pub input: PathBuf,
    #[command(flatten)]
    pub preprocess: Preprocess,
    /// Fixed-point scale: fractional bits of every value.
    #[arg(long, default_value_t = cryptflow_compiler::DEFAULT_SCALE.into())]
    pub scale: u32,
    /// Print one JSON object on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
    /// Report every step of the program: the client's time in it, the bytes each
    /// party sent and its rounds, then the kernels by their share of the time (with
    /// --json: `layers`).
    #[arg(long)]
    pub profile: bool,
    /// Seconds allowed for the parties to connect, and for progress on any message
    /// (a party that sends or takes no byte for this long is reported; in malicious
    /// mode after three such timeouts).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Run the three parties over TLS (keys made for this run in a temporary
    /// directory) instead of plaintext loopback TCP, to see what TLS costs.
    #[arg(long)]
    pub tls: bool,
    /// `--mode malicious`: attested execution; without --attest-root, a root is made
    /// for this run in a temporary directory.
    #[command(flatten)]
    pub security: crate::security::SecurityArgs,
    /// Keep every party's peak memory under this many MiB (ReLU and MaxPool run in
    /// pieces, 8 more rounds a piece; the model is compiled before the parties start),
    /// or refuse at the start naming the smallest budget that works.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_budget: Option<u64>,
    /// Run an offline phase first: before the client's input is shared, the client
    /// multiplies every layer's masked weights and the helper deals them, so the
    /// online time (input to output) holds only the model owner's products and the
    /// comparisons. Costs the client memory (every layer's mask and share) and is no
    /// faster end to end; not under a memory budget. The three parties run one if any
    /// asks.
    #[arg(long, conflicts_with = "memory_budget")]
    pub offline_phase: bool,
}

pub fn run(args: InferArgs) -> Result<()> {
    // Check the model and the input here first: a bad file is the user's to fix, and
    // should not surface as three parties timing out.
    let compiled = CompiledModel::prepare(&args.model, args.scale)?;
    compiled.check_budget(args.memory_budget)?;
    let input = inputs::load_any(&args.input, &args.preprocess)?;
    cryptflow_runtime::encode_input(&compiled.program, &input)
        .map_err(|e| inputs::usage(e.into()))?;
    let lines = run_local(&LocalRun {
        model: compiled.path(),
        input: &args.input,
        preprocess: &args.preprocess,
        scale: args.scale,
        timeout_s: args.timeout,
        tls: args.tls,
        security: &args.security,
        memory_budget: args.memory_budget,
        offline_phase: args.offline_phase,
    })?;
    let mut result = summarize(&lines);
    if args.profile {
        result.layers = Some(profile(&lines));
    }
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        print_human(&result);
        if let Some(layers) = &result.layers {
            print_profile(layers);
        }
    }
    Ok(())
}

/// The `--json` object from the three parties' lines.
pub fn summarize(lines: &[PartyLine; 3]) -> InferenceJson {
    let client = &lines[1];
    let output = client.output.clone().unwrap_or_default();
    InferenceJson {
        mode: client.mode.clone(),
        top1: Some(argmax(&output)),
        shape: Some(client.shape.clone().unwrap_or_default()),
        output: Some(output),
        wall_s: client.setup_s + client.online_s,
        online_s: client.online_s,
        offline_s: client.offline_s,
        bytes_sent: lines.each_ref().map(|line| Some(line.bytes_sent)),
        rounds: client.rounds,
        peak_rss_mib: lines.each_ref().map(|line| Some(line.peak_rss_mib)),
        layers: None,
    }
}

pub fn print_human(r: &InferenceJson) {
    if let Some(top1) = r.top1 {
        println!("prediction (revealed to the client only): class {top1}");
    }
    if let Some(output) = r.output.as_ref().filter(|output| output.len() <= 20) {
        let values: Vec<String> = output.iter().map(|v| format!("{v:.4}")).collect();
        println!(
            "output {:?}: [{}]",
            r.shape.clone().unwrap_or_default(),
            values.join(", ")
        );
    }
    let sent = r
        .bytes_sent
        .map(|bytes| bytes.map_or("?".to_owned(), |b| format!("{:.3}", mib(b))));
    let memory = r
        .peak_rss_mib
        .map(|peak| peak.map_or("?".to_owned(), |m| format!("{m:.0}")));
    println!(
        "{} mode: time {:.1} ms (online {:.1} ms{}), {} rounds; sent P0 {} MiB, P1 {} MiB, P2 {} MiB; peak memory {}/{}/{} MiB",
        r.mode,
        r.wall_s * 1e3,
        r.online_s * 1e3,
        if r.offline_s > 0.0 {
            format!(", offline {:.1} ms", r.offline_s * 1e3)
        } else {
            String::new()
        },
        r.rounds,
        sent[0],
        sent[1],
        sent[2],
        memory[0],
        memory[1],
        memory[2]
    );
}
