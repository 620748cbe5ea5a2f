//! Loading what the user gives us: a model file and an input tensor.

use anyhow::{bail, Context, Result};
use cryptflow_compiler::Compiled;
use cryptflow_ir::artifact::ModelFile;
use cryptflow_ir::{Program, WeightSource};
use cryptflow_ring::Tensor;
use std::io::Read;
use std::path::Path;

/// A failure caused by what the user gave us (exit code 2), as opposed to a failure of
/// the run itself (exit code 1).
#[derive(Debug)]
pub struct UsageError(pub anyhow::Error);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for UsageError {}

/// Wraps an error as the user's to fix.
pub fn usage(error: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(UsageError(error))
}

/// Reads a model file, with a message that says what to check.
pub fn read_model_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| model_file_error(path, e))
}

fn model_file_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    usage(if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!(
            "model file `{}` does not exist: check the path (a relative path is resolved from the current directory)",
            path.display()
        )
    } else {
        anyhow::anyhow!(
            "cannot read model file `{}` ({e}): check that it is a readable file",
            path.display()
        )
    })
}

/// The model as the model owner runs it.
pub enum OwnerModel {
    /// A compiled `.cfp`, its weights read from the file as they are used.
    File(ModelFile),
    /// An ONNX model, compiled in memory.
    Compiled(Compiled),
}

impl OwnerModel {
    pub fn program(&self) -> &Program {
        match self {
            OwnerModel::File(file) => file.program(),
            OwnerModel::Compiled(compiled) => &compiled.program,
        }
    }

    pub fn weights(&self) -> &dyn WeightSource {
        match self {
            OwnerModel::File(file) => file,
            OwnerModel::Compiled(compiled) => &compiled.weights,
        }
    }
}

/// Opens a model: a compiled `.cfp` (its header read and every weight checked, the
/// weights left in the file), or an ONNX file compiled at `scale`.
pub fn open_model(path: &Path, scale: u32) -> Result<OwnerModel> {
    if is_compiled(path)? {
        let file = ModelFile::open(path).map_err(|e| {
            usage(anyhow::Error::new(e).context(format!("cannot load {}", path.display())))
        })?;
        return Ok(OwnerModel::File(file));
    }
    let bytes = read_model_bytes(path)?;
    let graph = import(path, &bytes)?;
    drop(bytes);
    let compiled = cryptflow_compiler::compile(graph, scale).map_err(|e| {
        usage(anyhow::Error::new(e).context(format!("cannot compile {}", path.display())))
    })?;
    Ok(OwnerModel::Compiled(compiled))
}

/// Loads a model with all its weights in memory: a compiled `.cfp` as it is, or an
/// ONNX file compiled at `scale`.
pub fn load_model(path: &Path, scale: u32) -> Result<Compiled> {
    match open_model(path, scale)? {
        OwnerModel::Compiled(compiled) => Ok(compiled),
        OwnerModel::File(file) => Ok(Compiled {
            weights: file.load_all().map_err(|e| {
                usage(anyhow::Error::new(e).context(format!("cannot load {}", path.display())))
            })?,
            program: file.program().clone(),
            real_weights: Vec::new(),
        }),
    }
}

/// Whether the file at `path` starts like a compiled model.
pub fn is_compiled(path: &Path) -> Result<bool> {
    let mut start = Vec::with_capacity(cryptflow_ir::artifact::MAGIC.len());
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(cryptflow_ir::artifact::MAGIC.len() as u64)
                .read_to_end(&mut start)
        })
        .map_err(|e| model_file_error(path, e))?;
    Ok(cryptflow_ir::artifact::is_artifact(&start))
}

/// Imports an ONNX model's bytes.
pub fn import(path: &Path, bytes: &[u8]) -> Result<cryptflow_ir::Graph> {
    cryptflow_onnx::import_bytes(bytes).map_err(|e| {
        usage(anyhow::Error::new(e).context(format!("cannot import {}", path.display())))
    })
}

/// Loads an input: a photo (preprocessed as `preprocess` says) or a `.npy` tensor.
pub fn load_any(path: &Path, preprocess: &crate::image_input::Preprocess) -> Result<Tensor<f32>> {
    if crate::image_input::is_image(path) {
        crate::image_input::load_image(path, preprocess)
    } else {
        load_input(path)
    }
}

/// Reads a `.npy` tensor of float32 (float64 is converted) values.
pub fn load_input(path: &Path) -> Result<Tensor<f32>> {
    read_npy(path).map_err(|e| usage(e.context(format!("cannot use {} as input", path.display()))))
}

/// Writes a float32 tensor as `.npy` (what `numpy.load` reads).
pub fn write_npy(path: &Path, tensor: &Tensor<f32>) -> Result<()> {
    use npyz::WriterBuilder;
    let shape: Vec<u64> = tensor.shape().iter().map(|&d| d as u64).collect();
    let mut bytes = Vec::new();
    {
        let mut writer = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut bytes)
            .begin_nd()?;
        writer.extend(tensor.data().iter().copied())?;
        writer.finish()?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn read_npy(path: &Path) -> Result<Tensor<f32>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    check_npy_shape(&bytes)?;
    let npy =
        npyz::NpyFile::new(&bytes[..]).context("not a valid .npy file (numpy.save writes one)")?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if npy.order() == npyz::Order::Fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
        bail!("the array is in Fortran order; save it with numpy.ascontiguousarray first");
    }
    let type_str = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => bail!("unsupported dtype {other:?}: save the input as float32"),
    };
    let data: Vec<f32> = match type_str.as_str() {
        "<f4" | "|f4" => npy
            .into_vec::<f32>()
            .context("the .npy data is truncated or corrupt")?,
        "<f8" | "|f8" => npy
            .into_vec::<f64>()
            .context("the .npy data is truncated or corrupt")?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        other => bail!(
            "unsupported dtype {other}: the input must be float32 (numpy: x.astype(np.float32))"
        ),
    };
    if let Some(index) = data.iter().position(|v| !v.is_finite()) {
        bail!(
            "element {index} is {}: inputs must be finite numbers",
            data[index]
        );
    }
    Tensor::new(shape, data).context("the .npy header does not match its data")
}

/// Checks the header's shape against the file size before the npy reader allocates or
/// multiplies anything: a corrupt header must be an error, not an overflow.
fn check_npy_shape(bytes: &[u8]) -> Result<()> {
    let not_npy = || anyhow::anyhow!("not a valid .npy file (numpy.save writes one)");
    if bytes.len() < 10 || !bytes.starts_with(b"\x93NUMPY") {
        return Err(not_npy());
    }
    let (start, len) = match bytes[6] {
        1 => (
            10usize,
            usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
        ),
        _ if bytes.len() >= 12 => (
            12,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        ),
        _ => return Err(not_npy()),
    };
    let header = bytes
        .get(start..start.saturating_add(len))
        .ok_or_else(not_npy)?;
    let header = String::from_utf8_lossy(header);
    let dims = header
        .split("'shape':")
        .nth(1)
        .and_then(|rest| rest.split_once('(')?.1.split_once(')'))
        .map(|(dims, _)| dims)
        .ok_or_else(not_npy)?;
    let elements = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .try_fold(1usize, |acc, d| acc.checked_mul(d.parse::<usize>().ok()?))
        .ok_or_else(|| anyhow::anyhow!("the .npy header's shape ({dims}) is not a valid size"))?;
    if elements > bytes.len() {
        bail!("the .npy header claims {elements} elements but the file holds only {} bytes: it is truncated or corrupt", bytes.len());
    }
    Ok(())
}
