//! The instruction loop of the two share-holders (P0 and P1). What differs between them
//! (who holds the weights, who receives the helper's corrections, who adds public
//! constants) is behind [`Role`]; the loop itself is the same for both.

use crate::link::Link;
use crate::report::Recorder;
use crate::{local, plain, slots, RuntimeError};
use cryptflow_compiler::passes::memory::{self, MemoryPlan};
use cryptflow_ir::{Instruction, Kernel, Program, WeightId};
use cryptflow_protocol::linear::{Bilinear, Elementwise, MatMulShape};
use cryptflow_protocol::pool::{self, MaxTree};
use cryptflow_protocol::product::{Pairing, ProductShape, ProductStep, SecureProduct, TripleShare};
use cryptflow_protocol::relu::{ReluCorrelation, SecureSelect, Width};
use cryptflow_protocol::{division, truncation, Step, StreamId};
use cryptflow_ring::conv::ConvGeometry;
use cryptflow_ring::{Party, Prg};

/// Stream purposes within one instruction.
pub(crate) const LINEAR: u8 = 0;
pub(crate) const SELECT: u8 = 1;
pub(crate) const PRODUCT: u8 = 2;

/// What P0 and P1 do differently.
pub(crate) trait Role {
    fn party(&self) -> Party;

    /// This party's share of `f(W, X)` for the model owner's weight `weight`, with W
    /// in blocks of `block` output units if the memory plan says so (only a weight's
    /// single use is blocked).
    fn linear(
        &mut self,
        link: &mut Link,
        step: usize,
        f: &dyn Bilinear,
        weight: WeightId,
        block: Option<usize>,
        x: &[u64],
    ) -> Result<Vec<u64>, RuntimeError>;

    /// Adds a model-owner constant (bias) laid out by `add`; a no-op for the client.
    fn add_constant(
        &self,
        values: &mut [u64],
        weight: WeightId,
        add: fn(&mut [u64], &[u64]),
    ) -> Result<(), RuntimeError>;

    /// This party's part of the multiplication triple of the product at `step`.
    fn triple(
        &mut self,
        link: &mut Link,
        step: usize,
        f: &dyn Pairing,
    ) -> Result<TripleShare, RuntimeError>;

    /// This party's share of a public constant: the model owner holds it, the client 0.
    fn public_share(&self, value: u64) -> u64;

    /// This party's share of the dealt randomness for the select piece number `index`
    /// of instruction `step` (`n` elements at `width`), drawn from the step's stream
    /// `prg`, which continues from piece to piece (so pieces draw what the whole batch
    /// would).
    fn select_piece(
        &mut self,
        link: &mut Link,
        step: usize,
        prg: &mut Prg,
        piece: (usize, Width),
        index: u16,
    ) -> Result<ReluCorrelation, RuntimeError>;
}

/// Runs the program on this party's share of the input; returns its output share.
pub(crate) fn run(
    role: &mut dyn Role,
    link: &mut Link,
    program: &Program,
    plan: &MemoryPlan,
    input_share: Vec<u64>,
    recorder: &mut Recorder,
) -> Result<Vec<u64>, RuntimeError> {
    slots::execute(program, input_share, |step, instruction, operands| {
        recorder.begin(link);
        let kernel = &instruction.kernel;
        let width = comparison_width(instruction);
        let out = execute(role, link, program, plan, (step, width), kernel, operands)?;
        recorder.end(link, &instruction.source, instruction.kernel.name());
        Ok(out)
    })
}

