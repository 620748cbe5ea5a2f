//! `cryptflow attest`: make a software attestation root, verify real TEE evidence.

use crate::inputs;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use cryptflow_attest::SoftwareRoot;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct AttestArgs {
    #[command(subcommand)]
    command: AttestCommand,
}

#[derive(Subcommand, Debug)]
enum AttestCommand {
    /// Make a software attestation root: DIR/root.key and DIR/root.pub. Tokens of
    /// `--mode malicious` chain to it. It stands in for the attestation service and
    /// gives no protection against a host that holds root.key.
    Init {
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a real Intel SGX/TDX DCAP quote or AMD SEV-SNP report offline and print
    /// what it attests; exits non-zero with the reason if it is rejected.
    Verify {
        /// The quote or report (raw bytes, or hex text).
        evidence: PathBuf,
        /// The quote's collateral (QuoteCollateralV3 JSON) or the report's VCEK
        /// certificate (DER or PEM).
        #[arg(long)]
        collateral: Option<PathBuf>,
        /// The verification time in UNIX seconds (default: now).
        #[arg(long)]
        at: Option<u64>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: AttestArgs) -> Result<()> {
    match args.command {
        AttestCommand::Init { out } => {
            let root = SoftwareRoot::generate()?;
            root.write(&out).map_err(|e| inputs::usage(e.into()))?;
            println!(
                "wrote {0}/root.key (secret: it can sign any token) and {0}/root.pub \
                 (give it to every party); root public key {1}",
                out.display(),
                root.public_key().hex()
            );
            Ok(())
        }
        AttestCommand::Verify {
            evidence,
            collateral,
            at,
            json,
        } => verify(&evidence, collateral.as_ref(), at, json),
    }
}

fn verify(
    evidence: &PathBuf,
    collateral: Option<&PathBuf>,
    at: Option<u64>,
    json: bool,
) -> Result<()> {
    let read = |path: &PathBuf| {
        std::fs::read(path)
            .with_context(|| format!("cannot read {}", path.display()))
            .map_err(inputs::usage)
    };
    let bytes = read(evidence)?;
    let collateral = collateral.map(read).transpose()?;
    let now = match at {
        Some(at) => at,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_secs(),
    };
    let verified = cryptflow_evidence::verify_bytes(&bytes, collateral.as_deref(), now)
        .with_context(|| format!("{} was rejected", evidence.display()))?;
    if json {
        println!("{}", serde_json::to_string(&verified)?);
    } else {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        println!(
            "tee: {}",
            serde_json::to_value(verified.tee)?.as_str().unwrap_or("?")
        );
        println!("measurement: {}", hex(&verified.measurement));
        println!("report_data: {}", hex(&verified.report_data));
        println!("status: {}", verified.status);
        if !verified.advisories.is_empty() {
            println!("advisories: {}", verified.advisories.join(", "));
        }
    }
    Ok(())
}
