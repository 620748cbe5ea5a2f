//! `.cfp` bytes → `cryptflow_ir::artifact::read`.

use crate::known::known_open;
use cryptflow_ir::{artifact, Program};

/// Reads arbitrary bytes as a compiled model. What reads must be a valid program with
/// matching weights, and must survive a write/read round trip unchanged.
pub fn artifact_read(data: &[u8]) {
    read(data, true)
}

/// [`artifact_read`] without the guards for known open bugs (see `known.rs`).
pub fn artifact_read_unguarded(data: &[u8]) {
    read(data, false)
}

fn read(data: &[u8], guarded: bool) {
    if guarded && embedded_program(data).is_some_and(|p| known_open(&p)) {
        return;
    }
    let Ok((program, weights)) = artifact::read(data) else {
        return;
    };
    assert_eq!(
        program.validate(),
        Ok(()),
        "read accepted an invalid program"
    );
    assert!(
        program.matches(&weights),
        "read accepted mismatched weights"
    );
    let mut again = Vec::new();
    artifact::write(&mut again, &program, &weights).expect("a read artifact writes");
    let (p2, w2) = artifact::read(&again).expect("a written artifact reads");
    assert!(
        p2 == program && w2 == weights,
        "the round trip changed the model"
    );
}

/// The program in a `.cfp` file (magic, version, u64 length, postcard), decoded the way
/// `artifact::read` decodes it, so the guards can look at it before `read` validates.
fn embedded_program(data: &[u8]) -> Option<Program> {
    let len = u64::from_le_bytes(data.get(12..20)?.try_into().ok()?);
    let end = 20usize.checked_add(usize::try_from(len).ok()?)?;
    postcard::from_bytes(data.get(20..end)?).ok()
}
