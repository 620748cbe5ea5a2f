//! Replays the committed corpus and regressions through the targets' functions, on
//! stable, so CI catches a change that breaks an input the fuzzer once found.
//!
//! * `corpus/<target>/*`: every input must run without a panic.
//! * `regressions/<target>/*`: fixed findings; must run without a panic.
//! * `regressions/<target>/open/*`: findings not fixed yet (bugs in crates owned by
//!   others, see README.md). The guarded target must skip each. Without the guards
//!   they are run and reported, not failed on (hangs, `*.timeout`, and aborts,
//!   `*.abort`, are not run); once one runs cleanly the test says so, so it can be
//!   moved up a level.

use crate::TARGETS;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `target` on each file; returns the files that panicked.
fn replay(target: fn(&[u8]), files: &[PathBuf]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("readable corpus file");
            catch_unwind(AssertUnwindSafe(|| target(&data))).is_err()
        })
        .cloned()
        .collect()
}

/// The guarded ONNX targets swap the process's panic hook (`known.rs`): the two tests
/// must not run at once.
static SERIAL: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn corpus_and_fixed_regressions_run_cleanly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut failed = Vec::new();
    let mut count = 0;
    for target in TARGETS {
        let mut inputs = files(&root().join("corpus").join(target.name));
        inputs.extend(files(&root().join("regressions").join(target.name)));
        count += inputs.len();
        failed.extend(replay(target.run, &inputs));
    }
    assert!(count > 0, "no corpus found under {}", root().display());
    assert!(failed.is_empty(), "inputs that panic: {failed:#?}");
    eprintln!("replayed {count} inputs");
}

#[test]
fn open_regressions_are_reported() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for target in TARGETS {
        let open = files(&root().join("regressions").join(target.name).join("open"));
        // The guarded target must skip it, or the fuzzer stops at it again.
        assert!(
            replay(target.run, &open).is_empty(),
            "a guard in known.rs misses one of {open:#?}"
        );
        // Hangs (`*.timeout`) would stall the test and aborts (`*.abort`, failed
        // allocations) would end it: they are only run guarded.
        let (fatal, open): (Vec<PathBuf>, Vec<PathBuf>) = open.into_iter().partition(|p| {
            p.extension()
                .is_some_and(|e| e == "timeout" || e == "abort")
        });
        for path in &fatal {
            eprintln!(
                "open hang or abort, not replayed unguarded: {}",
                path.display()
            );
        }
        let panicking = replay(target.unguarded, &open);
        for path in &open {
            if panicking.contains(path) {
                eprintln!("open finding still reproduces: {}", path.display());
            } else {
                eprintln!(
                    "open finding no longer panics, move it up: {}",
                    path.display()
                );
            }
        }
    }
}
