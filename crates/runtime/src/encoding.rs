//! The client's side of the boundary between reals and the ring: checking and encoding
//! the input, decoding the output (and applying a trailing Softmax in the clear).

use crate::RuntimeError;
use cryptflow_ir::Program;
use cryptflow_ring::{fixed, Tensor};

/// Checks the input against the program and encodes it at the program's scale.
/// Shapes that differ only by leading 1s are accepted (`[784]` for `[1, 784]`).
pub fn encode_input(program: &Program, input: &Tensor<f32>) -> Result<Vec<u64>, RuntimeError> {
    let strip = |s: &[usize]| {
        s.iter()
            .copied()
            .skip_while(|&d| d == 1)
            .collect::<Vec<_>>()
    };
    let expected = program.input_shape();
    if strip(expected) != strip(input.shape()) {
        return Err(RuntimeError::InputShape {
            expected: expected.to_vec(),
            got: input.shape().to_vec(),
        });
    }
    input
        .data()
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            fixed::encode(f64::from(value), program.scale)
                .ok_or(RuntimeError::InputNotEncodable { index, value })
        })
        .collect()
}

/// Decodes a ring output at the program's scale, and applies a trailing Softmax in the
/// clear (the client learns the logits anyway; see [`Program::softmax`]).
pub fn decode_output(program: &Program, values: &[u64]) -> Tensor<f32> {
    let mut data: Vec<f32> = values
        .iter()
        .map(|&v| fixed::decode(v, program.scale) as f32)
        .collect();
    let shape = program.output_shape().to_vec();
    if let Some(axis) = program.softmax {
        softmax(&mut data, &shape, axis);
    }
    Tensor::new(shape, data).unwrap_or_else(|_| Tensor::zeros(vec![values.len()]))
}

/// Softmax over `axis` of a row-major tensor, in place (max-subtracted for stability).
fn softmax(data: &mut [f32], shape: &[usize], axis: usize) {
    let dim = shape.get(axis).copied().unwrap_or(1).max(1);
    let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let outer = data.len() / (dim * inner).max(1);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * dim + k) * inner + i;
            let max = (0..dim)
                .map(|k| data[at(k)])
                .fold(f32::NEG_INFINITY, f32::max);
            let mut total = 0.0;
            for k in 0..dim {
                data[at(k)] = (data[at(k)] - max).exp();
                total += data[at(k)];
            }
            for k in 0..dim {
                data[at(k)] /= total;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn softmax_normalises_each_row() {
        let mut v = vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0];
        super::softmax(&mut v, &[2, 3], 1);
        assert!((v[0..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((v[3] - 1.0 / 3.0).abs() < 1e-6);
        assert!(v[2] > v[1] && v[1] > v[0]);
    }
}
