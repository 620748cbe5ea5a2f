//! P2, the helper: deals the correlated randomness of every step to P1, derived from
//! the seeds it shares with each share-holder. It holds no share of any secret and
//! receives nothing during the run, so it can stream everything ahead of need.

use crate::link::Link;
use crate::report::{PartyReport, Recorder};
use crate::shareholder::{select_sizes, stream, LINEAR, SELECT};
use crate::{session, RuntimeError};
use cryptflow_ir::{Kernel, Program, WeightId};
use cryptflow_net::Transport;
use cryptflow_protocol::linear::{self, Bilinear, Elementwise, MatMulShape};
use cryptflow_protocol::pool::MaxPoolCorrelation;
use cryptflow_protocol::StreamId;
use cryptflow_ring::Party;

/// Runs P2 to the end of one inference.
pub fn run_helper(transport: &mut dyn Transport) -> Result<PartyReport, RuntimeError> {
    let mut recorder = Recorder::new();
    let seeds = session::establish_seeds(transport)?;
    let program = session::receive_program(transport)?;
    let mut link = Link::new(transport, seeds);
    let setup = recorder.elapsed();
    for (step, instruction) in program.instructions.iter().enumerate() {
        recorder.begin(&link);
        let n = program.slot_len(instruction.inputs[0]);
        let message = match &instruction.kernel {
            Kernel::Conv {
                geometry, weight, ..
            } => Some(deal_linear(&link, &program, step, geometry, *weight)),
            Kernel::MatMul {
                rows,
                inner,
                out,
                weight,
                ..
            } => {
                let shape = MatMulShape {
                    rows: *rows,
                    inner: *inner,
                    out: *out,
                };
                Some(deal_linear(&link, &program, step, &shape, *weight))
            }
            Kernel::Scale { weight } => Some(deal_linear(
                &link,
                &program,
                step,
                &Elementwise { len: n },
                *weight,
            )),
            kernel => select_sizes(kernel, n).map(|sizes| {
                let (mut p0, mut p1) = pair_streams(&link, stream(step, SELECT));
                MaxPoolCorrelation::deal(&sizes, &mut p0, &mut p1)
            }),
        };
        if let Some(message) = message {
            link.send(Party::Client, &message)?;
        }
        recorder.end(&link, &instruction.source, instruction.kernel.name());
    }
    let online = recorder.elapsed() - setup;
    Ok(recorder.finish(&link, setup, online))
}

fn pair_streams(link: &Link, id: StreamId) -> (cryptflow_ring::Prg, cryptflow_ring::Prg) {
    (
        link.stream(Party::ModelOwner, id),
        link.stream(Party::Client, id),
    )
}

fn deal_linear(
    link: &Link,
    program: &Program,
    step: usize,
    f: &dyn Bilinear,
    weight: WeightId,
) -> Vec<u64> {
    let len = program.weight_shapes[weight].iter().product();
    let mask = linear::weight_mask(
        len,
        &mut link.stream(Party::ModelOwner, StreamId::for_weight(weight)),
    );
    let (mut p0, mut p1) = pair_streams(link, stream(step, LINEAR));
    linear::deal(f, &mask, &mut p0, &mut p1)
}
