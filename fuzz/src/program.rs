//! Programs as a peer sends them: P1 and P2 decode P0's postcard message and validate it
//! (`session::receive_program` in the runtime); then every party runs it.

use cryptflow_ir::{Kernel, Program, Weights};
use cryptflow_ring::Tensor;
use cryptflow_runtime::{decode_output, plain};

/// The runtime's program reception: postcard bytes → `Program` → `validate`.
/// (`session::receive_program` is private to the runtime and takes a transport; these
/// are its two steps, without the transport.)
pub fn program_receive(data: &[u8]) {
    receive(data, true)
}

/// [`program_receive`] without the guards for known open bugs (see `known.rs`).
pub fn program_receive_unguarded(data: &[u8]) {
    receive(data, false)
}

fn receive(data: &[u8], guarded: bool) {
    if let Ok(program) = postcard::from_bytes::<Program>(data) {
        let _ = guarded;
        let _ = program.validate();
    }
}

/// The largest slot or weight (elements) that the run target executes.
pub const MAX_ELEMENTS: usize = 1 << 16;
/// The most element operations (multiply-adds, window reads, copies) it executes.
pub const MAX_WORK: usize = 1 << 22;

/// A postcard `Program` followed by bytes for its weights and input. Whatever validates
/// (and is small enough to run in milliseconds) must run in the clear without a panic,
/// give an output of the output slot's size, and decode as the client decodes it.
pub fn program_run(data: &[u8]) {
    run(data, true)
}

/// [`program_run`] without the guards for known open bugs (see `known.rs`).
pub fn program_run_unguarded(data: &[u8]) {
    run(data, false)
}

fn run(data: &[u8], guarded: bool) {
    let Ok((program, rest)) = postcard::take_from_bytes::<Program>(data) else {
        return;
    };
    let _ = guarded;
    if program.validate().is_err() {
        return;
    }
    // Validation bounds no size: a peer can send a valid program of any size. Only
    // small ones are run here (see the README's findings).
    if work(&program).is_none_or(|w| w > MAX_WORK) {
        return;
    }
    let mut words = Words::new(rest);
    let tensors = program
        .weight_shapes
        .iter()
        .map(|shape| {
            let data = words.take(shape.iter().product());
            Tensor::new(shape.clone(), data).expect("sized from its own shape")
        })
        .collect();
    let weights = Weights { tensors };
    let input = words.take(program.slot_len(program.input));
    let output = plain::run(&program, &weights, input);
    assert_eq!(
        output.len(),
        program.slot_len(program.output),
        "the output differs in size from the output slot"
    );
    let _ = decode_output(&program, &output);
}

/// A bound on the work of running `program`, or `None` when a slot or weight is larger
/// than [`MAX_ELEMENTS`] (or its size overflows).
pub(crate) fn work(program: &Program) -> Option<usize> {
    let len = |shape: &Vec<usize>| {
        shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= MAX_ELEMENTS)
    };
    let slots: Vec<usize> = program.slot_shapes.iter().map(len).collect::<Option<_>>()?;
    let weights: Vec<usize> = program
        .weight_shapes
        .iter()
        .map(len)
        .collect::<Option<_>>()?;
    let mut total = 0usize;
    for ins in &program.instructions {
        let input: usize = ins.inputs.iter().map(|&s| slots[s]).sum();
        let output = slots[ins.output];
        let cost = match &ins.kernel {
            // One multiply-add per output element and weight element of its patch.
            Kernel::Conv { weight, .. } | Kernel::MatMul { weight, .. } => {
                output.checked_mul(weights[*weight].max(1))?
            }
            // Every window visits its whole kernel area, padding included.
            Kernel::MaxPool(g) | Kernel::AvgPool { geometry: g, .. } => {
                output.checked_mul(g.kernel[0].checked_mul(g.kernel[1])?)?
            }
            _ => input.checked_add(output)?,
        };
        total = total.checked_add(cost.max(1))?;
    }
    Some(total)
}

/// Ring words for weights and inputs, read cyclically from the fuzzer's bytes (zeros if
/// there are none), so the fuzzer controls the values without having to size them.
struct Words<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Words<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Words { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Vec<u64> {
        if self.bytes.is_empty() {
            return vec![0; n];
        }
        (0..n)
            .map(|_| {
                let mut word = [0u8; 8];
                for b in &mut word {
                    *b = self.bytes[self.at % self.bytes.len()];
                    self.at += 1;
                }
                u64::from_le_bytes(word)
            })
            .collect()
    }
}
