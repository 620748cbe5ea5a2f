//! `cryptflow infer`: secure inference with the three parties on this machine.

use crate::image_input::Preprocess;
use crate::inputs;
use crate::orchestrate::{run_local, LocalRun};
use crate::report::{argmax, mib, InferenceJson, PartyLine};
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
    /// Seconds to wait for a party to connect or to send its next message.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
}

pub fn run(args: InferArgs) -> Result<()> {
    // Check the model and the input here first: a bad file is the user's to fix, and
    // should not surface as three parties timing out.
    let compiled = inputs::load_model(&args.model, args.scale)?;
    let input = inputs::load_any(&args.input, &args.preprocess)?;
    cryptflow_runtime::encode_input(&compiled.program, &input)
        .map_err(|e| inputs::usage(e.into()))?;
    let lines = run_local(&LocalRun {
        model: &args.model,
        input: &args.input,
        preprocess: &args.preprocess,
        scale: args.scale,
        timeout_s: args.timeout,
    })?;
    let result = summarize(&lines);
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        print_human(&result);
    }
    Ok(())
}

/// The `--json` object from the three parties' lines.
pub fn summarize(lines: &[PartyLine; 3]) -> InferenceJson {
    let client = &lines[1];
    let output = client.output.clone().unwrap_or_default();
    InferenceJson {
        top1: argmax(&output),
        shape: client.shape.clone().unwrap_or_default(),
        output,
        wall_s: client.setup_s + client.online_s,
        bytes_sent: [
            lines[0].bytes_sent,
            lines[1].bytes_sent,
            lines[2].bytes_sent,
        ],
        rounds: client.rounds,
        peak_rss_mib: [
            lines[0].peak_rss_mib,
            lines[1].peak_rss_mib,
            lines[2].peak_rss_mib,
        ],
    }
}

pub fn print_human(r: &InferenceJson) {
    println!("prediction (revealed to the client only): class {}", r.top1);
    if r.output.len() <= 20 {
        let values: Vec<String> = r.output.iter().map(|v| format!("{v:.4}")).collect();
        println!("output {:?}: [{}]", r.shape, values.join(", "));
    }
    println!(
        "time {:.1} ms, {} rounds; sent P0 {:.3} MiB, P1 {:.3} MiB, P2 {:.3} MiB; peak memory {:.0}/{:.0}/{:.0} MiB",
        r.wall_s * 1e3,
        r.rounds,
        mib(r.bytes_sent[0]),
        mib(r.bytes_sent[1]),
        mib(r.bytes_sent[2]),
        r.peak_rss_mib[0],
        r.peak_rss_mib[1],
        r.peak_rss_mib[2]
    );
}
