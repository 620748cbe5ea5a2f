//! Smooth activations (Sigmoid, Tanh, Softplus) by a piecewise-linear spline with
//! saturation, built from kernels the protocols have.
//!
//! MiniONN (Liu et al., CCS 2017, §5.3) and SecureML (Mohassel and Zhang, S&P 2017,
//! §4.3) replace the sigmoid by a piecewise-linear function so that it costs
//! comparisons rather than a polynomial; we do the same with more pieces. On
//! `[lo, hi]` with knots `t₀ < … < t_{K−1}`, the interpolant of f is
//!
//! `g(x) = f(t₀) + Σₖ cₖ · ReLU(x − tₖ)`, with `c₀ = s₀`, `cₖ = sₖ − sₖ₋₁`,
//! `c_{K−1} = R − s_{K−2}`
//!
//! for the slopes `sₖ` between knots and the slope `R` of f's right asymptote (0 for
//! Sigmoid and Tanh, 1 for Softplus): left of t₀ it is the constant f(t₀), right of the
//! last knot it continues with slope R, so it saturates like f. One batch of K
//! comparisons per element (the shifted copies `x − tₖ` side by side), then one
//! product with the public coefficients. The coefficients are encoded at
//! [`COEFFICIENT_BITS`] and the last is set so that they sum to R exactly in fixed
//! point: beyond the knots the slope is exactly R, so no rounding error grows with |x|.
//!
//! Knots are placed where f bends: equally spaced in `∫ √|f″|` (the spacing that
//! equalises the interpolation error h²·|f″|/8 between pieces), so 24 knots do what a
//! uniform grid needs ~60 for. The error of the spline against f is measured in the
//! tests below over [−3·hi, 3·hi] and documented in DESIGN.md; the float reference and
//! the cleartext run compute the spline itself, so the scale sweep sees what the
//! parties compute.

use super::Lowering;
use crate::CompileError;
use cryptflow_ir::{Kernel, Node, SlotId};

/// The fixed-point bits of the spline's coefficients.
pub(crate) const COEFFICIENT_BITS: u32 = 20;

/// Knots per spline.
pub(crate) const KNOTS: usize = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Smooth {
    Sigmoid,
    Tanh,
    Softplus,
}

impl Smooth {
    pub(crate) fn eval(self, x: f64) -> f64 {
        match self {
            Smooth::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Smooth::Tanh => x.tanh(),
            // ln(1 + eˣ) without overflow for large x.
            Smooth::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
        }
    }

    /// The interval the knots span: beyond it f is within ~1e-3 of its asymptote.
    fn range(self) -> (f64, f64) {
        match self {
            Smooth::Sigmoid | Smooth::Softplus => (-7.0, 7.0),
            Smooth::Tanh => (-3.5, 3.5),
        }
    }

    fn right_slope(self) -> f64 {
        match self {
            Smooth::Sigmoid | Smooth::Tanh => 0.0,
            Smooth::Softplus => 1.0,
        }
    }
}

/// `g(x) = base + Σₖ coefficients[k] · ReLU(x − knots[k])`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spline {
    pub knots: Vec<f64>,
    pub base: f64,
    pub coefficients: Vec<f64>,
}

impl Spline {
    pub(crate) fn new(f: Smooth) -> Spline {
        let (lo, hi) = f.range();
        let knots = knots(f, lo, hi, KNOTS);
        let values: Vec<f64> = knots.iter().map(|&t| f.eval(t)).collect();
        let slopes: Vec<f64> = (0..KNOTS - 1)
            .map(|k| (values[k + 1] - values[k]) / (knots[k + 1] - knots[k]))
            .collect();
        let unit = f64::from(1u32 << COEFFICIENT_BITS);
        let round = |v: f64| (v * unit).round() / unit;
        let mut coefficients: Vec<f64> = (0..KNOTS - 1)
            .map(|k| round(slopes[k] - if k == 0 { 0.0 } else { slopes[k - 1] }))
            .collect();
        // The last makes the slopes sum to R exactly (all are multiples of 2^-bits).
        coefficients.push(f.right_slope() - coefficients.iter().sum::<f64>());
        Spline {
            knots,
            base: values[0],
            coefficients,
        }
    }

    /// The float twin of what the parties compute.
    #[cfg(test)]
    pub(crate) fn eval(&self, x: f64) -> f64 {
        self.knots
            .iter()
            .zip(&self.coefficients)
            .fold(self.base, |acc, (&t, &c)| acc + c * (x - t).max(0.0))
    }
}

