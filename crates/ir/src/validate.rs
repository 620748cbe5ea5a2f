//! Structural checks of a [`Program`] received from another party, so that a malformed
//! program is an error rather than an out-of-bounds panic.

use crate::program::{Kernel, Program};
use cryptflow_ring::size;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
#[error("invalid program at step {step} ({kernel}): {reason}")]
pub struct InvalidProgram {
    pub step: usize,
    pub kernel: &'static str,
    pub reason: String,
}

impl Program {
    /// Checks slot and weight references, define-before-use, and that every kernel's
    /// geometry agrees with the sizes of its slots and weights.
    pub fn validate(&self) -> Result<(), InvalidProgram> {
        let slots = self.slot_shapes.len();
        let fail = |step: usize, kernel: &'static str, reason: String| InvalidProgram {
            step,
            kernel,
            reason,
        };
        if self.input >= slots || self.output >= slots {
            return Err(fail(
                0,
                "program",
                "input or output slot out of range".into(),
            ));
        }
        // Every size below is computed from these, so they are checked first: no
        // product of dimensions can overflow or exceed the element cap afterwards.
        for (i, shape) in self.slot_shapes.iter().enumerate() {
            size::nonempty_elements("a slot", shape)
                .map_err(|e| fail(0, "program", format!("slot {i}: {e}")))?;
        }
        for (i, shape) in self.weight_shapes.iter().enumerate() {
            size::nonempty_elements("a weight", shape)
                .map_err(|e| fail(0, "program", format!("weight {i}: {e}")))?;
        }
        if let Some(axis) = self.softmax {
            if axis >= self.slot_shapes[self.output].len() {
                return Err(fail(
                    0,
                    "program",
                    format!("softmax axis {axis} is not an axis of the output"),
                ));
            }
        }
        let mut live = vec![false; slots];
        live[self.input] = true;
        for (step, ins) in self.instructions.iter().enumerate() {
            let name = ins.kernel.name();
            let err = |reason: String| fail(step, name, reason);
            let refs = ins.inputs.iter().chain([&ins.output]).chain(&ins.free);
            if refs.clone().any(|&s| s >= slots) {
                return Err(err("slot out of range".into()));
            }
            if !matches!(ins.comparison_bits, 8 | 16 | 32 | 64) {
                return Err(err(format!(
                    "comparison width {} is not 8, 16, 32 or 64 bits",
                    ins.comparison_bits
                )));
            }
            if let Some(&s) = ins.inputs.iter().find(|&&s| !live[s]) {
                return Err(err(format!(
                    "slot {s} is read before it is written or after it is freed"
                )));
            }
            let arity = match ins.kernel {
                Kernel::Add | Kernel::Sub | Kernel::Mul => 2,
                Kernel::Concat { .. } => ins.inputs.len().max(1),
                _ => 1,
            };
            if ins.inputs.len() != arity {
                return Err(err(format!(
                    "expects {arity} inputs, has {}",
                    ins.inputs.len()
                )));
            }
            let in_len = self.slot_len(ins.inputs[0]);
            let out_len = self.slot_len(ins.output);
            let weight_len = |w: usize| -> Result<usize, InvalidProgram> {
                self.weight_shapes
                    .get(w)
                    .map(|s| s.iter().product())
                    .ok_or_else(|| err(format!("weight {w} out of range")))
            };
            let (expected_in, expected_out) = match &ins.kernel {
                Kernel::Conv {
                    geometry: g,
                    weight,
                    bias,
                } => {
                    g.check().map_err(|e| err(e.to_string()))?;
                    if weight_len(*weight)? != g.weight_len() {
                        return Err(err("weight size differs from the geometry".into()));
                    }
                    if let Some(b) = bias {
                        if weight_len(*b)? != g.out_channels {
                            return Err(err("bias size differs from the output channels".into()));
                        }
                    }
                    (g.input_len(), g.output_len())
                }
                Kernel::MatMul {
                    rows,
                    inner,
                    out,
                    weight,
                    bias,
                } => {
                    let product = |a: usize, b: usize| {
                        size::elements("a matrix", &[a, b]).map_err(|e| err(e.to_string()))
                    };
                    if weight_len(*weight)? != product(*inner, *out)? {
                        return Err(err("weight size differs from inner × out".into()));
                    }
                    if let Some(b) = bias {
                        if weight_len(*b)? != *out {
                            return Err(err("bias size differs from out".into()));
                        }
                    }
                    (product(*rows, *inner)?, product(*rows, *out)?)
                }
                Kernel::Truncate { bits } if *bits >= 64 => {
                    return Err(err("truncation by 64 bits or more".into()))
                }
                Kernel::MaxPool(g) | Kernel::AvgPool { geometry: g, .. } => {
                    g.check().map_err(|e| err(e.to_string()))?;
                    if let Kernel::AvgPool { divisors, .. } = &ins.kernel {
                        let plane = g.out_height() * g.out_width();
                        if divisors.len() != plane || divisors.contains(&0) {
                            return Err(err(
                                "one positive divisor per output position expected".into()
                            ));
                        }
                    }
                    (g.input_len(), g.output_len())
                }
                Kernel::Add | Kernel::Sub => {
                    if self.slot_len(ins.inputs[1]) != in_len {
                        return Err(err("operands differ in size".into()));
                    }
                    (in_len, in_len)
                }
                Kernel::Mul => {
                    let (x, y) = (ins.inputs[0], ins.inputs[1]);
                    let (x_shape, y_shape) = (&self.slot_shapes[x], &self.slot_shapes[y]);
                    if !cryptflow_ring::layout::broadcasts(y_shape, x_shape)
                        || self.slot_shapes[ins.output] != *x_shape
                    {
                        return Err(err(format!(
                            "the second factor's shape {y_shape:?} does not broadcast to the first's {x_shape:?}, or the output's differs"
                        )));
                    }
                    (in_len, in_len)
                }
                Kernel::Scale { weight } => {
                    if weight_len(*weight)? != in_len {
                        return Err(err("the constant's size differs from the input's".into()));
                    }
                    (in_len, in_len)
                }
                Kernel::Concat { axis } => {
                    let first = &self.slot_shapes[ins.inputs[0]];
                    let fits = |s: &Vec<usize>| {
                        s.len() == first.len()
                            && *axis < s.len()
                            && s.iter()
                                .zip(first)
                                .enumerate()
                                .all(|(i, (a, b))| i == *axis || a == b)
                    };
                    if !ins.inputs.iter().all(|&i| fits(&self.slot_shapes[i])) {
                        return Err(err(
                            "inputs do not agree outside the concatenation axis".into()
                        ));
                    }
                    (in_len, ins.inputs.iter().map(|&i| self.slot_len(i)).sum())
                }
                Kernel::Transpose { perm } => {
                    let shape = &self.slot_shapes[ins.inputs[0]];
                    let mut seen = vec![false; shape.len()];
                    if perm.len() != shape.len()
                        || perm
                            .iter()
                            .any(|&p| p >= shape.len() || std::mem::replace(&mut seen[p], true))
                    {
                        return Err(err("perm is not a permutation of the input's axes".into()));
                    }
                    let permuted: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
                    if permuted != self.slot_shapes[ins.output] {
                        return Err(err(
                            "the output shape is not the permuted input shape".into()
                        ));
                    }
                    (in_len, in_len)
                }
                Kernel::Pad { pads, value } => {
                    let shape = &self.slot_shapes[ins.inputs[0]];
                    let rank = shape.len();
                    let padded: Option<Vec<usize>> = (pads.len() == 2 * rank)
                        .then(|| {
                            (0..rank)
                                .map(|i| shape[i].checked_add(pads[i])?.checked_add(pads[rank + i]))
                                .collect()
                        })
                        .flatten();
                    if padded.as_ref() != Some(&self.slot_shapes[ins.output]) || !value.is_finite()
                    {
                        return Err(err(
                            "pads do not turn the input shape into the output shape".into(),
                        ));
                    }
                    (in_len, out_len)
                }
                Kernel::Clip { min, max } => {
                    let bad = |v: &Option<f32>| v.is_some_and(|v| !v.is_finite());
                    if bad(min) || bad(max) || matches!((min, max), (Some(a), Some(b)) if a > b) {
                        return Err(err("bounds must be finite with min ≤ max".into()));
                    }
                    (in_len, in_len)
                }
                Kernel::LeakyRelu { alpha } if !alpha.is_finite() => {
                    return Err(err("alpha must be finite".into()))
                }
                Kernel::AddConstant { weight } => (weight_len(*weight)?, in_len),
                Kernel::Slice { axes } => {
                    let shape = &self.slot_shapes[ins.inputs[0]];
                    let counts: Vec<usize> = axes.iter().map(|a| a.count).collect();
                    if axes.len() != shape.len()
                        || !axes.iter().zip(shape).all(|(a, &d)| a.fits(d))
                        || counts != self.slot_shapes[ins.output]
                    {
                        return Err(err(
                            "the slice does not fit the input, or its counts are not the output's shape".into(),
                        ));
                    }
                    (in_len, out_len)
                }
                _ => (in_len, in_len),
            };
            if in_len != expected_in || out_len != expected_out {
                return Err(err(format!(
                    "slot sizes {in_len} → {out_len} differ from the kernel's {expected_in} → {expected_out}"
                )));
            }
            live[ins.output] = true;
            for &s in &ins.free {
                live[s] = false;
            }
        }
        if !live[self.output] {
            return Err(fail(
                self.instructions.len(),
                "program",
                "the output slot is never written, or freed".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Instruction, Kernel, Program};
    use cryptflow_ring::Scale;

    fn relu_chain() -> Program {
        let step = |i: usize| Instruction {
            kernel: Kernel::Relu,
            inputs: vec![i],
            output: i + 1,
            free: vec![i],
            comparison_bits: 64,
            source: format!("r{i}"),
        };
        Program {
            scale: Scale::new(12).expect("valid"),
            softmax: None,
            slot_shapes: vec![vec![4]; 3],
            input: 0,
            output: 2,
            weight_shapes: vec![],
            instructions: vec![step(0), step(1)],
        }
    }

    #[test]
    fn a_well_formed_program_passes() {
        assert_eq!(relu_chain().validate(), Ok(()));
    }

    #[test]
    fn reading_a_freed_slot_is_caught() {
        let mut p = relu_chain();
        p.instructions[1].inputs = vec![0];
        let err = p.validate().unwrap_err();
        assert_eq!(err.step, 1);
        assert!(err.reason.contains("after it is freed"), "{err}");
    }

    #[test]
    fn out_of_range_references_and_size_mismatches_are_caught() {
        let mut p = relu_chain();
        p.instructions[0].output = 9;
        assert!(p.validate().unwrap_err().reason.contains("out of range"));
        let mut p = relu_chain();
        p.slot_shapes[1] = vec![5];
        assert!(p.validate().unwrap_err().reason.contains("slot sizes"));
        let mut p = relu_chain();
        p.instructions[0].kernel = Kernel::AddConstant { weight: 3 };
        assert!(p
            .validate()
            .unwrap_err()
            .reason
            .contains("weight 3 out of range"));
    }

    #[test]
    fn a_comparison_width_that_is_not_a_protocol_width_is_caught() {
        for bits in [8, 16, 32, 64] {
            let mut p = relu_chain();
            p.instructions[0].comparison_bits = bits;
            assert_eq!(p.validate(), Ok(()), "{bits}");
        }
        for bits in [0, 1, 24, 63, 65, 128] {
            let mut p = relu_chain();
            p.instructions[1].comparison_bits = bits;
            let err = p.validate().expect_err("refused");
            assert_eq!(err.step, 1);
            assert!(err.reason.contains("comparison width"), "{err}");
        }
    }

    fn reason(p: &Program) -> String {
        p.validate().expect_err("must be refused").to_string()
    }

    #[test]
    fn empty_and_oversized_shapes_are_refused_without_overflow() {
        let mut p = relu_chain();
        p.slot_shapes[1] = vec![0];
        assert!(reason(&p).contains("empty"), "{}", reason(&p));
        let mut p = relu_chain();
        p.slot_shapes[1] = vec![usize::MAX, 2];
        assert!(reason(&p).contains("overflows"), "{}", reason(&p));
        let mut p = relu_chain();
        p.slot_shapes[1] = vec![1 << 20, 1 << 20];
        assert!(reason(&p).contains("limit"), "{}", reason(&p));
        let mut p = relu_chain();
        p.weight_shapes = vec![vec![usize::MAX, usize::MAX]];
        assert!(reason(&p).contains("weight 0"), "{}", reason(&p));
    }

    #[test]
    fn hostile_kernel_sizes_are_refused_without_overflow() {
        use cryptflow_ring::pool::PoolGeometry;
        let mut p = relu_chain();
        p.weight_shapes = vec![vec![2, 2]];
        p.instructions[0].kernel = Kernel::MatMul {
            rows: usize::MAX,
            inner: 2,
            out: 2,
            weight: 0,
            bias: None,
        };
        assert!(reason(&p).contains("overflows"), "{}", reason(&p));
        let mut p = relu_chain();
        p.instructions[0].kernel = Kernel::Pad {
            pads: vec![usize::MAX, 1],
            value: 0.0,
        };
        assert!(reason(&p).contains("pads"), "{}", reason(&p));
        // A window wholly in the padding (pad ≥ kernel) would be empty.
        let mut p = relu_chain();
        p.slot_shapes = vec![vec![1, 1, 2, 2], vec![1, 1, 2, 2], vec![1, 1, 2, 2]];
        p.instructions[0].kernel = Kernel::MaxPool(PoolGeometry {
            channels: 1,
            in_height: 2,
            in_width: 2,
            kernel: [1, 1],
            strides: [1, 1],
            pads: [0, 0, 1, 1],
            ceil_mode: false,
        });
        assert!(reason(&p).contains("padding"), "{}", reason(&p));
        let mut p = relu_chain();
        p.instructions[0].kernel = Kernel::AvgPool {
            geometry: PoolGeometry {
                channels: 4,
                in_height: 1,
                in_width: 1,
                kernel: [1, 1],
                strides: [1, 1],
                pads: [0; 4],
                ceil_mode: false,
            },
            divisors: vec![0],
        };
        assert!(reason(&p).contains("divisor"), "{}", reason(&p));
    }

    #[test]
    fn softmax_axis_must_be_an_axis_of_the_output() {
        let mut p = relu_chain();
        p.softmax = Some(0);
        assert_eq!(p.validate(), Ok(()));
        p.softmax = Some(1);
        assert!(reason(&p).contains("softmax axis 1"), "{}", reason(&p));
        p.softmax = Some(usize::MAX);
        assert!(reason(&p).contains("softmax"), "{}", reason(&p));
    }

    #[test]
    fn an_out_of_range_scale_does_not_decode() {
        let p = relu_chain();
        let mut bytes = postcard::to_stdvec(&p).expect("encodes");
        // The scale is the first field, one byte.
        assert_eq!(bytes[0], 12);
        assert_eq!(postcard::from_bytes::<Program>(&bytes), Ok(p));
        bytes[0] = 64;
        assert!(postcard::from_bytes::<Program>(&bytes).is_err());
    }
}
