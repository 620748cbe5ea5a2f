//! What a party's boundary is committed to: the code identity and its measurement.
//!
//! In SGX the measurement (MRENCLAVE) is a hash of the enclave's code; here it also
//! covers the protocol version and the compiled program, because the paper's F_attest
//! commits to the whole function g: the same binary running another model is other code.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// The version of the protocol and of every message format; parties on different
/// versions refuse each other in the prelude.
pub const PROTOCOL_VERSION: u32 = 1;

/// A 32-byte digest, printed as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sixteen hex digits name a digest well enough in an error message.
        write!(f, "{}…", &self.hex()[..16])
    }
}

/// The three things a boundary commits to before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeIdentity {
    /// The protocol code: in the software backend, the hash of the running binary.
    pub code: Digest,
    pub protocol_version: u32,
    /// The hash of the compiled program (architecture, scales, shapes; not weights).
    pub program: Digest,
}

impl CodeIdentity {
    /// The identity of this binary running `program_hash`.
    pub fn of_this_binary(program: Digest) -> Result<CodeIdentity, std::io::Error> {
        Ok(CodeIdentity {
            code: this_binary()?,
            protocol_version: PROTOCOL_VERSION,
            program,
        })
    }

    /// One digest over all three fields (what an SGX quote would carry as MRENCLAVE).
    pub fn measurement(&self) -> Digest {
        let mut hasher = blake3::Hasher::new_derive_key("cryptflow 2026-12 measurement v1");
        hasher.update(&self.code.0);
        hasher.update(&self.protocol_version.to_le_bytes());
        hasher.update(&self.program.0);
        Digest(*hasher.finalize().as_bytes())
    }
}

/// The hash of the running executable, computed once per process.
pub fn this_binary() -> Result<Digest, std::io::Error> {
    static HASH: OnceLock<Result<Digest, String>> = OnceLock::new();
    HASH.get_or_init(|| {
        let path = std::env::current_exe().map_err(|e| e.to_string())?;
        // Streamed: the binary (with debug info) can be large, and holding it would
        // add its size to every party's peak memory.
        let mut file =
            std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut hasher = blake3::Hasher::new();
        std::io::copy(&mut file, &mut hasher).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Digest(*hasher.finalize().as_bytes()))
    })
    .clone()
    .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_measurement_covers_every_field() {
        let base = CodeIdentity {
            code: Digest([1; 32]),
            protocol_version: PROTOCOL_VERSION,
            program: Digest([2; 32]),
        };
        let mut seen = vec![base.measurement()];
        for changed in [
            CodeIdentity {
                code: Digest([3; 32]),
                ..base
            },
            CodeIdentity {
                protocol_version: PROTOCOL_VERSION + 1,
                ..base
            },
            CodeIdentity {
                program: Digest([3; 32]),
                ..base
            },
        ] {
            let m = changed.measurement();
            assert!(
                !seen.contains(&m),
                "{changed:?} measured like another identity"
            );
            seen.push(m);
        }
        assert_eq!(base.measurement(), base.measurement());
    }

    #[test]
    fn this_binary_is_hashed_once_and_stably() {
        let a = this_binary().expect("the test binary is readable");
        assert_eq!(a, this_binary().expect("again"));
        assert_ne!(a, Digest([0; 32]));
    }
}