/// `count` knots on [lo, hi], equally spaced in ∫ √(|f″| + floor).
fn knots(f: Smooth, lo: f64, hi: f64, count: usize) -> Vec<f64> {
    const GRID: usize = 4096;
    let h = (hi - lo) / GRID as f64;
    let bend = |x: f64| {
        let second = (f.eval(x + h) - 2.0 * f.eval(x) + f.eval(x - h)) / (h * h);
        (second.abs() + 1e-3).sqrt()
    };
    let mut cumulative = vec![0.0; GRID + 1];
    for i in 0..GRID {
        let x = lo + (i as f64 + 0.5) * h;
        cumulative[i + 1] = cumulative[i] + bend(x) * h;
    }
    let total = cumulative[GRID];
    let mut out = Vec::with_capacity(count);
    let mut i = 0;
    for k in 0..count {
        let target = total * k as f64 / (count - 1) as f64;
        while i < GRID && cumulative[i + 1] < target {
            i += 1;
        }
        let x = if k + 1 == count {
            hi
        } else {
            lo + i as f64 * h
        };
        out.push(x);
    }
    out
}

impl Lowering<'_> {
    /// f of activation input 0 as its spline: K shifted copies, one ReLU batch, one
    /// product with the coefficients.
    pub(super) fn smooth(
        &mut self,
        node: &Node,
        f: Smooth,
        shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        let spline = Spline::new(f);
        let x = self.activation(node, 0)?;
        let n: usize = shape.iter().product();
        let k = spline.knots.len();
        let row = self.emit(node, Kernel::Reshape, vec![x], vec![1, n]);
        let copies = self.emit(node, Kernel::Concat { axis: 0 }, vec![row; k], vec![k, n]);
        let shifts: Vec<f32> = spline
            .knots
            .iter()
            .flat_map(|&t| std::iter::repeat_n(-t as f32, n))
            .collect();
        let s = self.scale.bits();
        let shifts = self.weight(node, "spline knots", &shifts, vec![k, n], s)?;
        let shifted = self.emit(
            node,
            Kernel::AddConstant { weight: shifts },
            vec![copies],
            vec![k, n],
        );
        let relus = self.emit(node, Kernel::Relu, vec![shifted], vec![k, n]);
        let columns = self.emit(
            node,
            Kernel::Transpose { perm: vec![1, 0] },
            vec![relus],
            vec![n, k],
        );
        let coefficients: Vec<f32> = spline.coefficients.iter().map(|&c| c as f32).collect();
        let weight = self.weight(
            node,
            "spline coefficients",
            &coefficients,
            vec![1, k],
            COEFFICIENT_BITS,
        )?;
        let base = self.weight(
            node,
            "spline base",
            &[spline.base as f32],
            vec![1],
            s + COEFFICIENT_BITS,
        )?;
        let product = Kernel::MatMul {
            rows: n,
            inner: k,
            out: 1,
            weight,
            bias: Some(base),
        };
        let wide = self.emit(node, product, vec![columns], vec![n, 1]);
        let bits = COEFFICIENT_BITS;
        let narrow = self.emit(node, Kernel::Truncate { bits }, vec![wide], vec![n, 1]);
        Ok(self.emit(node, Kernel::Reshape, vec![narrow], shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest |spline − f| on a fine grid over [−3·hi, 3·hi].
    fn max_error(f: Smooth) -> f64 {
        let spline = Spline::new(f);
        let reach = 3.0 * f.range().1;
        (0..=60_000)
            .map(|i| -reach + 2.0 * reach * f64::from(i) / 60_000.0)
            .map(|x| (spline.eval(x) - f.eval(x)).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn each_spline_is_within_its_documented_error_everywhere() {
        // DESIGN.md's table: the spline's own error, before fixed-point rounding.
        for (f, bound) in [
            (Smooth::Sigmoid, 1.5e-3),
            (Smooth::Tanh, 3e-3),
            (Smooth::Softplus, 2.5e-3),
        ] {
            let error = max_error(f);
            assert!(error <= bound, "{f:?}: {error:e} > {bound:e}");
            assert!(error > bound / 20.0, "{f:?}: {error:e}; tighten the bound");
        }
    }

    #[test]
    fn the_spline_saturates_with_the_functions_slope() {
        let s = Spline::new(Smooth::Softplus);
        let slope = s.eval(1001.0) - s.eval(1000.0);
        assert_eq!(slope, 1.0, "right of the knots the slope is 1 exactly");
        let sigmoid = Spline::new(Smooth::Sigmoid);
        assert!((sigmoid.eval(1e6) - sigmoid.eval(100.0)).abs() < 1e-6);
        assert_eq!(sigmoid.eval(-1e6), sigmoid.base);
        let knots = &sigmoid.knots;
        assert!(knots.windows(2).all(|w| w[0] < w[1]), "{knots:?}");
        // Denser where the sigmoid bends (|x| ≈ 1.3) than in its tails.
        let near = knots.iter().filter(|t| t.abs() < 2.5).count();
        assert!(near > KNOTS / 3, "{knots:?}");
    }
}
