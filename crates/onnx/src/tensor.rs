//! `TensorProto` -> `Tensor<f32>`.
//!
//! float32 tensors are taken as they are, from `float_data` or little-endian `raw_data`.
//! int32 and int64 tensors (Reshape shapes, mostly) become float32 when every value is
//! exactly representable, and [`ImportError::NotRepresentable`] otherwise. Every other
//! element type, external data and segmented tensors are rejected.

use crate::error::ImportError;
use crate::proto::tensor_proto::{DataLocation, DataType};
use crate::proto::TensorProto;
use cryptflow_ring::Tensor;

/// Converts `proto` to a float tensor; `fallback_name` names it in errors when the proto
/// itself has no name (tensors inside Constant nodes often have none).
pub(crate) fn to_f32(proto: &TensorProto, fallback_name: &str) -> Result<Tensor<f32>, ImportError> {
    let name = match proto.name() {
        "" => fallback_name,
        name => name,
    };
    let invalid = |reason: String| ImportError::InvalidTensor {
        tensor: name.to_owned(),
        reason,
    };
    if proto.data_location() == DataLocation::External || !proto.external_data.is_empty() {
        let location = proto
            .external_data
            .iter()
            .find(|entry| entry.key() == "location")
            .map_or("unknown file", |entry| entry.value());
        return Err(ImportError::ExternalData {
            tensor: name.to_owned(),
            location: location.to_owned(),
        });
    }
    if proto.segment.is_some() {
        return Err(invalid("it is segmented, which is not supported".into()));
    }
    let shape = proto
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| invalid(format!("negative dimension {d}"))))
        .collect::<Result<Vec<usize>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| invalid(format!("dimensions {shape:?} overflow")))?;
    let raw = proto.raw_data.as_deref().filter(|raw| !raw.is_empty());
    let data: Vec<f32> = match DataType::try_from(proto.data_type()) {
        Ok(DataType::Float) => match raw {
            Some(raw) => from_raw(raw, count, f32::from_le_bytes).map_err(invalid)?,
            None => proto.float_data.clone(),
        },
        Ok(DataType::Int64) => {
            let values = match raw {
                Some(raw) => from_raw(raw, count, i64::from_le_bytes).map_err(invalid)?,
                None => proto.int64_data.clone(),
            };
            exact_f32(name, values.into_iter())?
        }
        Ok(DataType::Int32) => {
            let values = match raw {
                Some(raw) => from_raw(raw, count, i32::from_le_bytes).map_err(invalid)?,
                None => proto.int32_data.clone(),
            };
            exact_f32(name, values.into_iter().map(i64::from))?
        }
        other => {
            return Err(ImportError::UnsupportedDataType {
                tensor: name.to_owned(),
                data_type: other.map_or_else(
                    |_| format!("code {}", proto.data_type()),
                    |t| t.as_str_name().to_owned(),
                ),
            })
        }
    };
    if data.len() != count {
        return Err(invalid(format!(
            "shape {shape:?} holds {count} elements but the data has {}",
            data.len()
        )));
    }
    Tensor::new(shape, data).map_err(|e| invalid(e.to_string()))
}

/// Reads `count` little-endian values of `N` bytes each.
fn from_raw<T, const N: usize>(
    raw: &[u8],
    count: usize,
    decode: fn([u8; N]) -> T,
) -> Result<Vec<T>, String> {
    if raw.len() != count.saturating_mul(N) {
        return Err(format!(
            "raw_data has {} bytes but {count} elements of {N} bytes need {}",
            raw.len(),
            count.saturating_mul(N)
        ));
    }
    Ok(raw
        .chunks_exact(N)
        .map(|chunk| {
            let mut bytes = [0u8; N];
            bytes.copy_from_slice(chunk);
            decode(bytes)
        })
        .collect())
}

/// Converts integers to f32, rejecting any value f32 cannot hold exactly.
pub(crate) fn exact_f32(
    tensor: &str,
    values: impl Iterator<Item = i64>,
) -> Result<Vec<f32>, ImportError> {
    values
        .map(|value| {
            let float = value as f32;
            if float as i128 == i128::from(value) {
                Ok(float)
            } else {
                Err(ImportError::NotRepresentable {
                    tensor: tensor.to_owned(),
                    value,
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::StringStringEntryProto;

    fn float_proto(dims: Vec<i64>, data: Vec<f32>) -> TensorProto {
        TensorProto {
            name: Some("w".into()),
            dims,
            data_type: Some(DataType::Float as i32),
            float_data: data,
            ..Default::default()
        }
    }

    #[test]
    fn float_data_and_raw_data_give_the_same_tensor() {
        let typed = float_proto(vec![2, 2], vec![1.0, -2.5, 3.0, 0.125]);
        let raw = TensorProto {
            float_data: vec![],
            raw_data: Some(
                [1.0f32, -2.5, 3.0, 0.125]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
            ..typed.clone()
        };
        let expected = Tensor::new(vec![2, 2], vec![1.0, -2.5, 3.0, 0.125]).unwrap();
        assert_eq!(to_f32(&typed, "x").unwrap(), expected);
        assert_eq!(to_f32(&raw, "x").unwrap(), expected);
    }

    #[test]
    fn int64_shapes_become_exact_floats() {
        let proto = TensorProto {
            name: Some("shape".into()),
            dims: vec![2],
            data_type: Some(DataType::Int64 as i32),
            raw_data: Some([-1i64, 400].iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        };
        assert_eq!(to_f32(&proto, "x").unwrap().data(), &[-1.0, 400.0]);
    }

    #[test]
    fn int64_beyond_f32_precision_is_rejected() {
        let proto = TensorProto {
            name: Some("big".into()),
            dims: vec![1],
            data_type: Some(DataType::Int64 as i32),
            int64_data: vec![(1 << 24) + 1],
            ..Default::default()
        };
        let err = to_f32(&proto, "x").unwrap_err();
        assert!(
            matches!(err, ImportError::NotRepresentable { ref tensor, value } if tensor == "big" && value == (1 << 24) + 1)
        );
        assert!(err.to_string().contains("16777217"), "{err}");
    }

    #[test]
    fn length_mismatch_names_the_tensor() {
        let err = to_f32(&float_proto(vec![3], vec![1.0]), "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `w` is malformed: shape [3] holds 3 elements but the data has 1; \
             check the model with onnx.checker.check_model and export it again"
        );
        let short_raw = TensorProto {
            raw_data: Some(vec![0; 7]),
            ..float_proto(vec![2], vec![])
        };
        assert!(to_f32(&short_raw, "x")
            .unwrap_err()
            .to_string()
            .contains("raw_data has 7 bytes but 2 elements of 4 bytes need 8"));
    }

    #[test]
    fn external_data_names_the_file() {
        let proto = TensorProto {
            data_location: Some(DataLocation::External as i32),
            external_data: vec![StringStringEntryProto {
                key: Some("location".into()),
                value: Some("weights.bin".into()),
            }],
            ..float_proto(vec![2], vec![])
        };
        let err = to_f32(&proto, "x").unwrap_err();
        assert!(
            matches!(err, ImportError::ExternalData { ref tensor, ref location } if tensor == "w" && location == "weights.bin")
        );
    }

    #[test]
    fn unnamed_tensors_use_the_fallback_name() {
        let proto = TensorProto {
            name: None,
            data_type: Some(DataType::Double as i32),
            ..Default::default()
        };
        let err = to_f32(&proto, "const_out").unwrap_err();
        assert!(
            matches!(err, ImportError::UnsupportedDataType { ref tensor, ref data_type } if tensor == "const_out" && data_type == "DOUBLE")
        );
    }
}