/// One kernel on this party's shares of its operands (data and shape).
fn execute(
    role: &mut dyn Role,
    link: &mut Link,
    program: &Program,
    plan: &MemoryPlan,
    (step, width): (usize, Width),
    kernel: &Kernel,
    operands: &[(&[u64], &[usize])],
) -> Result<Vec<u64>, RuntimeError> {
    let party = role.party();
    let scale = program.scale;
    let (piece, block) = (plan.piece(step), plan.block(step));
    let (x, shape) = operands[0];
    Ok(match kernel {
        Kernel::Conv {
            geometry,
            weight,
            bias,
        } => {
            let mut z = role.linear(link, step, geometry, *weight, block, x)?;
            if let Some(b) = bias {
                role.add_constant(&mut z, *b, local::add_channel_bias)?;
            }
            z
        }
        Kernel::MatMul {
            rows,
            inner,
            out,
            weight,
            bias,
        } => {
            let shape = MatMulShape {
                rows: *rows,
                inner: *inner,
                out: *out,
            };
            let mut z = role.linear(link, step, &shape, *weight, block, x)?;
            if let Some(b) = bias {
                role.add_constant(&mut z, *b, local::add_row_bias)?;
            }
            z
        }
        Kernel::Scale { weight } => {
            role.linear(link, step, &Elementwise { len: x.len() }, *weight, None, x)?
        }
        Kernel::Truncate { bits } => {
            let mut z = x.to_vec();
            truncation::truncate_share(party, &mut z, *bits);
            z
        }
        Kernel::Relu => relu_batch(role, link, &mut Selects::new(link, step, piece, width), x)?,
        Kernel::Clip { min, max } => {
            // min(max(x, lo), hi) = lo + ReLU(x − lo) − ReLU(x − hi), one batch of ReLUs.
            let bound = |b: f32| role.public_share(plain::encode(b, scale));
            let bounds: Vec<u64> = [*min, *max].iter().flatten().map(|&b| bound(b)).collect();
            let diffs: Vec<u64> = bounds
                .iter()
                .flat_map(|&b| x.iter().map(move |v| v.wrapping_sub(b)))
                .collect();
            let relus = relu_batch(
                role,
                link,
                &mut Selects::new(link, step, piece, width),
                &diffs,
            )?;
            let (n, parts) = (x.len(), relus.chunks(x.len().max(1)).collect::<Vec<_>>());
            match (min, max) {
                (Some(_), Some(_)) => (0..n)
                    .map(|i| {
                        bounds[0]
                            .wrapping_add(parts[0][i])
                            .wrapping_sub(parts[1][i])
                    })
                    .collect(),
                (Some(_), None) => parts[0]
                    .iter()
                    .map(|r| bounds[0].wrapping_add(*r))
                    .collect(),
                (None, Some(_)) => local::sub(x, parts[0]),
                (None, None) => x.to_vec(),
            }
        }
        Kernel::LeakyRelu { alpha } => {
            let relu = relu_batch(role, link, &mut Selects::new(link, step, piece, width), x)?;
            plain::leaky_combine(x, &relu, *alpha, scale)
        }
        Kernel::MaxPool(geometry) => {
            // One select batch per tree level, each in the plan's pieces.
            let mut tree = MaxTree::new(x, &geometry.windows());
            let mut selects = Selects::new(link, step, piece, width);
            while let Some(differences) = tree.differences() {
                let relu = relu_batch(role, link, &mut selects, &differences)?;
                tree.combine(&relu);
            }
            tree.output()
        }
        Kernel::AvgPool { geometry, divisors } => {
            let mut z = pool::window_sums(x, geometry);
            division::divide_share(party, &mut z, &plain::widen(divisors));
            z
        }
        Kernel::Add => local::add(x, operands[1].0),
        Kernel::Sub => local::sub(x, operands[1].0),
        Kernel::AddConstant { weight } => {
            let mut z = x.to_vec();
            role.add_constant(&mut z, *weight, |v, c| {
                v.iter_mut()
                    .zip(c)
                    .for_each(|(v, c)| *v = v.wrapping_add(*c))
            })?;
            z
        }
        Kernel::Concat { axis } => local::concat(operands, *axis),
        Kernel::Transpose { perm } => local::transpose(x, shape, perm),
        Kernel::Pad { pads, value } => local::pad(
            x,
            shape,
            pads,
            role.public_share(plain::encode(*value, scale)),
        ),
        Kernel::Reshape => x.to_vec(),
        // Linear, so each share-holder slices or negates its own share.
        Kernel::Slice { axes } => local::slice(x, shape, axes),
        Kernel::Neg => x.iter().map(|v| v.wrapping_neg()).collect(),
        Kernel::Mul => {
            let (y, y_shape) = operands[1];
            let map = local::product_map(shape, y_shape);
            let shape = ProductShape {
                map: &map,
                y_len: y.len(),
            };
            let triple = role.triple(link, step, &shape)?;
            let (product, opening) = SecureProduct::start(party, &shape, (x, y), triple)?;
            let mut product = ProductStep::new(product);
            link.drive(step, 0, Step::Send(opening), |m| product.step(m))?
        }
        other => unreachable!("validated programs have no {} kernel", other.name()),
    })
}

