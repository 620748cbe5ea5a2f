//! The index geometry of pooling windows (NCHW, one image).

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
    pub fn out_height(&self) -> usize {
        extent(
            self.in_height + self.pads[0] + self.pads[2],
            self.kernel[0],
            self.strides[0],
            self.ceil_mode,
        )
    }

    pub fn out_width(&self) -> usize {
        extent(
            self.in_width + self.pads[1] + self.pads[3],
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

fn extent(padded: usize, kernel: usize, stride: usize, ceil: bool) -> usize {
    let span = padded.saturating_sub(kernel);
    let mut n = span / stride + 1;
    if ceil && !span.is_multiple_of(stride) {
        n += 1;
        // ONNX/PyTorch: the last window must start inside the input or left padding.
        if (n - 1) * stride >= padded {
            n -= 1;
        }
    }
    n
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
}
