//! `TensorProto` -> `Tensor<f32>`.
//!
//! float32 tensors are taken as they are, from `float_data` or little-endian `raw_data`.
//! The other numeric types become float32 too (shapes, indices and axes are integers;
//! some exporters write double or half weights):
//! * integers (int8..int64, uint8..uint64) and bool (0/1) when every value is exactly
//!   representable, else [`ImportError::NotRepresentable`]; the int64 and int32
//!   extremes, which exporters write for "to the end" in Slice, become ±2^62 (still
//!   beyond any dimension, and exact in float32);
//! * float16 and bfloat16 exactly (every value of theirs is a float32 value);
//! * float64 rounded to the nearest float32; a finite value beyond the float32 range is
//!   [`ImportError::FloatOverflow`] (infinities and NaN stay what they are).
//!
//! Strings, complex numbers, 8-bit and 4-bit floats/ints, external data and segmented
//! tensors are rejected.

use crate::error::ImportError;
use crate::proto::tensor_proto::{DataLocation, DataType};
use crate::proto::TensorProto;
use cryptflow_ring::Tensor;

/// What [`ImportError::UnsupportedDataType`] says tensors may be.
const SUPPORTED: &str = "float, integer and bool tensors (as float32)";

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
    let data = decode(proto, name, count)?;
    if data.len() != count {
        return Err(invalid(format!(
            "shape {shape:?} holds {count} elements but the data has {}",
            data.len()
        )));
    }
    Tensor::new(shape, data).map_err(|e| invalid(e.to_string()))
}

/// The values of `proto` as float32, from `raw_data` when present, else from the typed
/// field that the element type uses.
fn decode(proto: &TensorProto, name: &str, count: usize) -> Result<Vec<f32>, ImportError> {
    let source = Source {
        raw: proto.raw_data.as_deref().filter(|raw| !raw.is_empty()),
        count,
        name,
    };
    let int32 = proto.int32_data.as_slice();
    match DataType::try_from(proto.data_type()) {
        Ok(DataType::Float) => source.values(f32::from_le_bytes, || Ok(proto.float_data.clone())),
        Ok(DataType::Double) => source
            .values(f64::from_le_bytes, || Ok(proto.double_data.clone()))?
            .into_iter()
            .map(|value| to_single(name, value))
            .collect(),
        Ok(DataType::Float16) => Ok(source
            .values(u16::from_le_bytes, || narrow(int32, "float16 bits"))?
            .into_iter()
            .map(half_to_f32)
            .collect()),
        Ok(DataType::Bfloat16) => Ok(source
            .values(u16::from_le_bytes, || narrow(int32, "bfloat16 bits"))?
            .into_iter()
            .map(|bits| f32::from_bits(u32::from(bits) << 16))
            .collect()),
        Ok(DataType::Bool) => Ok(source
            .values(u8::from_le_bytes, || narrow(int32, "bool"))?
            .into_iter()
            .map(|value| f32::from(u8::from(value != 0)))
            .collect()),
        Ok(DataType::Int64) => source.integers(i64::from_le_bytes, || Ok(proto.int64_data.clone())),
        Ok(DataType::Int32) => source.integers(i32::from_le_bytes, || Ok(int32.to_vec())),
        Ok(DataType::Int16) => source.integers(i16::from_le_bytes, || narrow(int32, "int16")),
        Ok(DataType::Int8) => source.integers(i8::from_le_bytes, || narrow(int32, "int8")),
        Ok(DataType::Uint64) => {
            source.integers(u64::from_le_bytes, || Ok(proto.uint64_data.clone()))
        }
        Ok(DataType::Uint32) => source.integers(u32::from_le_bytes, || {
            proto
                .uint64_data
                .iter()
                .map(|&v| {
                    u32::try_from(v)
                        .map_err(|_| format!("uint64_data holds {v}, outside the range of uint32"))
                })
                .collect()
        }),
        Ok(DataType::Uint16) => source.integers(u16::from_le_bytes, || narrow(int32, "uint16")),
        Ok(DataType::Uint8) => source.integers(u8::from_le_bytes, || narrow(int32, "uint8")),
        other => Err(ImportError::UnsupportedDataType {
            tensor: name.to_owned(),
            data_type: other.map_or_else(
                |_| format!("code {}", proto.data_type()),
                |t| t.as_str_name().to_owned(),
            ),
            supported: SUPPORTED,
        }),
    }
}

