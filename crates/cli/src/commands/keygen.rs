//! `cryptflow keygen`: a party's TLS private key and self-signed certificate.

use crate::inputs;
use anyhow::{Context, Result};
use clap::Args;
use cryptflow_net::tls::{certificate_file_name, generate, key_file_name};
use cryptflow_net::Party;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// The party the key is for: 0 = model owner, 1 = client, 2 = helper.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub id: u8,
    /// Directory to write partyN.key and partyN.crt into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing partyN.key / partyN.crt (the other two parties must then
    /// be given the new certificate).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: KeygenArgs) -> Result<()> {
    let party = Party::from_index(args.id.into()).context("party id must be 0, 1 or 2")?;
    let written = write_party_files(party, &args.out, args.force)?;
    println!(
        "wrote {} (the private key: it stays on {party}'s host, readable by its owner only)",
        written.key.display()
    );
    println!(
        "wrote {} (the certificate: give a copy to the other two parties)",
        written.certificate.display()
    );
    println!("SHA-256 fingerprint: {}", written.fingerprint);
    println!(
        "Each party runs `cryptflow party --key <its partyN.key> --certs DIR` where DIR holds \
         party0.crt, party1.crt and party2.crt; compare the fingerprints when you copy them."
    );
    Ok(())
}

/// What `write_party_files` wrote.
#[derive(Debug)]
pub struct Written {
    pub key: PathBuf,
    pub certificate: PathBuf,
    pub fingerprint: String,
}

/// Makes a key and certificate for `party` and writes `dir/partyN.key` (mode 0600)
/// and `dir/partyN.crt`. Without `force`, existing files are left alone and
/// reported (a usage error): replacing a key invalidates the pinned certificate on
/// the other parties.
pub fn write_party_files(party: Party, dir: &Path, force: bool) -> Result<Written> {
    let key = dir.join(key_file_name(party));
    let certificate = dir.join(certificate_file_name(party));
    if !force {
        if let Some(existing) = [&key, &certificate].into_iter().find(|path| path.exists()) {
            return Err(inputs::usage(anyhow::anyhow!(
                "{} already exists: pass --force to replace it (then give the new {} to the \
                 other parties), or choose another --out directory",
                existing.display(),
                certificate_file_name(party)
            )));
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let made = generate(party)?;
    write_private(&key, made.key_pem.as_bytes())?;
    std::fs::write(&certificate, made.certificate_pem.as_bytes())
        .with_context(|| format!("cannot write {}", certificate.display()))?;
    Ok(Written {
        key,
        certificate,
        fingerprint: made.fingerprint,
    })
}

/// Writes a file only its owner can read, also when it replaces a wider one.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // `mode` applies only when the file is created; an existing file keeps its
    // permissions unless we narrow them before writing the key into it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict the permissions of {}", path.display()))?;
    }
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))
}
