//! Convolution as a matrix product (im2col), NCHW layout, with strides, padding,
//! dilations and groups (depthwise when groups = channels).
//!
//! The same routine serves the cleartext evaluator and the shares of the secure
//! protocol: convolution is bilinear, so it can be applied to shares term by term.

use crate::gemm;
use crate::size::{self, SizeError};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The index geometry of one 2-D convolution over a single image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvGeometry {
    pub in_channels: usize,
    pub in_height: usize,
    pub in_width: usize,
    pub out_channels: usize,
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    /// Top, left, bottom, right.
    pub pads: [usize; 4],
    pub dilations: [usize; 2],
    pub groups: usize,
}

impl ConvGeometry {
    /// Checks that every size derived from this geometry (padded extents, output,
    /// weights, the im2col matrix) is computable without overflow and within
    /// [`size::MAX_ELEMENTS`]. The other methods assume a checked geometry.
    pub fn check(&self) -> Result<(), SizeError> {
        let invalid = |reason| SizeError::Invalid {
            what: "convolution",
            reason,
        };
        if self.kernel.contains(&0) || self.strides.contains(&0) || self.dilations.contains(&0) {
            return Err(invalid("kernel, strides and dilations must be positive"));
        }
        if self.groups == 0
            || !self.in_channels.is_multiple_of(self.groups)
            || !self.out_channels.is_multiple_of(self.groups)
        {
            return Err(invalid("groups must divide the input and output channels"));
        }
        size::nonempty_elements(
            "the convolution input",
            &[self.in_channels, self.in_height, self.in_width],
        )?;
        let per_group = self.in_channels / self.groups;
        size::nonempty_elements(
            "the convolution weight",
            &[self.out_channels, per_group, self.kernel[0], self.kernel[1]],
        )?;
        for axis in 0..2 {
            let input = [self.in_height, self.in_width][axis];
            let padded = size::sum3(
                "the padded input",
                input,
                self.pads[axis],
                self.pads[axis + 2],
            )?;
            let span = (self.kernel[axis] - 1)
                .checked_mul(self.dilations[axis])
                .and_then(|s| s.checked_add(1))
                .ok_or(SizeError::Overflow {
                    what: "the dilated kernel",
                })?;
            if padded < span {
                return Err(invalid("the kernel is larger than the padded input"));
            }
        }
        let spatial = size::elements(
            "the convolution output",
            &[self.out_height(), self.out_width()],
        )?;
        size::elements("the convolution output", &[self.out_channels, spatial])?;
        size::elements("the im2col matrix", &[self.patch_len(), spatial])?;
        Ok(())
    }

    pub fn out_height(&self) -> usize {
        out_extent(
            self.in_height,
            self.kernel[0],
            self.strides[0],
            self.dilations[0],
            self.pads[0] + self.pads[2],
        )
    }

    pub fn out_width(&self) -> usize {
        out_extent(
            self.in_width,
            self.kernel[1],
            self.strides[1],
            self.dilations[1],
            self.pads[1] + self.pads[3],
        )
    }

    pub fn input_len(&self) -> usize {
        self.in_channels * self.in_height * self.in_width
    }

    pub fn output_len(&self) -> usize {
        self.out_channels * self.out_height() * self.out_width()
    }

