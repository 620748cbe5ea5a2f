//! Helpers for the CLI tests: run the real `cryptflow` binary with bounded waits,
//! write `.npy` files, build a small ONNX model, find free ports and the bundled models.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use cryptflow_onnx::proto::tensor_proto::DataType;
use cryptflow_onnx::proto::tensor_shape_proto::{dimension, Dimension};
use cryptflow_onnx::proto::{
    attribute_proto::AttributeType, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use npyz::WriterBuilder;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The `cryptflow` binary cargo built for these tests.
pub const EXE: &str = env!("CARGO_BIN_EXE_cryptflow");

/// The repository's bundled models (`models/`).
pub fn models() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
}

pub fn model(name: &str) -> PathBuf {
    models().join(name)
}

/// `models/digits/digit_7.npy`: a real handwritten 7, shape [1, 1, 28, 28].
pub fn digit_7() -> PathBuf {
    models().join("digits").join("digit_7.npy")
}

/// A started `cryptflow` process that is killed when dropped, so no test leaves one
/// behind, even when an assertion fails. Its pipes are drained on threads.
#[derive(Debug)]
pub struct Running {
    name: String,
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// How a finished process ended and what it printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl Running {
    pub fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(EXE)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {EXE} for {name}: {e}"));
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Running {
            name: name.to_owned(),
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Waits at most `limit` for the process to exit; kills it and fails the test
    /// if it does not.
    pub fn finish_within(mut self, limit: Duration) -> Finished {
        let started = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < limit => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let stderr = self.take_stderr();
                    panic!(
                        "{} did not exit within {limit:?}; it was killed. stderr:\n{stderr}",
                        self.name
                    );
                }
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
        };
        let elapsed = started.elapsed();
        let stdout = self.stdout.take().map(join).unwrap_or_default();
        let stderr = self.take_stderr();
        Finished {
            status,
            stdout,
            stderr,
            elapsed,
        }
    }

    fn take_stderr(&mut self) -> String {
        self.stderr.take().map(join).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Kill before joining the drain threads: they end when the pipes close.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

fn join(handle: JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

/// Runs `cryptflow ARGS` to its end, which must come within 20 s.
pub fn cryptflow(args: &[&str]) -> Finished {
    Running::start(&format!("cryptflow {}", args.join(" ")), args)
        .finish_within(Duration::from_secs(20))
}

/// Asserts a clean failure: exit code `code`, no panic, and every one of `needles`
/// in stderr.
pub fn assert_fails(outcome: &Finished, code: i32, needles: &[&str]) {
    assert_no_panic(outcome);
    assert_eq!(
        outcome.code(),
        Some(code),
        "wrong exit code; stderr:\n{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.starts_with("error: "),
        "stderr should start with `error: `:\n{}",
        outcome.stderr
    );
    for needle in needles {
        assert!(
            outcome.stderr.contains(needle),
            "stderr should contain {needle:?}:\n{}",
            outcome.stderr
        );
    }
}

pub fn assert_no_panic(outcome: &Finished) {
    assert!(
        !outcome.stderr.contains("panicked"),
        "the binary panicked:\n{}",
        outcome.stderr
    );
}

/// Writes a C-order `.npy` file of `shape` holding `data` with the type's default
/// dtype (`<f4` for f32, `<i8` for i64, ...).
pub fn write_npy<T>(path: &Path, shape: &[u64], data: &[T])
where
    T: npyz::AutoSerialize + Copy,
{
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create .npy"));
    let mut writer = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(file)
        .begin_nd()
        .expect("write .npy header");
    writer
        .extend(data.iter().copied())
        .expect("write .npy data");
    writer.finish().expect("finish .npy");
}

/// Reads a float32 `.npy` file's values.
pub fn read_npy_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(&bytes[..])
        .expect("a valid .npy")
        .into_vec::<f32>()
        .expect("float32 data")
}

/// The handwritten 7 as a [1, 784] float32 `.npy` in `dir` (what LogReg takes).
pub fn flat_digit_7(dir: &Path) -> PathBuf {
    let values = read_npy_f32(&digit_7());
    assert_eq!(values.len(), 784);
    let path = dir.join("digit_7_flat.npy");
    write_npy(&path, &[1, 784], &values);
    path
}

/// Listeners on free ports of 127.0.0.1 (bound now, so nobody else takes them).
pub fn listeners<const N: usize>() -> [TcpListener; N] {
    std::array::from_fn(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
}

pub fn port(listener: &TcpListener) -> u16 {
    listener.local_addr().expect("listener address").port()
}

/// Bytes that look like nothing in particular, the same every run (an LCG).
pub fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

/// Displays a path as the CLI does.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// A version 1.0 `.npy` file written by hand, with any header text (for headers no
/// writer would produce).
pub fn write_raw_npy(path: &Path, descr: &str, shape: &str, data: &[u8]) {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header, padded to 64 bytes with a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).expect("write .npy");
}

// ---------------------------------------------------------------- ONNX models

fn float_value(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            denotation: None,
                            value: Some(dimension::Value::DimValue(d)),
                        })
                        .collect(),
                }),
            })),
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// x [1, 1, side, side] -> Conv(`channels` filters, 3x3, pad 1) -> Relu -> MaxPool 2x2
/// -> y [1, channels, side/2, side/2], opset 13: one weight, one large select batch.
pub fn conv_relu_pool(channels: usize, side: usize) -> ModelProto {
    let mut conv = node("Conv", "conv", &["x", "w"], "c");
    conv.attribute
        .extend([ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])]);
    let mut pool = node("MaxPool", "pool", &["r"], "y");
    pool.attribute
        .extend([ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]);
    let weight = TensorProto {
        name: Some("w".into()),
        dims: vec![channels as i64, 1, 3, 3],
        data_type: Some(DataType::Float as i32),
        float_data: (0..channels * 9)
            .map(|i| ((i * 7919) % 17) as f32 / 8.0 - 1.0)
            .collect(),
        ..Default::default()
    };
    let (c, s, h) = (channels as i64, side as i64, side as i64 / 2);
    opset13_model(GraphProto {
        name: Some("conv_relu_pool".into()),
        node: vec![conv, node("Relu", "relu", &["c"], "r"), pool],
        initializer: vec![weight],
        input: vec![float_value("x", &[1, 1, s, s])],
        output: vec![float_value("y", &[1, c, h, h])],
        ..Default::default()
    })
}

