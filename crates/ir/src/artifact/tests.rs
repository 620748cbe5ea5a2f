use super::*;
use crate::{Instruction, Kernel, WeightSource};
use cryptflow_ring::Scale;

fn sample() -> (Program, Weights) {
    let add = |weight, output| Instruction {
        kernel: Kernel::AddConstant { weight },
        inputs: vec![output - 1],
        output,
        free: vec![output - 1],
        comparison_bits: 64,
        source: "add".into(),
    };
    let program = Program {
        scale: Scale::new(12).expect("valid"),
        softmax: Some(1),
        slot_shapes: vec![vec![1, 3]; 3],
        input: 0,
        output: 2,
        weight_shapes: vec![vec![1, 3], vec![1, 3]],
        instructions: vec![add(0, 1), add(1, 2)],
    };
    let weights = Weights {
        tensors: vec![
            Tensor::new(vec![1, 3], vec![1, u64::MAX, 7]).expect("sized"),
            Tensor::new(vec![1, 3], vec![0x0102_0304_0506_0708, 0, 9]).expect("sized"),
        ],
    };
    (program, weights)
}

fn written() -> Vec<u8> {
    let (p, w) = sample();
    let mut bytes = Vec::new();
    write(&mut bytes, &p, &w).expect("writes");
    bytes
}

/// Where the weights' elements start (the header is everything before).
fn data_start(bytes: &[u8]) -> usize {
    bytes.len() - 6 * 8
}

fn on_disk(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.cfp");
    std::fs::write(&path, bytes).expect("written");
    (dir, path)
}

#[test]
fn roundtrip_in_memory_and_from_the_file() {
    let (p, w) = sample();
    let bytes = written();
    assert!(is_artifact(&bytes));
    let (p2, w2) = read(&bytes).expect("reads");
    assert_eq!((&p2, &w2), (&p, &w));
    let (_dir, path) = on_disk(&bytes);
    let file = ModelFile::open(&path).expect("opens");
    assert_eq!(file.program(), &p);
    assert!(p.matches(&file));
    for (id, tensor) in w.tensors.iter().enumerate() {
        assert_eq!(file.load(id).expect("loads").as_ref(), tensor.data());
        assert_eq!(file.shape(id), Some(tensor.shape()));
    }
    assert!(matches!(file.load(2), Err(ArtifactError::NoSuchWeight(2))));
    assert_eq!(file.load_all().expect("loads"), w);
}

#[test]
fn a_mismatched_model_is_not_written() {
    let (p, mut w) = sample();
    w.tensors.pop();
    let err = write(&mut Vec::new(), &p, &w).unwrap_err().to_string();
    assert!(err.contains("do not match"), "{err}");
}

#[test]
fn truncation_and_foreign_files_are_errors() {
    let bytes = written();
    for cut in 0..bytes.len() {
        assert!(read(&bytes[..cut]).is_err(), "prefix {cut} accepted");
    }
    let (_dir, path) = on_disk(&bytes[..bytes.len() - 1]);
    let err = ModelFile::open(&path).unwrap_err().to_string();
    assert!(err.contains("compile the model again"), "{err}");
    assert!(matches!(
        read(b"\x08\x01garbage"),
        Err(ArtifactError::NotAnArtifact)
    ));
    let mut newer = bytes.clone();
    newer[8] = 9;
    assert!(matches!(
        read(&newer),
        Err(ArtifactError::Version { found: 9 })
    ));
}

#[test]
fn any_flipped_bit_is_caught_in_memory_and_at_open() {
    let bytes = written();
    let weights_from = data_start(&bytes);
    let (dir, path) = on_disk(&bytes);
    // Past the magic and version, every bit matters: a flip in a weight (which would
    // otherwise parse and run), in the program, a length, a hash or the header's hash.
    for byte in 12..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[byte] ^= 1 << bit;
            std::fs::write(&path, &flipped).expect("rewritten");
            for result in [
                read(&flipped).map(|_| ()),
                ModelFile::open(&path).map(|_| ()),
            ] {
                match result {
                    // A flipped length is caught reading within the file, the rest by
                    // a checksum: the header's, or the weight's.
                    Err(ArtifactError::Corrupt(reason)) => assert!(
                        byte < weights_from || reason.contains("checksum of weight"),
                        "byte {byte}: {reason}"
                    ),
                    other => panic!("byte {byte} bit {bit}: {other:?}"),
                }
            }
        }
    }
    drop(dir);
    let message = read(&{
        let mut b = bytes.clone();
        let last = b.len() - 1;
        b[last] ^= 1;
        b
    })
    .unwrap_err()
    .to_string();
    assert!(message.contains("compile the model again"), "{message}");
}

