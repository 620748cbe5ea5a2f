//! Index geometry of convolution and pooling nodes, from their attributes and input
//! shapes, checked for consistency.

use crate::CompileError;
use cryptflow_ir::{ConvAttrs, Node, PoolAttrs};
use cryptflow_ring::conv::ConvGeometry;
use cryptflow_ring::pool::PoolGeometry;
use cryptflow_ring::size::SizeError;

/// `[N, C, H, W]`, or a 1-D window's `[N, C, L]` as `[N, C, 1, L]` (the importer gives
/// 1-D windows a kernel height of 1), or an error naming the node.
pub fn image_dims(node: &Node, shape: &[usize]) -> Result<[usize; 4], CompileError> {
    match *shape {
        [n, c, h, w] => Ok([n, c, h, w]),
        [n, c, l] => Ok([n, c, 1, l]),
        _ => Err(CompileError::shape(
            node,
            format!("expects a 4-D NCHW (or 3-D NCL) input, got shape {shape:?}"),
        )),
    }
}

/// A window's output shape: `[N, C, H, W]`, or `[N, C, W]` for an NCL input.
pub fn window_output(input: &[usize], channels: usize, height: usize, width: usize) -> Vec<usize> {
    match input.len() {
        3 => vec![input[0], channels, width],
        _ => vec![input.first().copied().unwrap_or(1), channels, height, width],
    }
}

pub fn conv(
    node: &Node,
    attrs: &ConvAttrs,
    input: &[usize],
    weight: &[usize],
) -> Result<ConvGeometry, CompileError> {
    let [_, c, h, w] = image_dims(node, input)?;
    let (m, c_per_group, kh, kw) = match (weight, input.len()) {
        (&[m, c_per_group, kh, kw], 4) => (m, c_per_group, kh, kw),
        (&[m, c_per_group, kw], 3) => (m, c_per_group, 1, kw),
        _ => {
            return Err(CompileError::shape(
                node,
                format!(
                    "expects a {}-D weight for a {}-D input, got shape {weight:?}",
                    input.len(),
                    input.len()
                ),
            ))
        }
    };
    let groups = attrs.groups.max(1);
    if c_per_group * groups != c || m % groups != 0 {
        return Err(CompileError::shape(
            node,
            format!("weight {weight:?} with group={groups} does not fit input channels {c}"),
        ));
    }
    if attrs.kernel != [kh, kw] {
        return Err(CompileError::shape(
            node,
            format!(
                "kernel_shape {:?} differs from the weight's {:?}",
                attrs.kernel,
                [kh, kw]
            ),
        ));
    }
    if attrs.strides.contains(&0) || attrs.dilations.contains(&0) {
        return Err(CompileError::shape(
            node,
            "strides and dilations must be positive",
        ));
    }
    let geometry = ConvGeometry {
        in_channels: c,
        in_height: h,
        in_width: w,
        out_channels: m,
        kernel: [kh, kw],
        strides: attrs.strides,
        pads: attrs.pads,
        dilations: attrs.dilations,
        groups,
    };
    checked(node, geometry.check(), geometry)
}

pub fn pool(node: &Node, attrs: &PoolAttrs, input: &[usize]) -> Result<PoolGeometry, CompileError> {
    let [_, c, h, w] = image_dims(node, input)?;
    let [kh, kw] = attrs.kernel;
    if kh == 0 || kw == 0 || attrs.strides.contains(&0) {
        return Err(CompileError::shape(
            node,
            "kernel and strides must be positive",
        ));
    }
    let geometry = PoolGeometry {
        channels: c,
        in_height: h,
        in_width: w,
        kernel: attrs.kernel,
        strides: attrs.strides,
        pads: attrs.pads,
        ceil_mode: attrs.ceil_mode,
    };
    checked(node, geometry.check(), geometry)
}

/// A global pooling window over the whole image.
pub fn global_pool(node: &Node, input: &[usize]) -> Result<PoolGeometry, CompileError> {
    let [_, c, h, w] = image_dims(node, input)?;
    let geometry = PoolGeometry {
        channels: c,
        in_height: h,
        in_width: w,
        kernel: [h, w],
        strides: [1, 1],
        pads: [0; 4],
        ceil_mode: false,
    };
    checked(node, geometry.check(), geometry)
}

/// The geometry, or the reason its sizes do not hold, naming the node.
fn checked<G>(node: &Node, check: Result<(), SizeError>, geometry: G) -> Result<G, CompileError> {
    check
        .map(|()| geometry)
        .map_err(|e| CompileError::shape(node, e.to_string()))
}
