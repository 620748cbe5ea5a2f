//! Comparison widths from calibration: each comparing step (ReLU, MaxPool, Clip,
//! LeakyRelu) gets the narrowest protocol width that holds every value it compared on
//! the calibration inputs, times a margin. A comparison on w bits costs about w/64 of
//! the 64-bit one in traffic and work (protocol `relu` module), and it is exact while
//! |x| < 2^(w−1); outside that it reads the sign of x mod 2^w (DESIGN.md, "Comparison
//! width"). Not one of `compile`'s passes: only a caller with calibration data (the
//! CLI) can run it, after compiling.

use cryptflow_ir::Program;

/// Bits of headroom above the largest compared value calibration saw: a width is
/// chosen only if values 2^MARGIN_BITS = 256 times larger still compare exactly.
pub const MARGIN_BITS: u32 = 8;

/// The widths the protocol runs, narrowest first (protocol `relu::Width::new` accepts
/// the same; the compiler does not depend on the protocol, and `Program::validate`
/// refuses any other).
const WIDTHS: [u32; 4] = [8, 16, 32, 64];

/// The narrowest width exact for every |x| < 2^`magnitude_bits`.
pub fn width_covering(magnitude_bits: u32) -> u32 {
    WIDTHS
        .into_iter()
        .find(|&w| magnitude_bits < w)
        .unwrap_or(64)
}

/// The width for a step whose compared values reached `max_abs` (real units) on
/// calibration, at `scale` fractional bits: the bits of `max_abs · 2^scale`, the
/// margin, and the sign. A magnitude that is not finite keeps the exact width.
pub fn width_for(max_abs: f64, scale: u32) -> u32 {
    let fixed = max_abs * 2f64.powi(scale as i32);
    if !fixed.is_finite() || fixed >= 2f64.powi(62) {
        return 64;
    }
    // Bits to hold |x| ≤ fixed: ⌈log₂(fixed + 1)⌉.
    let bits = (fixed.max(0.0) + 1.0).log2().ceil() as u32;
    width_covering(bits + MARGIN_BITS)
}

/// Sets each comparing step's width from `max_abs[step]` (real units; one per
/// instruction, ignored for steps that do not compare). Returns how many comparing
/// steps got each width, narrowest first.
///
/// # Panics
/// If `max_abs` does not have one entry per instruction (a programming error).
pub fn narrow(program: &mut Program, max_abs: &[f64]) -> Vec<(u32, usize)> {
    assert_eq!(
        max_abs.len(),
        program.instructions.len(),
        "one magnitude per step"
    );
    let scale = program.scale.bits();
    let mut counts: Vec<(u32, usize)> = WIDTHS.iter().map(|&w| (w, 0)).collect();
    for (ins, &m) in program.instructions.iter_mut().zip(max_abs) {
        if !ins.kernel.compares() {
            continue;
        }
        ins.comparison_bits = width_for(m, scale);
        if let Some(c) = counts.iter_mut().find(|(w, _)| *w == ins.comparison_bits) {
            c.1 += 1;
        }
    }
    counts.retain(|(_, n)| *n > 0);
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptflow_ir::{Instruction, Kernel};
    use cryptflow_ring::Scale;

    #[test]
    fn the_width_holds_the_value_the_margin_and_the_sign() {
        assert_eq!(width_covering(0), 8);
        assert_eq!(width_covering(7), 8);
        assert_eq!(width_covering(8), 16);
        assert_eq!(width_covering(31), 32);
        assert_eq!(width_covering(32), 64);
        assert_eq!(width_covering(500), 64);
        // 10.0 at scale 12 is 40960 < 2^16: 16 bits, 8 of margin, the sign: 32.
        assert_eq!(width_for(10.0, 12), 32);
        // 2^15 at scale 8 needs 24 bits, 32 with the margin: 64.
        assert_eq!(width_for(32768.0, 8), 64);
        // Nothing seen: the margin alone.
        assert_eq!(width_for(0.0, 12), 16);
        assert_eq!(width_for(0.01, 0), 16);
        assert_eq!(width_for(f64::INFINITY, 12), 64);
        assert_eq!(width_for(f64::NAN, 12), 64);
        assert_eq!(width_for(1e30, 12), 64);
    }

    #[test]
    fn a_value_at_the_edge_of_a_width_moves_to_the_next_one() {
        // 2^(23 − 12) − 2^−12 at scale 12 is 2^23 − 1: 23 bits, + 8 = 31 < 32.
        let below = 2f64.powi(11) - 2f64.powi(-12);
        assert_eq!(width_for(below, 12), 32);
        // 2^11 is 2^23: 24 bits, + 8 = 32: 64.
        assert_eq!(width_for(2f64.powi(11), 12), 64);
    }

    fn step(kernel: Kernel) -> Instruction {
        Instruction {
            kernel,
            inputs: vec![0],
            output: 0,
            free: vec![],
            comparison_bits: 64,
            source: "s".into(),
        }
    }

    #[test]
    fn only_comparing_steps_are_narrowed() {
        let mut program = Program {
            scale: Scale::new(12).expect("a scale"),
            softmax: None,
            slot_shapes: vec![vec![1]],
            input: 0,
            output: 0,
            weight_shapes: vec![],
            instructions: vec![
                step(Kernel::Relu),
                step(Kernel::Truncate { bits: 12 }),
                step(Kernel::Clip {
                    min: Some(0.0),
                    max: Some(6.0),
                }),
                step(Kernel::LeakyRelu { alpha: 0.1 }),
            ],
        };
        let counts = narrow(&mut program, &[1.0, 1.0, 1e9, 3.0]);
        let widths: Vec<u32> = program
            .instructions
            .iter()
            .map(|i| i.comparison_bits)
            .collect();
        assert_eq!(widths, [32, 64, 64, 32]);
        assert_eq!(counts, [(32, 2), (64, 1)]);
    }
}