/// The sample on disk, opened (and so checked whole), then weight 1's first byte
/// changed in place under the open file; the bytes as written first.
fn opened_then_weight_1_changed() -> (Vec<u8>, tempfile::TempDir, std::path::PathBuf, ModelFile) {
    let bytes = written();
    let (dir, path) = on_disk(&bytes);
    let file = ModelFile::open(&path).expect("opens");
    let mut changed = bytes.clone();
    changed[data_start(&bytes) + 3 * 8] ^= 0x80;
    std::fs::write(&path, &changed).expect("rewritten");
    (bytes, dir, path, file)
}

#[test]
fn a_weight_changed_after_opening_is_caught_at_its_load() {
    let (bytes, _dir, path, file) = opened_then_weight_1_changed();
    assert!(matches!(file.load(1), Err(ArtifactError::Changed(1))));
    assert_eq!(file.load(0).expect("unchanged").as_ref(), &[1, u64::MAX, 7]);
    // And a file cut short under it.
    std::fs::write(&path, &bytes[..bytes.len() - 1]).expect("rewritten");
    assert!(matches!(file.load(1), Err(ArtifactError::Changed(1))));
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = written();
    bytes.push(0);
    let err = read(&bytes).unwrap_err().to_string();
    assert!(err.contains("1 unexpected bytes"), "{err}");
}

#[test]
fn a_header_claiming_more_than_the_file_holds_allocates_nothing() {
    // A consistent header (its hash right) whose weights are 2^30 elements (8 GiB) each, and
    // no weights after it: the reader refuses from the sizes alone.
    let (mut p, _) = sample();
    let huge = vec![1 << 15, 1 << 15];
    p.slot_shapes = vec![huge.clone(); 3];
    p.weight_shapes = vec![huge.clone(), huge];
    let mut header = Vec::new();
    header::write(&mut header, &p, [[0; HASH_BYTES]; 2].into_iter()).expect("writes");
    let err = read(&header).unwrap_err().to_string();
    assert!(err.contains("bytes of weights missing"), "{err}");
}

#[test]
fn a_weight_read_in_runs_is_its_elements_in_order_in_memory_and_from_the_file() {
    let (_, w) = sample();
    let (_dir, path) = on_disk(&written());
    let file = ModelFile::open(&path).expect("opens");
    let sources: [&dyn WeightSource; 2] = [&w, &file];
    for source in sources {
        for run_len in [1, 2, 3, 10] {
            let runs: Vec<Vec<u64>> = (source.load_runs(1, run_len).expect("weight 1"))
                .map(|run| run.expect("a run").into_owned())
                .collect();
            let expected: Vec<Vec<u64>> = w.tensors[1]
                .data()
                .chunks(run_len)
                .map(<[u64]>::to_vec)
                .collect();
            assert_eq!(runs, expected, "runs of {run_len}");
        }
        assert!(matches!(
            source.load_runs(2, 1).err(),
            Some(ArtifactError::NoSuchWeight(2))
        ));
    }
}

#[test]
fn a_weight_changed_after_opening_fails_at_its_last_run() {
    // Its first run reads (the hash covers the whole weight), the last one fails, and
    // nothing follows the failure.
    let (bytes, _dir, path, file) = opened_then_weight_1_changed();
    let runs: Vec<_> = file.load_runs(1, 2).expect("weight 1").collect();
    assert_eq!(runs.len(), 2);
    assert!(runs[0].is_ok());
    assert!(matches!(runs[1], Err(ArtifactError::Changed(1))));
    // Cut short under it: the run that cannot be read fails and ends the runs.
    std::fs::write(&path, &bytes[..bytes.len() - 8]).expect("rewritten");
    let runs: Vec<_> = file.load_runs(1, 1).expect("weight 1").collect();
    assert_eq!(runs.len(), 3);
    assert!(matches!(runs[2], Err(ArtifactError::Changed(1))));
}
