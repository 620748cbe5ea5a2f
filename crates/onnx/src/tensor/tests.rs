//! Unit tests of the `TensorProto` conversion.

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
        matches!(err, ImportError::NotRepresentable { ref tensor, ref value } if tensor == "big" && value == "16777217")
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
        data_type: Some(DataType::String as i32),
        ..Default::default()
    };
    let err = to_f32(&proto, "const_out").unwrap_err();
    assert!(
        matches!(err, ImportError::UnsupportedDataType { ref tensor, ref data_type, .. } if tensor == "const_out" && data_type == "STRING")
    );
}

fn typed(data_type: DataType, dims: Vec<i64>) -> TensorProto {
    TensorProto {
        name: Some("t".into()),
        dims,
        data_type: Some(data_type as i32),
        ..Default::default()
    }
}

fn raw(data_type: DataType, dims: Vec<i64>, bytes: Vec<u8>) -> TensorProto {
    TensorProto {
        raw_data: Some(bytes),
        ..typed(data_type, dims)
    }
}

#[test]
fn small_integer_and_bool_types_become_exact_floats() {
    let int8 = TensorProto {
        int32_data: vec![-128, 0, 127],
        ..typed(DataType::Int8, vec![3])
    };
    assert_eq!(to_f32(&int8, "x").unwrap().data(), &[-128.0, 0.0, 127.0]);
    let uint8 = raw(DataType::Uint8, vec![3], vec![0, 7, 255]);
    assert_eq!(to_f32(&uint8, "x").unwrap().data(), &[0.0, 7.0, 255.0]);
    let int16 = raw(
        DataType::Int16,
        vec![2],
        [-300i16, 300]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    );
    assert_eq!(to_f32(&int16, "x").unwrap().data(), &[-300.0, 300.0]);
    let bools = raw(DataType::Bool, vec![2, 2], vec![1, 0, 0, 1]);
    assert_eq!(to_f32(&bools, "x").unwrap().data(), &[1.0, 0.0, 0.0, 1.0]);
    let typed_bools = TensorProto {
        int32_data: vec![0, 1],
        ..typed(DataType::Bool, vec![2])
    };
    assert_eq!(to_f32(&typed_bools, "x").unwrap().data(), &[0.0, 1.0]);
}

#[test]
fn unsigned_wide_integers_come_from_uint64_data() {
    let uint32 = TensorProto {
        uint64_data: vec![4_000_000_000, 1],
        ..typed(DataType::Uint32, vec![2])
    };
    // 4e9 is a multiple of 256, so float32 holds it exactly.
    assert_eq!(to_f32(&uint32, "x").unwrap().data(), &[4.0e9, 1.0]);
    let too_big = TensorProto {
        uint64_data: vec![u64::MAX],
        ..typed(DataType::Uint64, vec![1])
    };
    let err = to_f32(&too_big, "x").unwrap_err();
    assert!(
        matches!(err, ImportError::NotRepresentable { ref tensor, ref value } if tensor == "t" && *value == u64::MAX.to_string()),
        "{err:?}"
    );
    let wrong_field = TensorProto {
        uint64_data: vec![1 << 40],
        ..typed(DataType::Uint32, vec![1])
    };
    assert!(to_f32(&wrong_field, "x")
        .unwrap_err()
        .to_string()
        .contains("uint64_data holds 1099511627776, outside the range of uint32"));
}

#[test]
fn narrow_values_that_do_not_fit_their_type_are_malformed() {
    let int8 = TensorProto {
        int32_data: vec![200],
        ..typed(DataType::Int8, vec![1])
    };
    let err = to_f32(&int8, "x").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "tensor `t` is malformed: int32_data holds 200, outside the range of int8"
        ),
        "{err}"
    );
}

#[test]
fn float16_converts_exactly_including_subnormals_and_infinities() {
    // 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), -0.0, +inf, 0.333 (0x3555).
    let bits: [u16; 7] = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555];
    let halves = raw(
        DataType::Float16,
        vec![7],
        bits.iter().flat_map(|v| v.to_le_bytes()).collect(),
    );
    let data = to_f32(&halves, "x").unwrap().data().to_vec();
    assert_eq!(
        data[..6],
        [1.0, -2.0, 65504.0, 2f32.powi(-24), -0.0, f32::INFINITY]
    );
    assert!(data[4].is_sign_negative());
    assert_eq!(data[6], 0.333_251_95);
    let nan = TensorProto {
        int32_data: vec![0x7e00],
        ..typed(DataType::Float16, vec![1])
    };
    assert!(to_f32(&nan, "x").unwrap().data()[0].is_nan());
}

#[test]
fn bfloat16_is_the_upper_half_of_a_float32() {
    let values = TensorProto {
        int32_data: vec![0x3f80, 0xc040],
        ..typed(DataType::Bfloat16, vec![2])
    };
    assert_eq!(to_f32(&values, "x").unwrap().data(), &[1.0, -3.0]);
}

#[test]
fn doubles_round_to_float_and_overflow_is_an_error() {
    let doubles = TensorProto {
        double_data: vec![0.1, -2.5, f64::INFINITY],
        ..typed(DataType::Double, vec![3])
    };
    assert_eq!(
        to_f32(&doubles, "x").unwrap().data(),
        &[0.1f32, -2.5, f32::INFINITY]
    );
    let raw_doubles = raw(DataType::Double, vec![1], 0.5f64.to_le_bytes().to_vec());
    assert_eq!(to_f32(&raw_doubles, "x").unwrap().data(), &[0.5]);
    let huge = TensorProto {
        double_data: vec![1.0e300],
        ..typed(DataType::Double, vec![1])
    };
    let err = to_f32(&huge, "x").unwrap_err();
    assert!(
        matches!(err, ImportError::FloatOverflow { ref tensor, value } if tensor == "t" && value == 1.0e300),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("beyond the float32 range"),
        "{err}"
    );
}

#[test]
fn float8_and_strings_are_unsupported() {
    for (data_type, name) in [
        (DataType::Float8e4m3fn, "FLOAT8E4M3FN"),
        (DataType::String, "STRING"),
        (DataType::Complex128, "COMPLEX128"),
    ] {
        let err = to_f32(&typed(data_type, vec![0]), "x").unwrap_err();
        assert!(
            matches!(err, ImportError::UnsupportedDataType { ref data_type, supported, .. } if data_type == name && supported == SUPPORTED),
            "{err:?}"
        );
    }
}

#[test]
fn slice_sentinels_become_two_to_the_62() {
    let ends = TensorProto {
        int64_data: vec![
            i64::MAX,
            i64::MIN,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            -1,
        ],
        ..typed(DataType::Int64, vec![5])
    };
    let big = (1u64 << 62) as f32;
    assert_eq!(
        to_f32(&ends, "x").unwrap().data(),
        &[big, -big, big, -big, -1.0]
    );
    // One below the extreme is an ordinary value, and float32 cannot hold it.
    let near = TensorProto {
        int64_data: vec![i64::MAX - 1],
        ..typed(DataType::Int64, vec![1])
    };
    assert!(matches!(
        to_f32(&near, "x"),
        Err(ImportError::NotRepresentable { .. })
    ));
}