/// x [1, inner] -> Gemm(W [out, inner], transB) -> y [1, out], opset 13: one weight
/// of `inner` × `out`, for a model owner whose weight, not its activations, is the
/// memory.
pub fn dense(inner: usize, out: usize) -> ModelProto {
    let mut gemm = node("Gemm", "fc", &["x", "w"], "y");
    gemm.attribute.push(AttributeProto {
        name: Some("transB".into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(1),
        ..Default::default()
    });
    let weight = TensorProto {
        name: Some("w".into()),
        dims: vec![out as i64, inner as i64],
        data_type: Some(DataType::Float as i32),
        float_data: (0..inner * out)
            .map(|i| ((i * 7919) % 17) as f32 / 64.0 - 0.125)
            .collect(),
        ..Default::default()
    };
    opset13_model(GraphProto {
        name: Some("dense".into()),
        node: vec![gemm],
        initializer: vec![weight],
        input: vec![float_value("x", &[1, inner as i64])],
        output: vec![float_value("y", &[1, out as i64])],
        ..Default::default()
    })
}

/// A model of one graph, opset 13, as the tests' models are written.
fn opset13_model(graph: GraphProto) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        producer_name: Some("cryptflow cli tests".into()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(13),
        }],
        graph: Some(graph),
        ..Default::default()
    }
}

/// x [1, 1, 4, 4] -> Conv(1 filter, 3x3) -> NonZero -> y [1, 1, 2, 2], opset 13.
pub fn conv_non_zero() -> ModelProto {
    let mut conv = node("Conv", "conv1", &["x", "w"], "c");
    conv.attribute.push(ints("kernel_shape", &[3, 3]));
    let weight = TensorProto {
        name: Some("w".into()),
        dims: vec![1, 1, 3, 3],
        data_type: Some(DataType::Float as i32),
        float_data: vec![0.1; 9],
        ..Default::default()
    };
    opset13_model(GraphProto {
        name: Some("unsupported".into()),
        node: vec![conv, node("NonZero", "gate7", &["c"], "y")],
        initializer: vec![weight],
        input: vec![float_value("x", &[1, 1, 4, 4])],
        output: vec![float_value("y", &[1, 1, 2, 2])],
        ..Default::default()
    })
}
