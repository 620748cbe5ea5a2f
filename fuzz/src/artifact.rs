//! `.cfp` bytes → `cryptflow_ir::artifact::read`.

use cryptflow_ir::artifact;

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
    let _ = guarded;
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
