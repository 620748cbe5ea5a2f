//! The sliding-window geometry shared by Conv and the pools: kernel, strides, pads,
//! dilations and `auto_pad`.

use crate::attributes::Attributes;
use crate::error::ImportError;

/// Strides, resolved pads (top, left, bottom, right) and dilations of a 2-D window.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) strides: [usize; 2],
    pub(crate) pads: [usize; 4],
    pub(crate) dilations: [usize; 2],
}

/// A window's kernel, always as 2-D: a 1-D window of width k over `[N, C, L]` is the
/// 2-D window [1, k] over `[N, C, 1, L]` (same elements, row-major), so the compiler
/// and the protocols see only 2-D windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WindowKernel {
    pub(crate) size: [usize; 2],
    pub(crate) one_d: bool,
}

/// The kernel from `kernel_shape` (or a weight's spatial dims): 2-D, or 1-D as a height
/// of 1; other ranks are unsupported, with `what` naming the operation in the message.
pub(crate) fn kernel(
    attrs: &Attributes,
    spatial: &[usize],
    what: &str,
) -> Result<WindowKernel, ImportError> {
    if spatial.contains(&0) {
        return Err(attrs.invalid(
            "kernel_shape",
            format!("{spatial:?} has a zero-sized dimension"),
        ));
    }
    match *spatial {
        [height, width] => Ok(WindowKernel {
            size: [height, width],
            one_d: false,
        }),
        [width] => Ok(WindowKernel {
            size: [1, width],
            one_d: true,
        }),
        _ => Err(attrs.unsupported(
            "kernel_shape",
            format!("{spatial:?}"),
            &format!(
                "only 1-D and 2-D {what} over NCL / NCHW inputs is supported (this one is {}-D)",
                spatial.len()
            ),
        )),
    }
}

/// Reads `strides`, `dilations`, `pads` and `auto_pad` (of a 1-D window as those of its
/// 2-D form). `input` is the NCHW (NCL) input's shape when known; `SAME_*` padding with a
/// stride above 1 needs it.
pub(crate) fn window(
    attrs: &Attributes,
    kernel: WindowKernel,
    input: Option<&[usize]>,
    input_name: &str,
) -> Result<Window, ImportError> {
    let one_d = kernel.one_d;
    let kernel = kernel.size;
    let strides = pair(attrs, "strides", one_d)?.unwrap_or([1, 1]);
    let dilations = pair(attrs, "dilations", one_d)?.unwrap_or([1, 1]);
    let explicit = match attrs.sizes("pads", 0)? {
        None => None,
        Some(pads) => Some(match (one_d, pads.as_slice()) {
            (false, &[top, left, bottom, right]) => [top, left, bottom, right],
            (true, &[begin, end]) => [0, begin, 0, end],
            _ => {
                return Err(attrs.invalid(
                    "pads",
                    format!(
                        "{pads:?} should hold {} values (begins then ends) for a {}-D window",
                        if one_d { 2 } else { 4 },
                        if one_d { 1 } else { 2 }
                    ),
                ))
            }
        }),
    };
    let auto_pad = attrs.string("auto_pad")?.unwrap_or_else(|| "NOTSET".into());
    let same_upper = match auto_pad.as_str() {
        "NOTSET" => {
            let pads = explicit.unwrap_or([0; 4]);
            return Ok(Window {
                strides,
                pads,
                dilations,
            });
        }
        "VALID" => {
            return Ok(Window {
                strides,
                pads: [0; 4],
                dilations,
            });
        }
        "SAME_UPPER" => true,
        "SAME_LOWER" => false,
        other => {
            return Err(attrs.invalid(
                "auto_pad",
                format!("`{other}` is none of NOTSET, VALID, SAME_UPPER, SAME_LOWER"),
            ))
        }
    };
    let spatial = match input {
        Some(&[_, _, height, width]) if !one_d => Some([height, width]),
        Some(&[_, _, length]) if one_d => Some([1, length]),
        _ => None,
    };
    let mut pads = [0; 4];
    for axis in 0..2 {
        // kernel >= 1; (out - 1) * stride < size below, so only the span can overflow.
        let span = (kernel[axis] - 1)
            .checked_mul(dilations[axis])
            .and_then(|span| span.checked_add(1))
            .ok_or_else(|| {
                attrs.invalid(
                    "dilations",
                    format!("kernel {kernel:?} with dilations {dilations:?} overflows"),
                )
            })?;
        let total = match (strides[axis], spatial) {
            (1, _) => span - 1,
            (stride, Some(size)) => {
                let out = size[axis].div_ceil(stride);
                ((out.max(1) - 1) * stride)
                    .saturating_add(span)
                    .saturating_sub(size[axis])
            }
            (_, None) => {
                return Err(attrs.unsupported(
                    "auto_pad",
                    &auto_pad,
                    &format!(
                        "with strides {strides:?} the padding depends on the height and width of \
                         `{input_name}`, which the model does not state: add shapes with \
                         onnx.shape_inference.infer_shapes, or export with explicit pads"
                    ),
                ))
            }
        };
        let (small, large) = (total / 2, total - total / 2);
        let (begin, end) = if same_upper {
            (small, large)
        } else {
            (large, small)
        };
        pads[axis] = begin;
        pads[axis + 2] = end;
    }
    Ok(Window {
        strides,
        pads,
        dilations,
    })
}