/// The selects of one instruction: its randomness stream, continued from piece to
/// piece and level to level, the plan's piece size, and the pieces run so far (each
/// piece's rounds follow the ones before).
struct Selects {
    step: usize,
    prg: Prg,
    piece: Option<usize>,
    width: Width,
    done: u16,
}

impl Selects {
    fn new(link: &Link, step: usize, piece: Option<usize>, width: Width) -> Selects {
        Selects {
            step,
            prg: link.stream(Party::Helper, stream(step, SELECT)),
            piece,
            width,
            done: 0,
        }
    }
}

/// The width of an instruction's comparisons. Programs are validated before they run
/// (`Program::validate` refuses any other width); were one not, the exact width is the
/// safe reading, and a party that read it otherwise would be refused for its message
/// lengths, never computing a wrong result.
pub(crate) fn comparison_width(instruction: &Instruction) -> Width {
    Width::new(instruction.comparison_bits).unwrap_or(Width::FULL)
}

/// ReLU of a batch of shares, in the plan's pieces (see the compiler's memory pass).
fn relu_batch(
    role: &mut dyn Role,
    link: &mut Link,
    selects: &mut Selects,
    x: &[u64],
) -> Result<Vec<u64>, RuntimeError> {
    let step = selects.step;
    let mut out = Vec::with_capacity(x.len());
    for (start, len) in memory::pieces(x.len(), selects.piece) {
        let index = selects.done;
        selects.done = selects.done.saturating_add(1);
        let width = selects.width;
        let correlation = role.select_piece(link, step, &mut selects.prg, (len, width), index)?;
        let part = &x[start..start + len];
        let (mut select, first) = SecureSelect::start(role.party(), part, part, correlation)?;
        let first_round = index.saturating_mul(width.rounds());
        out.extend(link.drive(step, first_round, Step::Send(first), |m| select.step(m))?);
    }
    Ok(out)
}

/// The bilinear map of a linear kernel (one multiplying by a model owner's weight).
pub(crate) enum LinearMap<'k> {
    Conv(&'k ConvGeometry),
    MatMul(MatMulShape),
    Elementwise(Elementwise),
}

impl LinearMap<'_> {
    pub fn bilinear(&self) -> &dyn Bilinear {
        match self {
            LinearMap::Conv(geometry) => *geometry,
            LinearMap::MatMul(shape) => shape,
            LinearMap::Elementwise(f) => f,
        }
    }
}

/// The map and weight of a linear kernel whose first input has `input_len` words;
/// `None` for any other kernel. The one reading of "which kernels are linear" that
/// the helper's dealing and P1's offline phase share with the instruction loop.
pub(crate) fn linear_step(kernel: &Kernel, input_len: usize) -> Option<(LinearMap<'_>, WeightId)> {
    match kernel {
        Kernel::Conv {
            geometry, weight, ..
        } => Some((LinearMap::Conv(geometry), *weight)),
        Kernel::MatMul {
            rows,
            inner,
            out,
            weight,
            ..
        } => Some((
            LinearMap::MatMul(MatMulShape {
                rows: *rows,
                inner: *inner,
                out: *out,
            }),
            *weight,
        )),
        Kernel::Scale { weight } => Some((
            LinearMap::Elementwise(Elementwise { len: input_len }),
            *weight,
        )),
        _ => None,
    }
}

pub(crate) fn stream(step: usize, purpose: u8) -> StreamId {
    StreamId::for_step(step, purpose)
}