    /// Elements of the weight tensor `[out_channels, in_channels / groups, kh, kw]`.
    pub fn weight_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }

    /// Length of one im2col column: one group's input channels times the kernel area.
    pub fn patch_len(&self) -> usize {
        self.in_channels / self.groups * self.kernel[0] * self.kernel[1]
    }

    /// Multiply-adds of one convolution.
    pub fn macs(&self) -> usize {
        self.output_len() * self.patch_len()
    }

    /// Whether the im2col matrix of a group is its input itself: a 1×1 kernel, stride
    /// 1, no padding (most of ResNet's convolutions).
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.strides == [1, 1] && self.pads == [0; 4]
    }

    /// One group's im2col matrix, borrowed where it is the input itself.
    fn patches<'a, T: Copy + Default>(&self, input: &'a [T], group: usize) -> Cow<'a, [T]> {
        if self.is_pointwise() {
            let len = self.in_channels / self.groups * self.in_height * self.in_width;
            Cow::Borrowed(&input[group * len..(group + 1) * len])
        } else {
            Cow::Owned(self.im2col(input, group))
        }
    }

    /// Rearranges one group's input into a `patch_len × (out_h·out_w)` matrix; padded
    /// positions are zero.
    fn im2col<T: Copy + Default>(&self, input: &[T], group: usize) -> Vec<T> {
        let (oh, ow) = (self.out_height(), self.out_width());
        let channels = self.in_channels / self.groups;
        let [kh, kw] = self.kernel;
        let mut cols = vec![T::default(); self.patch_len() * oh * ow];
        for c in 0..channels {
            let plane = &input[(group * channels + c) * self.in_height * self.in_width..]
                [..self.in_height * self.in_width];
            for ki in 0..kh {
                for kj in 0..kw {
                    let row = (c * kh + ki) * kw + kj;
                    let out_row = &mut cols[row * oh * ow..(row + 1) * oh * ow];
                    for y in 0..oh {
                        let iy = (y * self.strides[0] + ki * self.dilations[0]) as isize
                            - self.pads[0] as isize;
                        if iy < 0 || iy >= self.in_height as isize {
                            continue;
                        }
                        let src = &plane[iy as usize * self.in_width..][..self.in_width];
                        let dst = &mut out_row[y * ow..(y + 1) * ow];
                        let (first, stride) = (kj * self.dilations[1], self.strides[1]);
                        // Output columns x read input column first + x·stride − pad;
                        // those inside the input are a contiguous run [lo, hi).
                        let lo = self.pads[1].saturating_sub(first).div_ceil(stride).min(ow);
                        let hi = (self.in_width + self.pads[1])
                            .saturating_sub(first)
                            .div_ceil(stride)
                            .clamp(lo, ow);
                        if lo == hi {
                            continue;
                        }
                        let start = first + lo * stride - self.pads[1];
                        if stride == 1 {
                            dst[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                        } else {
                            let taken = src[start..].iter().step_by(stride);
                            for (d, &v) in dst[lo..hi].iter_mut().zip(taken) {
                                *d = v;
                            }
                        }
                    }
                }
            }
        }
        cols
    }
}

fn out_extent(input: usize, kernel: usize, stride: usize, dilation: usize, pad: usize) -> usize {
    let span = dilation * (kernel - 1) + 1;
    (input + pad).saturating_sub(span) / stride + 1
}

/// Convolves one image (`[C, H, W]`, flattened) with `weights`
/// (`[out_channels, in_channels / groups, kh, kw]`), modulo 2^64. No bias.
pub fn conv2d(geometry: &ConvGeometry, input: &[u64], weights: &[u64]) -> Vec<u64> {
    assert_eq!(input.len(), geometry.input_len(), "conv input length");
    assert_eq!(weights.len(), geometry.weight_len(), "conv weight length");
    let spatial = geometry.out_height() * geometry.out_width();
    let per_group_out = geometry.out_channels / geometry.groups;
    let patch = geometry.patch_len();
    let mut out = vec![0u64; geometry.output_len()];
    for g in 0..geometry.groups {
        let cols = geometry.patches(input, g);
        let w = &weights[g * per_group_out * patch..(g + 1) * per_group_out * patch];
        let o = &mut out[g * per_group_out * spatial..(g + 1) * per_group_out * spatial];
        gemm::matmul_into(w, &cols, o, per_group_out, patch, spatial);
    }
    out
}

