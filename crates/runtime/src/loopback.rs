//! All three parties in one process, each on its own thread, over real TCP on
//! 127.0.0.1: for benchmarks and tests that want the network stack without the cost of
//! starting processes.

use crate::{
    run_client_attested, run_client_within, run_helper_attested, run_helper_within,
    run_model_owner_attested, run_model_owner_within, Attestation, PartyReport, Prediction,
    RuntimeError, SessionOptions,
};
use cryptflow_ir::{Program, Weights};
use cryptflow_net::{NetError, Party, TcpConfig, TcpTransport};
use cryptflow_ring::Tensor;
use std::net::{SocketAddr, TcpListener};
use std::thread;

/// The client's prediction and the model owner's and helper's reports.
#[derive(Debug)]
pub struct LoopbackRun {
    pub prediction: Prediction,
    pub owner: PartyReport,
    pub helper: PartyReport,
}

/// Runs one secure inference over loopback TCP. The listeners are bound before any
/// party starts, so there is no port race.
pub fn run_on_loopback(
    program: &Program,
    weights: &Weights,
    input: &Tensor<f32>,
) -> Result<LoopbackRun, RuntimeError> {
    run_on_loopback_in_mode(program, weights, input, None, SessionOptions::default())
}

/// As [`run_on_loopback`]; with `attestation`, in attested (malicious) mode (which
/// takes its session options from it), else with `options` for all three.
pub fn run_on_loopback_in_mode(
    program: &Program,
    weights: &Weights,
    input: &Tensor<f32>,
    attestation: Option<&Attestation<'_>>,
    options: SessionOptions,
) -> Result<LoopbackRun, RuntimeError> {
    let bind = || {
        TcpListener::bind("127.0.0.1:0").map_err(|source| NetError::Io {
            context: "binding 127.0.0.1".into(),
            source,
        })
    };
    let listeners = [bind()?, bind()?, bind()?];
    let mut addrs = [SocketAddr::from(([127, 0, 0, 1], 0)); 3];
    for (addr, listener) in addrs.iter_mut().zip(&listeners) {
        *addr = listener.local_addr().map_err(|source| NetError::Io {
            context: "reading a bound address".into(),
            source,
        })?;
    }
    let [l0, l1, l2] = listeners;
    let config = TcpConfig::default();
    let helper_config = TcpConfig::for_party(Party::Helper);
    thread::scope(|scope| {
        let owner = scope.spawn(|| {
            let mut t = TcpTransport::connect_with_listener(Party::ModelOwner, l0, addrs, &config)?;
            match attestation {
                None => run_model_owner_within(&mut t, program, weights, options),
                Some(a) => run_model_owner_attested(&mut t, program, weights, a),
            }
        });
        let helper = scope.spawn(|| {
            let mut t =
                TcpTransport::connect_with_listener(Party::Helper, l2, addrs, &helper_config)?;
            match attestation {
                None => run_helper_within(&mut t, options),
                Some(a) => run_helper_attested(&mut t, a),
            }
        });
        let prediction = TcpTransport::connect_with_listener(Party::Client, l1, addrs, &config)
            .map_err(RuntimeError::from)
            .and_then(|mut t| match attestation {
                None => run_client_within(&mut t, input, options),
                Some(a) => run_client_attested(&mut t, input, a),
            });
        let owner = owner
            .join()
            .unwrap_or_else(|_| panic!("the model owner's thread panicked"));
        let helper = helper
            .join()
            .unwrap_or_else(|_| panic!("the helper's thread panicked"));
        Ok(LoopbackRun {
            prediction: prediction?,
            owner: owner?,
            helper: helper?,
        })
    })
}
