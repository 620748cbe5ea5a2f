//! The `cryptflow` command: secure three-party inference of ONNX models.

mod commands;
mod comparisons;
mod image_input;
mod inputs;
mod orchestrate;
mod report;
mod security;
mod sweep;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "cryptflow",
    version,
    about = "Secure three-party inference: the model owner's weights and the client's input stay secret"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile an ONNX model to a `.cfp` program that infer, plain and party accept.
    Compile(commands::compile::CompileArgs),
    /// Run a secure inference with all three parties on this machine (three processes, TCP on 127.0.0.1).
    Infer(commands::infer::InferArgs),
    /// Run one party, for a deployment on three hosts (TLS with pinned certificates).
    Party(commands::party::PartyArgs),
    /// Make a party's TLS private key and self-signed certificate for `party`.
    Keygen(commands::keygen::KeygenArgs),
    /// Run the same fixed-point program in the clear (the ideal twin), for comparison.
    Plain(commands::infer::InferArgs),
    /// Write the tensor a photo becomes as model input (ImageNet preprocessing) to .npy.
    Preprocess(commands::preprocess::PreprocessArgs),
    /// Read a bundled real handwritten digit with the bundled trained LeNet, securely.
    Demo(commands::demo::DemoArgs),
    /// Benchmark suites (median time, bytes per party, rounds).
    Bench(commands::bench::BenchArgs),
    /// Attestation: make a software root; verify real SGX/TDX/SEV-SNP evidence.
    Attest(commands::attest::AttestArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile(args) => commands::compile::run(args),
        Command::Infer(args) => commands::infer::run(args),
        Command::Party(args) => commands::party::run(args),
        Command::Keygen(args) => commands::keygen::run(args),
        Command::Plain(args) => commands::plain::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Preprocess(args) => commands::preprocess::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Attest(args) => commands::attest::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // Exit code 2: the model, the input or the arguments need fixing; 1: the run failed.
            if error.downcast_ref::<inputs::UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