/// The same convolution over reals, for the float reference of a program.
pub fn conv2d_real(geometry: &ConvGeometry, input: &[f64], weights: &[f64]) -> Vec<f64> {
    let spatial = geometry.out_height() * geometry.out_width();
    let per_group_out = geometry.out_channels / geometry.groups;
    let patch = geometry.patch_len();
    let mut out = vec![0.0; geometry.output_len()];
    for g in 0..geometry.groups {
        let cols = geometry.patches(input, g);
        let w = &weights[g * per_group_out * patch..(g + 1) * per_group_out * patch];
        let o = &mut out[g * per_group_out * spatial..(g + 1) * per_group_out * spatial];
        gemm::matmul_real_into(w, &cols, o, per_group_out, patch, spatial);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(
        groups: usize,
        pads: [usize; 4],
        strides: [usize; 2],
        dilations: [usize; 2],
    ) -> ConvGeometry {
        ConvGeometry {
            in_channels: 4,
            in_height: 7,
            in_width: 6,
            out_channels: 4,
            kernel: [3, 2],
            strides,
            pads,
            dilations,
            groups,
        }
    }

    /// Direct definition of convolution, independent of im2col.
    fn direct(g: &ConvGeometry, x: &[u64], w: &[u64]) -> Vec<u64> {
        let (oh, ow) = (g.out_height(), g.out_width());
        let cin = g.in_channels / g.groups;
        let cout = g.out_channels / g.groups;
        let mut out = vec![0u64; g.output_len()];
        for o in 0..g.out_channels {
            let group = o / cout;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = 0u64;
                    for c in 0..cin {
                        for ki in 0..g.kernel[0] {
                            for kj in 0..g.kernel[1] {
                                let iy = (y * g.strides[0] + ki * g.dilations[0]) as isize
                                    - g.pads[0] as isize;
                                let ix = (xo * g.strides[1] + kj * g.dilations[1]) as isize
                                    - g.pads[1] as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= g.in_height as isize
                                    || ix >= g.in_width as isize
                                {
                                    continue;
                                }
                                let xv = x[((group * cin + c) * g.in_height + iy as usize)
                                    * g.in_width
                                    + ix as usize];
                                let wv = w[((o * cin + c) * g.kernel[0] + ki) * g.kernel[1] + kj];
                                acc = acc.wrapping_add(xv.wrapping_mul(wv));
                            }
                        }
                    }
                    out[(o * oh + y) * ow + xo] = acc;
                }
            }
        }
        out
    }

    #[test]
    fn im2col_convolution_matches_direct_definition() {
        let mut prg = crate::Prg::new(crate::Seed::from_u64(9));
        for groups in [1, 2, 4] {
            for pads in [[0, 0, 0, 0], [1, 0, 2, 1]] {
                for strides in [[1, 1], [2, 3]] {
                    for dilations in [[1, 1], [2, 1]] {
                        let g = geometry(groups, pads, strides, dilations);
                        let x = prg.u64s(g.input_len());
                        let w = prg.u64s(g.weight_len());
                        assert_eq!(conv2d(&g, &x, &w), direct(&g, &x, &w), "{g:?}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_checked_geometry_matches_direct_definition(
            (groups, per_group_in, per_group_out) in (1usize..4, 1usize..3, 1usize..4),
            (in_height, in_width) in (1usize..8, 1usize..8),
            kernel in proptest::array::uniform2(1usize..4),
            strides in proptest::array::uniform2(1usize..4),
            pads in proptest::array::uniform4(0usize..5),
            dilations in proptest::array::uniform2(1usize..3),
            seed: u64,
        ) {
            // Pads wider than the kernel (rows and columns all padding), pointwise
            // kernels (no im2col), strided and dilated gathers.
            let g = ConvGeometry {
                in_channels: groups * per_group_in,
                in_height,
                in_width,
                out_channels: groups * per_group_out,
                kernel,
                strides,
                pads,
                dilations,
                groups,
            };
            proptest::prop_assume!(g.check().is_ok());
            let mut prg = crate::Prg::new(crate::Seed::from_u64(seed));
            let (x, w) = (prg.u64s(g.input_len()), prg.u64s(g.weight_len()));
            proptest::prop_assert_eq!(conv2d(&g, &x, &w), direct(&g, &x, &w), "{:?}", g);
        }
    }

    #[test]
    fn hostile_geometries_are_refused_without_overflow() {
        let base = geometry(1, [0; 4], [1, 1], [1, 1]);
        assert_eq!(base.check(), Ok(()));
        let cases = [
            ConvGeometry {
                in_height: usize::MAX,
                ..base.clone()
            },
            ConvGeometry {
                pads: [usize::MAX, 0, 1, 0],
                ..base.clone()
            },
            ConvGeometry {
                dilations: [usize::MAX, 1],
                ..base.clone()
            },
            ConvGeometry {
                out_channels: 1 << 40,
                ..base.clone()
            },
            ConvGeometry {
                kernel: [8, 2],
                ..base.clone()
            },
            ConvGeometry {
                groups: 3,
                ..base.clone()
            },
            ConvGeometry {
                in_channels: 0,
                groups: 1,
                ..base.clone()
            },
        ];
        for g in cases {
            assert!(g.check().is_err(), "{g:?}");
        }
    }

    #[test]
    fn output_extent_follows_onnx_formula() {
        let g = geometry(1, [1, 1, 1, 1], [2, 2], [1, 1]);
        // floor((7 + 2 - 3) / 2) + 1 = 4; floor((6 + 2 - 2) / 2) + 1 = 4.
        assert_eq!((g.out_height(), g.out_width()), (4, 4));
    }
}
