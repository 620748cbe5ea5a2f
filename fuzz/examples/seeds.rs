//! Writes the seed corpora from real inputs:
//!
//! ```text
//! cargo run --release -p cryptflow-fuzz --example seeds -- corpus MODEL.onnx...
//! ```
//!
//! * `onnx_compile/`: each model as it is;
//! * `artifact_read/`: each model that compiles, as a `.cfp` file;
//! * `program_receive/`: its program as P0 sends it (postcard);
//! * `program_run/`: the same followed by bytes for the weights and input;
//! * `protocol_messages/`: each case with honest (untampered) messages and with a
//!   tampered one, from byte patterns that `arbitrary` decodes as such.

use cryptflow_compiler::{compile, DEFAULT_SCALE};
use cryptflow_ir::artifact;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: seeds OUT_DIR MODEL.onnx...")?);
    let dir = |name: &str| -> std::io::Result<PathBuf> {
        let d = out.join(name);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    };
    for model in args {
        let path = Path::new(&model);
        let bytes = std::fs::read(path)?;
        // backend cases are <case>/model.onnx: name them after the case.
        let stem = match path.file_stem().and_then(|s| s.to_str()) {
            Some("model") => path.parent().and_then(Path::file_name),
            _ => path.file_stem(),
        }
        .and_then(|s| s.to_str())
        .unwrap_or("model")
        .to_owned();
        std::fs::write(dir("onnx_compile")?.join(format!("{stem}.onnx")), &bytes)?;
        let Ok(compiled) = cryptflow_onnx::import_bytes(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|g| compile(g, u32::from(DEFAULT_SCALE)).map_err(|e| e.to_string()))
        else {
            eprintln!("{stem}: does not compile, only an ONNX seed");
            continue;
        };
        let mut cfp = Vec::new();
        artifact::write(&mut cfp, &compiled.program, &compiled.weights)?;
        std::fs::write(dir("artifact_read")?.join(format!("{stem}.cfp")), &cfp)?;
        let program = postcard::to_stdvec(&compiled.program)?;
        std::fs::write(
            dir("program_receive")?.join(format!("{stem}.postcard")),
            &program,
        )?;
        let mut run = program;
        run.extend((0u8..64).map(|i| i.wrapping_mul(37)));
        std::fs::write(dir("program_run")?.join(format!("{stem}.bin")), &run)?;
    }
    protocol_seeds(&dir("protocol_messages")?)?;
    Ok(())
}

/// `arbitrary` picks an enum variant from a little-endian u32 `x` as
/// `(x · count) >> 32`; these are the first bytes that select variant `v` of `count`.
fn variant(v: u32, count: u32) -> [u8; 4] {
    let x = ((u64::from(v) << 32) / u64::from(count) + 1) as u32;
    x.to_le_bytes()
}

fn protocol_seeds(dir: &Path) -> std::io::Result<()> {
    const CASES: [&str; 6] = [
        "client_linear",
        "owner_linear",
        "select",
        "max_pool",
        "reveal",
        "and_close",
    ];
    for (v, name) in CASES.iter().enumerate() {
        for (i, fill) in [[3u8, 5, 7, 2], [8, 1, 4, 6]].iter().enumerate() {
            let mut honest = variant(v as u32, CASES.len() as u32).to_vec();
            // A shape variant for the linear cases, then small sizes; the `Tamper`s
            // read as `Keep` from the trailing zeros.
            honest.extend_from_slice(&variant(i as u32 * 2, 3));
            honest.extend(fill.iter().cycle().take(24));
            honest.extend([0u8; 16]);
            std::fs::write(dir.join(format!("{name}-{i}")), &honest)?;
            let mut tampered = honest.clone();
            let at = tampered.len() - 16;
            tampered[at..at + 4].copy_from_slice(&variant(1, 5));
            tampered[at + 4..].fill(0x41);
            std::fs::write(dir.join(format!("{name}-{i}-flip")), &tampered)?;
        }
    }
    Ok(())
}