/// Where a tensor's values come from: `raw_data`, or a typed field.
struct Source<'a> {
    raw: Option<&'a [u8]>,
    count: usize,
    name: &'a str,
}

impl Source<'_> {
    /// The values from `raw_data` (little-endian, `N` bytes each) when present, else
    /// from `typed()`.
    fn values<T, const N: usize>(
        &self,
        decode: fn([u8; N]) -> T,
        typed: impl FnOnce() -> Result<Vec<T>, String>,
    ) -> Result<Vec<T>, ImportError> {
        match self.raw {
            Some(raw) => from_raw(raw, self.count, decode),
            None => typed(),
        }
        .map_err(|reason| ImportError::InvalidTensor {
            tensor: self.name.to_owned(),
            reason,
        })
    }

    /// Integer values as exact floats.
    fn integers<T: Into<i128>, const N: usize>(
        &self,
        decode: fn([u8; N]) -> T,
        typed: impl FnOnce() -> Result<Vec<T>, String>,
    ) -> Result<Vec<f32>, ImportError> {
        let values = self.values(decode, typed)?;
        exact_f32(self.name, values.into_iter().map(Into::into))
    }
}

/// The values that `int32_data` stores for a narrower type; each must fit it.
fn narrow<T: TryFrom<i32>>(values: &[i32], type_name: &str) -> Result<Vec<T>, String> {
    values
        .iter()
        .map(|&v| {
            T::try_from(v)
                .map_err(|_| format!("int32_data holds {v}, outside the range of {type_name}"))
        })
        .collect()
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

/// What an "unbounded" int64 or int32 sentinel becomes.
const SENTINEL: i128 = 1 << 62;

/// Converts integers to f32, rejecting any value f32 cannot hold exactly but the int64
/// and int32 extremes (Slice's sentinels), which become ±[`SENTINEL`].
pub(crate) fn exact_f32(
    tensor: &str,
    values: impl Iterator<Item = i128>,
) -> Result<Vec<f32>, ImportError> {
    let extremes = [i128::from(i64::MAX), i128::from(i32::MAX)];
    let minima = [i128::from(i64::MIN), i128::from(i32::MIN)];
    values
        .map(|value| {
            let value = if extremes.contains(&value) {
                SENTINEL
            } else if minima.contains(&value) {
                -SENTINEL
            } else {
                value
            };
            let float = value as f32;
            if float as i128 == value {
                Ok(float)
            } else {
                Err(ImportError::NotRepresentable {
                    tensor: tensor.to_owned(),
                    value: value.to_string(),
                })
            }
        })
        .collect()
}

/// Rounds a double to the nearest float; a finite double beyond the float range is an
/// error rather than an infinity.
fn to_single(tensor: &str, value: f64) -> Result<f32, ImportError> {
    let single = value as f32;
    if single.is_infinite() && value.is_finite() {
        return Err(ImportError::FloatOverflow {
            tensor: tensor.to_owned(),
            value,
        });
    }
    Ok(single)
}

/// IEEE 754 binary16 -> binary32, exactly (subnormals, infinities and NaN included).
fn half_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 == 0 { 1.0 } else { -1.0 };
    let exponent = (bits >> 10) & 0x1f;
    let mantissa = u32::from(bits & 0x3ff);
    match exponent {
        // Zero or subnormal: mantissa * 2^-24, exact in f32.
        0 => sign * mantissa as f32 * f32::powi(2.0, -24),
        0x1f if mantissa == 0 => sign * f32::INFINITY,
        0x1f => f32::NAN,
        _ => f32::from_bits(
            (u32::from(bits & 0x8000) << 16)
                | ((u32::from(exponent) + 112) << 23)
                | (mantissa << 13),
        ),
    }
}

#[cfg(test)]
mod tests;
