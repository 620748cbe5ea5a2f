//! `cryptflow demo`: the bundled LeNet, trained on real MNIST digits, reads a bundled
//! real digit under secure inference.

use crate::orchestrate::{run_local, CompiledModel, LocalRun};
use crate::report::{argmax, mib};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Which bundled digit to read (0-9).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u8).range(0..=9))]
    pub digit: u8,
}

/// The bundled models folder: $CRYPTFLOW_MODELS, ./models, or the repository's.
pub fn models_dir() -> Result<PathBuf> {
    let candidates = [
        std::env::var_os("CRYPTFLOW_MODELS").map(PathBuf::from),
        Some(PathBuf::from("models")),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models"
        ))),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("lenet.onnx").is_file())
        .context("cannot find the bundled models (models/lenet.onnx); run from the repository or set CRYPTFLOW_MODELS")
}

pub fn run(args: DemoArgs) -> Result<()> {
    let models = models_dir()?;
    let model = models.join("lenet.onnx");
    let input = models
        .join("digits")
        .join(format!("digit_{}.npy", args.digit));
    println!(
        "P0 (model owner) holds {}: a LeNet trained on real MNIST digits.",
        model.display()
    );
    println!(
        "P1 (client) holds {}: a real handwritten {}.",
        input.display(),
        args.digit
    );
    println!("P2 (helper) holds nothing. Running the three parties over TCP on 127.0.0.1 ...");
    let compiled = CompiledModel::prepare(&model, cryptflow_compiler::DEFAULT_SCALE.into())?;
    let lines = run_local(&LocalRun {
        model: compiled.path(),
        input: &input,
        preprocess: &Default::default(),
        scale: cryptflow_compiler::DEFAULT_SCALE.into(),
        timeout_s: 30,
        tls: false,
        security: &Default::default(),
        memory_budget: None,
        offline_phase: false,
    })?;
    let client = &lines[1];
    let top1 = argmax(client.output.as_deref().unwrap_or_default());
    println!();
    println!(
        "The client learns: the digit is {top1} (the true label is {}).",
        args.digit
    );
    println!("Neither the weights nor the image left their owner in the clear.");
    println!(
        "Secure inference took {:.1} ms in {} rounds; sent P0 {:.2} MiB, P1 {:.2} MiB, P2 {:.2} MiB.",
        (client.setup_s + client.online_s) * 1e3,
        client.rounds,
        mib(lines[0].bytes_sent),
        mib(lines[1].bytes_sent),
        mib(lines[2].bytes_sent)
    );
    Ok(())
}