/// A per-axis attribute of a 2-D window: two values, or one for a 1-D window (its
/// height axis then gets 1).
fn pair(attrs: &Attributes, name: &str, one_d: bool) -> Result<Option<[usize; 2]>, ImportError> {
    match attrs.sizes(name, 1)? {
        None => Ok(None),
        Some(values) => match (one_d, values.as_slice()) {
            (false, &[height, width]) => Ok(Some([height, width])),
            (true, &[width]) => Ok(Some([1, width])),
            _ => Err(attrs.invalid(
                name,
                format!(
                    "{values:?} should hold {} for a {}-D window",
                    if one_d { "1 value" } else { "2 values" },
                    if one_d { 1 } else { 2 }
                ),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::attribute_proto::AttributeType;
    use crate::proto::{AttributeProto, NodeProto};

    fn node(auto_pad: &str, strides: Vec<i64>) -> NodeProto {
        NodeProto {
            op_type: Some("Conv".into()),
            attribute: vec![
                AttributeProto {
                    name: Some("auto_pad".into()),
                    r#type: Some(AttributeType::String as i32),
                    s: Some(auto_pad.as_bytes().to_vec()),
                    ..Default::default()
                },
                AttributeProto {
                    name: Some("strides".into()),
                    r#type: Some(AttributeType::Ints as i32),
                    ints: strides,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn pads(
        auto_pad: &str,
        strides: Vec<i64>,
        kernel: [usize; 2],
        input: Option<&[usize]>,
    ) -> Result<[usize; 4], ImportError> {
        let proto = node(auto_pad, strides);
        let kernel = WindowKernel {
            size: kernel,
            one_d: false,
        };
        window(&Attributes::new("c", &proto), kernel, input, "x").map(|w| w.pads)
    }

    #[test]
    fn same_padding_with_unit_stride_needs_no_shape() {
        assert_eq!(
            pads("SAME_UPPER", vec![1, 1], [3, 3], None).unwrap(),
            [1, 1, 1, 1]
        );
        assert_eq!(
            pads("SAME_UPPER", vec![1, 1], [2, 4], None).unwrap(),
            [0, 1, 1, 2]
        );
        assert_eq!(
            pads("SAME_LOWER", vec![1, 1], [2, 4], None).unwrap(),
            [1, 2, 0, 1]
        );
        assert_eq!(pads("VALID", vec![1, 1], [3, 3], None).unwrap(), [0; 4]);
    }

    #[test]
    fn same_padding_with_stride_uses_the_input_size() {
        // Height 7, stride 2, kernel 3: output 4, total pad (4-1)*2+3-7 = 2.
        // Width 8, stride 2, kernel 3: output 4, total pad (4-1)*2+3-8 = 1.
        let shape = [1, 3, 7, 8];
        assert_eq!(
            pads("SAME_UPPER", vec![2, 2], [3, 3], Some(&shape)).unwrap(),
            [1, 0, 1, 1]
        );
        assert_eq!(
            pads("SAME_LOWER", vec![2, 2], [3, 3], Some(&shape)).unwrap(),
            [1, 1, 1, 0]
        );
    }

    #[test]
    fn same_padding_with_stride_and_no_shape_says_how_to_fix() {
        let err = pads("SAME_UPPER", vec![2, 2], [3, 3], None).unwrap_err();
        assert!(
            matches!(err, ImportError::UnsupportedAttribute { ref attribute, ref value, .. } if attribute == "auto_pad" && value == "SAME_UPPER")
        );
        assert!(
            err.to_string()
                .contains("onnx.shape_inference.infer_shapes"),
            "{err}"
        );
    }

    #[test]
    fn unknown_auto_pad_is_invalid() {
        let err = pads("SAME", vec![1, 1], [3, 3], None).unwrap_err();
        assert!(
            err.to_string()
                .contains("`SAME` is none of NOTSET, VALID, SAME_UPPER, SAME_LOWER"),
            "{err}"
        );
    }

    #[test]
    fn a_1d_window_is_a_2d_one_of_height_1() {
        // Length 9, stride 2, kernel 4: output 5, total pad (5-1)*2+4-9 = 3.
        let proto = node("SAME_UPPER", vec![2]);
        let attrs = Attributes::new("c", &proto);
        let kernel = kernel(&attrs, &[4], "convolution").unwrap();
        assert_eq!(
            kernel,
            WindowKernel {
                size: [1, 4],
                one_d: true
            }
        );
        let w = window(&attrs, kernel, Some(&[1, 3, 9]), "x").unwrap();
        assert_eq!(
            (w.strides, w.pads, w.dilations),
            ([1, 2], [0, 1, 0, 2], [1, 1])
        );
        // Two strides for a 1-D window are a mistake in the model.
        let proto = node("NOTSET", vec![2, 2]);
        let err = window(&Attributes::new("c", &proto), kernel, None, "x").unwrap_err();
        assert!(
            err.to_string()
                .contains("should hold 1 value for a 1-D window"),
            "{err}"
        );
        let err = super::kernel(&attrs, &[2, 2, 2], "pooling").unwrap_err();
        assert!(err.to_string().contains("(this one is 3-D)"), "{err}");
    }
}
