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

/// A 2-D kernel from `kernel_shape` (or a weight's spatial dims); other ranks are
/// unsupported, with `what` naming the operation in the message.
pub(crate) fn kernel(
    attrs: &Attributes,
    spatial: &[usize],
    what: &str,
) -> Result<[usize; 2], ImportError> {
    match *spatial {
        [height, width] if height == 0 || width == 0 => Err(attrs.invalid(
            "kernel_shape",
            format!("{spatial:?} has a zero-sized dimension"),
        )),
        [height, width] => Ok([height, width]),
        _ => Err(attrs.unsupported(
            "kernel_shape",
            format!("{spatial:?}"),
            &format!(
                "only 2-D {what} over NCHW inputs is supported (this one is {}-D); \
                 express it as a 2-D {what} (e.g. a height of 1 for 1-D) before export",
                spatial.len()
            ),
        )),
    }
}

/// Reads `strides`, `dilations`, `pads` and `auto_pad`. `input` is the NCHW input's shape
/// when known; `SAME_*` padding with a stride above 1 needs it.
pub(crate) fn window(
    attrs: &Attributes,
    kernel: [usize; 2],
    input: Option<&[usize]>,
    input_name: &str,
) -> Result<Window, ImportError> {
    let strides = pair(attrs, "strides")?.unwrap_or([1, 1]);
    let dilations = pair(attrs, "dilations")?.unwrap_or([1, 1]);
    let explicit = match attrs.sizes("pads", 0)? {
        None => None,
        Some(pads) => Some(<[usize; 4]>::try_from(pads.as_slice()).map_err(|_| {
            attrs.invalid(
                "pads",
                format!("{pads:?} should hold 4 values (begins then ends) for a 2-D window"),
            )
        })?),
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
        Some(&[_, _, height, width]) => Some([height, width]),
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

fn pair(attrs: &Attributes, name: &str) -> Result<Option<[usize; 2]>, ImportError> {
    match attrs.sizes(name, 1)? {
        None => Ok(None),
        Some(values) => <[usize; 2]>::try_from(values.as_slice())
            .map(Some)
            .map_err(|_| {
                attrs.invalid(
                    name,
                    format!("{values:?} should hold 2 values for a 2-D window"),
                )
            }),
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
}
