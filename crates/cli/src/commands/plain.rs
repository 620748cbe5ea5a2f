//! `cryptflow plain`: the same fixed-point program in the clear (the ideal twin).

use crate::commands::infer::{print_human, InferArgs};
use crate::inputs;
use crate::report::{argmax, peak_rss_mib, InferenceJson};
use anyhow::Result;
use std::time::Instant;

pub fn run(args: InferArgs) -> Result<()> {
    let compiled = inputs::load_model(&args.model, args.scale)?;
    let input = inputs::load_any(&args.input, &args.preprocess)?;
    let encoded = cryptflow_runtime::encode_input(&compiled.program, &input)
        .map_err(|e| inputs::usage(e.into()))?;
    let started = Instant::now();
    let raw = cryptflow_runtime::plain::run(&compiled.program, &compiled.weights, encoded);
    let wall_s = started.elapsed().as_secs_f64();
    let output = cryptflow_runtime::decode_output(&compiled.program, &raw);
    let result = InferenceJson {
        mode: "clear".into(),
        top1: Some(argmax(output.data())),
        shape: Some(output.shape().to_vec()),
        output: Some(output.into_data()),
        wall_s,
        // One process, no session: all of it is online.
        online_s: wall_s,
        offline_s: 0.0,
        bytes_sent: [Some(0); 3],
        rounds: 0,
        peak_rss_mib: [Some(peak_rss_mib()), Some(0.0), Some(0.0)],
        layers: None,
    };
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!("(cleartext fixed-point run: nothing is secret here)");
        print_human(&result);
    }
    Ok(())
}
