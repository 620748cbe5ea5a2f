//! The instruction loop of the two share-holders (P0 and P1). What differs between them
//! (who holds the weights, who receives the helper's corrections, who adds public
//! constants) is behind [`Role`]; the loop itself is the same for both.

use crate::link::Link;
use crate::report::Recorder;
use crate::{local, RuntimeError};
use cryptflow_ir::{Kernel, Program, WeightId};
use cryptflow_protocol::linear::{Bilinear, MatMulShape};
use cryptflow_protocol::pool::{self, MaxPoolCorrelation, SecureMaxPool};
use cryptflow_protocol::relu::{ReluCorrelation, SecureSelect};
use cryptflow_protocol::{truncation, StreamId};
use cryptflow_ring::Party;

/// Stream purposes within one instruction.
pub(crate) const LINEAR: u8 = 0;
pub(crate) const SELECT: u8 = 1;

/// What P0 and P1 do differently.
pub(crate) trait Role {
    fn party(&self) -> Party;

    /// This party's share of `f(W, X)` for the model owner's weight `weight`.
    fn linear(
        &mut self,
        link: &mut Link,
        step: usize,
        f: &dyn Bilinear,
        weight: WeightId,
        x: &[u64],
    ) -> Result<Vec<u64>, RuntimeError>;

    /// Adds a model-owner constant (bias) laid out by `add`; a no-op for the client.
    fn add_constant(&self, values: &mut [u64], weight: WeightId, add: fn(&mut [u64], &[u64]));

    /// This party's share of the dealt randomness for `n` selections.
    fn select_correlation(
        &mut self,
        link: &mut Link,
        step: usize,
        n: usize,
    ) -> Result<ReluCorrelation, RuntimeError>;

    fn max_pool_correlation(
        &mut self,
        link: &mut Link,
        step: usize,
        sizes: &[usize],
    ) -> Result<MaxPoolCorrelation, RuntimeError>;
}

/// Runs the program on this party's share of the input; returns its output share.
pub(crate) fn run(
    role: &mut dyn Role,
    link: &mut Link,
    program: &Program,
    input_share: Vec<u64>,
    recorder: &mut Recorder,
) -> Result<Vec<u64>, RuntimeError> {
    let party = role.party();
    let mut slots: Vec<Option<Vec<u64>>> = vec![None; program.slot_shapes.len()];
    slots[program.input] = Some(input_share);
    for (step, instruction) in program.instructions.iter().enumerate() {
        recorder.begin(link);
        let x = slots[instruction.inputs[0]].take().unwrap_or_default();
        let out = match &instruction.kernel {
            Kernel::Conv {
                geometry,
                weight,
                bias,
            } => {
                let mut z = role.linear(link, step, geometry, *weight, &x)?;
                if let Some(b) = bias {
                    role.add_constant(&mut z, *b, local::add_channel_bias);
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
                let mut z = role.linear(link, step, &shape, *weight, &x)?;
                if let Some(b) = bias {
                    role.add_constant(&mut z, *b, local::add_row_bias);
                }
                z
            }
            Kernel::Truncate { bits } => {
                let mut z = x.clone();
                truncation::truncate_share(party, &mut z, *bits);
                z
            }
            Kernel::Relu => {
                let correlation = role.select_correlation(link, step, x.len())?;
                let (mut select, first) = SecureSelect::start(party, &x, &x, correlation)?;
                link.drive(cryptflow_protocol::Step::Send(first), |m| select.step(m))?
            }
            Kernel::MaxPool(geometry) => {
                let windows = geometry.windows();
                let correlation =
                    role.max_pool_correlation(link, step, &pool::max_tree_sizes(&windows))?;
                let (mut max_pool, first) = SecureMaxPool::start(party, &x, &windows, correlation)?;
                link.drive(first, |m| max_pool.step(m))?
            }
            Kernel::SumPool { geometry, factors } => pool::sum_pool(&x, geometry, factors),
            Kernel::Add => {
                let y = slots[instruction.inputs[1]].as_deref().unwrap_or(&x);
                local::add(&x, y)
            }
            Kernel::AddConstant { weight } => {
                let mut z = x.clone();
                role.add_constant(&mut z, *weight, |v, c| {
                    v.iter_mut()
                        .zip(c)
                        .for_each(|(v, c)| *v = v.wrapping_add(*c))
                });
                z
            }
            Kernel::Reshape => x.clone(),
            other => unreachable!("validated programs have no {} kernel", other.name()),
        };
        // The first input was taken out to avoid a copy; put it back unless it dies here.
        if !instruction.free.contains(&instruction.inputs[0]) {
            slots[instruction.inputs[0]] = Some(x);
        }
        slots[instruction.output] = Some(out);
        for &slot in &instruction.free {
            slots[slot] = None;
        }
        recorder.end(link, &instruction.source, instruction.kernel.name());
    }
    Ok(slots[program.output].take().unwrap_or_default())
}

pub(crate) fn stream(step: usize, purpose: u8) -> StreamId {
    StreamId::for_step(step, purpose)
}
