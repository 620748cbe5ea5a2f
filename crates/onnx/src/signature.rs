//! The graph's one input and one output, and the shapes the model states.

use crate::error::ImportError;
use crate::proto::tensor_proto::DataType;
use crate::proto::tensor_shape_proto::dimension::Value as Dim;
use crate::proto::type_proto::Value as Type;
use crate::proto::{GraphProto, TensorShapeProto, ValueInfoProto};
use std::collections::{HashMap, HashSet};

/// The one graph input not named in `not_inputs` (initializers and node outputs, which
/// old writers list among the inputs too).
pub(crate) fn single_input<'a>(
    graph: &'a GraphProto,
    not_inputs: &HashSet<&str>,
) -> Result<&'a ValueInfoProto, ImportError> {
    let inputs: Vec<&ValueInfoProto> = graph
        .input
        .iter()
        .filter(|info| !not_inputs.contains(info.name()))
        .collect();
    match inputs.as_slice() {
        [input] => Ok(input),
        _ => Err(ImportError::InputCount {
            names: inputs.iter().map(|info| info.name().to_owned()).collect(),
        }),
    }
}

pub(crate) fn single_output(graph: &GraphProto) -> Result<&ValueInfoProto, ImportError> {
    match graph.output.as_slice() {
        [output] => Ok(output),
        outputs => Err(ImportError::OutputCount {
            names: outputs.iter().map(|info| info.name().to_owned()).collect(),
        }),
    }
}

/// What [`ImportError::UnsupportedDataType`] says the graph input may be.
const INPUT_TYPE: &str = "a float32 tensor as the graph input";

/// The input's static shape. A symbolic or unknown batch dimension (index 0) becomes 1;
/// any other unknown dimension is an error. The element type must be float32.
pub(crate) fn input_shape(info: &ValueInfoProto) -> Result<Vec<usize>, ImportError> {
    let name = info.name();
    let tensor = match info.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(tensor)) => tensor,
        Some(_) => {
            return Err(ImportError::UnsupportedDataType {
                tensor: name.to_owned(),
                data_type: "a sequence, map, optional or sparse type".into(),
                supported: INPUT_TYPE,
            })
        }
        None => {
            return Err(ImportError::MissingInputShape {
                input: name.to_owned(),
            })
        }
    };
    if tensor.elem_type() != DataType::Float as i32 {
        return Err(ImportError::UnsupportedDataType {
            tensor: name.to_owned(),
            data_type: DataType::try_from(tensor.elem_type()).map_or_else(
                |_| format!("code {}", tensor.elem_type()),
                |t| t.as_str_name().to_owned(),
            ),
            supported: INPUT_TYPE,
        });
    }
    let shape = tensor
        .shape
        .as_ref()
        .ok_or_else(|| ImportError::MissingInputShape {
            input: name.to_owned(),
        })?;
    let shape = shape
        .dim
        .iter()
        .enumerate()
        .map(|(index, dim)| match (index, static_dim(&dim.value)) {
            (_, Some(size)) => Ok(size),
            (0, None) => Ok(1),
            (_, None) => Err(ImportError::UnknownInputDimension {
                input: name.to_owned(),
                index,
                dim: match &dim.value {
                    Some(Dim::DimParam(param)) => param.clone(),
                    Some(Dim::DimValue(value)) => value.to_string(),
                    None => "?".into(),
                },
            }),
        })
        .collect::<Result<Vec<usize>, _>>()?;
    // Every later size (slots, weights broadcast to the input, messages) is a multiple
    // of this count: an absurd dimension is refused here rather than overflowing or
    // failing an allocation downstream.
    let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if elements.is_none_or(|n| n > MAX_INPUT_ELEMENTS) {
        return Err(ImportError::InputTooLarge {
            input: name.to_owned(),
            shape,
            elements,
            max: MAX_INPUT_ELEMENTS,
        });
    }
    Ok(shape)
}

/// The most elements an input can have: each becomes a 64-bit ring element, and no
/// allocation can exceed `isize::MAX` bytes.
pub(crate) const MAX_INPUT_ELEMENTS: usize = isize::MAX as usize / 8;

/// Static shapes of intermediate values stated in `value_info` (e.g. after
/// `onnx.shape_inference.infer_shapes`) and of the graph output; values with any unknown
/// dimension are left out.
pub(crate) fn shape_hints(graph: &GraphProto) -> HashMap<String, Vec<usize>> {
    graph
        .value_info
        .iter()
        .chain(&graph.output)
        .filter_map(|info| match info.r#type.as_ref()?.value.as_ref()? {
            Type::TensorType(tensor) => Some((
                info.name().to_owned(),
                static_shape(tensor.shape.as_ref()?)?,
            )),
            _ => None,
        })
        .collect()
}

fn static_shape(shape: &TensorShapeProto) -> Option<Vec<usize>> {
    shape.dim.iter().map(|dim| static_dim(&dim.value)).collect()
}

fn static_dim(dim: &Option<Dim>) -> Option<usize> {
    match dim {
        Some(Dim::DimValue(value)) if *value >= 1 => usize::try_from(*value).ok(),
        _ => None,
    }
}
