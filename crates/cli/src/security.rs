//! The security mode flags shared by `infer`, `party` and `bench`.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use cryptflow_attest::SoftwareRoot;
use cryptflow_net::fault::Fault;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Secure against parties that follow the protocol (Porthos).
    #[value(name = "semi-honest")]
    SemiHonest,
    /// Each party's protocol runs in an attested boundary that authenticates every
    /// message: a host that deviates is caught and named (Aramis).
    Malicious,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::SemiHonest => "semi-honest",
            Mode::Malicious => "malicious",
        }
    }
}

#[derive(Args, Clone, Debug)]
pub struct SecurityArgs {
    /// semi-honest, or malicious: attested execution (software backend; see the
    /// README's "Malicious security" section for what it does and does not protect).
    #[arg(long, value_enum, default_value_t = Mode::SemiHonest)]
    pub mode: Mode,
    /// The attestation root (a directory with root.pub, and root.key to issue this
    /// party's token), made by `cryptflow attest init --out DIR`.
    #[arg(long)]
    pub attest_root: Option<PathBuf>,
    /// For testing: party N's host tampers with its K-th outgoing message (counted
    /// from 0, the prelude included): party=N,kind=flip|drop|replay|reorder,message=K.
    #[arg(long, value_parser = parse_fault)]
    pub inject_fault: Option<Fault>,
}

impl Default for SecurityArgs {
    fn default() -> Self {
        SecurityArgs {
            mode: Mode::SemiHonest,
            attest_root: None,
            inject_fault: None,
        }
    }
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    s.parse()
}

impl SecurityArgs {
    /// The root to attest with in malicious mode (`None` in semi-honest mode).
    pub fn root(&self) -> Result<Option<SoftwareRoot>> {
        if self.mode == Mode::SemiHonest {
            return Ok(None);
        }
        let dir = self.attest_root.as_ref().ok_or_else(|| {
            crate::inputs::usage(anyhow::anyhow!(
                "--mode malicious needs --attest-root DIR (make one with `cryptflow attest \
                 init --out DIR` and give every party the same root.pub, and root.key to \
                 issue its token)"
            ))
        })?;
        let root = SoftwareRoot::load(dir)
            .map_err(|e| crate::inputs::usage(e.into()))
            .with_context(|| format!("reading the attestation root in {}", dir.display()))?;
        if !root.can_issue() {
            return Err(crate::inputs::usage(anyhow::anyhow!(
                "{} has root.pub but no root.key: the software backend issues each party's \
                 token with the root key",
                dir.display()
            )));
        }
        Ok(Some(root))
    }
}
