//! The index geometry of pooling windows (NCHW, one image).

use crate::size::{self, SizeError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolGeometry {
    pub channels: usize,
    pub in_height: usize,
    pub in_width: usize,
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    /// Top, left, bottom, right.
    pub pads: [usize; 4],
    /// ONNX `ceil_mode`: the last window may hang over the (padded) input.
    pub ceil_mode: bool,
}

impl PoolGeometry {
    /// Checks that every size derived from this geometry is computable without
    /// overflow and within [`size::MAX_ELEMENTS`], and that every window holds at least
    /// one input element. The other methods assume a checked geometry.
    pub fn check(&self) -> Result<(), SizeError> {
        let invalid = |reason| SizeError::Invalid {
            what: "pooling",
            reason,
        };
        let [kh, kw] = self.kernel;
        if kh == 0 || kw == 0 || self.strides.contains(&0) {
            return Err(invalid("kernel and strides must be positive"));
        }
        // Pads smaller than the window keep every window on at least one input element
        // (the ceil-mode rule in `extent` drops a last window that would start in the
        // end padding).
        if self.pads[0] >= kh || self.pads[2] >= kh || self.pads[1] >= kw || self.pads[3] >= kw {
            return Err(invalid("padding must be smaller than the window"));
        }
        size::nonempty_elements(
            "the pooling input",
            &[self.channels, self.in_height, self.in_width],
        )?;
        size::capped("the pooling window", kh.saturating_mul(kw))?;
        let padded_h = size::sum3(
            "the padded height",
            self.in_height,
            self.pads[0],
            self.pads[2],
        )?;
        let padded_w = size::sum3(
            "the padded width",
            self.in_width,
            self.pads[1],
            self.pads[3],
        )?;
        if padded_h < kh || padded_w < kw {
            return Err(invalid("the window is larger than the padded input"));
        }
        let (oh, ow) = (self.out_height(), self.out_width());
        size::elements("the pooling output", &[self.channels, oh, ow])?;
        // `windows()` lists every window's indices.
        size::elements("the pooling windows", &[self.channels, oh, ow, kh, kw])?;
        Ok(())
    }

    pub fn out_height(&self) -> usize {
        extent(
            self.in_height,
            [self.pads[0], self.pads[2]],
            self.kernel[0],
            self.strides[0],
            self.ceil_mode,
        )
    }

    pub fn out_width(&self) -> usize {
        extent(
            self.in_width,
            [self.pads[1], self.pads[3]],
            self.kernel[1],
            self.strides[1],
            self.ceil_mode,
        )
    }

    pub fn input_len(&self) -> usize {
        self.channels * self.in_height * self.in_width
    }

    pub fn output_len(&self) -> usize {
        self.channels * self.out_height() * self.out_width()
    }

    pub fn window_area(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// For every output element (in NCHW order), the input indices its window covers,
    /// leaving out positions in the padding.
    pub fn windows(&self) -> Vec<Vec<usize>> {
        let (oh, ow) = (self.out_height(), self.out_width());
        let mut windows = Vec::with_capacity(self.output_len());
        for c in 0..self.channels {
            for y in 0..oh {
                for x in 0..ow {
                    let mut window = Vec::with_capacity(self.window_area());
                    for ki in 0..self.kernel[0] {
                        for kj in 0..self.kernel[1] {
                            let iy = (y * self.strides[0] + ki) as isize - self.pads[0] as isize;
                            let ix = (x * self.strides[1] + kj) as isize - self.pads[1] as isize;
                            if iy >= 0
                                && ix >= 0
                                && (iy as usize) < self.in_height
                                && (ix as usize) < self.in_width
                            {
                                window.push(
                                    (c * self.in_height + iy as usize) * self.in_width
                                        + ix as usize,
                                );
                            }
                        }
                    }
                    windows.push(window);
                }
            }
        }
        windows
    }

    /// For average pooling with `count_include_pad`: how many positions of each window
    /// lie inside the input or its explicit padding (not the ceil-mode overhang).
    pub fn padded_counts(&self) -> Vec<usize> {
        let (oh, ow) = (self.out_height(), self.out_width());
        let h_limit = self.in_height + self.pads[0] + self.pads[2];
        let w_limit = self.in_width + self.pads[1] + self.pads[3];
        let mut counts = Vec::with_capacity(self.output_len());
        for _ in 0..self.channels {
            for y in 0..oh {
                let rows =
                    (y * self.strides[0] + self.kernel[0]).min(h_limit) - y * self.strides[0];
                for x in 0..ow {
                    let cols =
                        (x * self.strides[1] + self.kernel[1]).min(w_limit) - x * self.strides[1];
                    counts.push(rows * cols);
                }
            }
        }
        counts
    }
}

/// Output positions along one axis: ONNX's `floor` (or `ceil`) of
/// `(input + pads − kernel) / stride + 1`.
fn extent(
    input: usize,
    [begin, end]: [usize; 2],
    kernel: usize,
    stride: usize,
    ceil: bool,
) -> usize {
    let padded = input.saturating_add(begin).saturating_add(end);
    let span = padded.saturating_sub(kernel);
    let n = span / stride + 1;
    if !ceil || span.is_multiple_of(stride) {
        return n;
    }
    // Ceil mode adds a window hanging over the end, unless it would start in the end
    // padding, wholly outside the input: onnxruntime and PyTorch drop that one
    // (`(out − 1)·stride >= input + pad_begin`).
    match n.checked_mul(stride) {
        Some(start) if start < input.saturating_add(begin) => n + 1,
        _ => n,
    }
}

/// The batch size of each level of the max tree over windows of these sizes (each
/// level pairs up every window's candidates, an odd one out moving up): what the
/// share-holders evaluate and the helper deals, and what the memory plan sizes.
pub fn max_tree_sizes(windows: &[Vec<usize>]) -> Vec<usize> {
    let mut counts: Vec<usize> = windows.iter().map(Vec::len).collect();
    let mut sizes = Vec::new();
    while counts.iter().any(|&c| c > 1) {
        sizes.push(counts.iter().map(|c| c / 2).sum());
        counts.iter_mut().for_each(|c| *c = c.div_ceil(2));
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two_windows_tile_the_input() {
        let g = PoolGeometry {
            channels: 1,
            in_height: 4,
            in_width: 4,
            kernel: [2, 2],
            strides: [2, 2],
            pads: [0; 4],
            ceil_mode: false,
        };
        let w = g.windows();
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], vec![0, 1, 4, 5]);
        assert_eq!(w[3], vec![10, 11, 14, 15]);
    }

    #[test]
    fn padding_is_left_out_of_windows_and_counted_when_asked() {
        let g = PoolGeometry {
            channels: 1,
            in_height: 3,
            in_width: 3,
            kernel: [3, 3],
            strides: [1, 1],
            pads: [1, 1, 1, 1],
            ceil_mode: false,
        };
        assert_eq!((g.out_height(), g.out_width()), (3, 3));
        let w = g.windows();
        assert_eq!(w[0], vec![0, 1, 3, 4]);
        assert_eq!(w[4].len(), 9);
        assert!(g.padded_counts().iter().all(|&c| c == 9));
    }

    #[test]
    fn ceil_mode_adds_a_partial_window() {
        let g = PoolGeometry {
            channels: 1,
            in_height: 5,
            in_width: 5,
            kernel: [2, 2],
            strides: [2, 2],
            pads: [0; 4],
            ceil_mode: true,
        };
        assert_eq!(g.out_height(), 3);
        assert_eq!(g.windows()[2], vec![4, 9]);
    }

    fn ceil_geometry(in_height: usize, pad_end: usize) -> PoolGeometry {
        PoolGeometry {
            channels: 1,
            in_height,
            in_width: 3,
            kernel: [2, 1],
            strides: [2, 1],
            pads: [0, 0, pad_end, 0],
            ceil_mode: true,
        }
    }

    #[test]
    fn ceil_mode_drops_a_last_window_that_starts_in_the_end_padding() {
        // Height 4 + 1 end pad, window 2, stride 2: ceil((5 − 2) / 2) + 1 = 3 windows by
        // the formula, but the third would start at row 4, wholly in the padding, and
        // onnxruntime/PyTorch drop it.
        let g = ceil_geometry(4, 1);
        assert_eq!(g.check(), Ok(()));
        assert_eq!(g.out_height(), 2);
        assert!(g.windows().iter().all(|w| !w.is_empty()));
        // Height 5 + 1: the third window starts at row 4, inside the input: kept.
        let g = ceil_geometry(5, 1);
        assert_eq!(g.out_height(), 3);
        assert_eq!(g.windows()[6], vec![12]);
    }

    #[test]
    fn every_checked_geometry_has_nonempty_windows() {
        for in_height in 1..7 {
            for kernel in 1..4 {
                for stride in 1..4 {
                    for pads in [[0, 0], [0, 1], [1, 0], [1, 2], [2, 2]] {
                        for ceil_mode in [false, true] {
                            let g = PoolGeometry {
                                channels: 2,
                                in_height,
                                in_width: 1,
                                kernel: [kernel, 1],
                                strides: [stride, 1],
                                pads: [pads[0], 0, pads[1], 0],
                                ceil_mode,
                            };
                            if g.check().is_ok() {
                                assert_eq!(g.windows().len(), g.output_len());
                                assert!(g.windows().iter().all(|w| !w.is_empty()), "{g:?}");
                                assert_eq!(g.padded_counts().len(), g.output_len());
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn hostile_geometries_are_refused_without_overflow() {
        let base = ceil_geometry(4, 1);
        let huge = PoolGeometry {
            in_height: usize::MAX,
            ..base.clone()
        };
        assert!(huge.check().is_err());
        let wide = PoolGeometry {
            kernel: [usize::MAX, usize::MAX],
            pads: [usize::MAX - 1, 0, usize::MAX - 1, 0],
            ..base.clone()
        };
        assert!(wide.check().is_err());
        let many = PoolGeometry {
            channels: 1 << 20,
            in_height: 1 << 20,
            ..base.clone()
        };
        assert!(matches!(many.check(), Err(SizeError::TooLarge { .. })));
        let zero = PoolGeometry {
            strides: [0, 1],
            ..base
        };
        assert!(matches!(zero.check(), Err(SizeError::Invalid { .. })));
    }
}
