//! `cryptflow party`: one party of the protocol, for running on three hosts.

use crate::inputs;
use crate::report::{peak_rss_mib, LayerLine, PartyLine};
use anyhow::{Context, Result};
use clap::Args;
use cryptflow_net::{Party, TcpConfig, TcpTransport};
use cryptflow_runtime::{run_client, run_helper, run_model_owner, PartyReport};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct PartyArgs {
    /// 0 = model owner (needs --model), 1 = client (needs --input), 2 = helper.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub id: u8,
    /// The three parties' addresses, in order: HOST:PORT,HOST:PORT,HOST:PORT.
    #[arg(long, value_delimiter = ',', required = true)]
    pub peers: Vec<String>,
    /// The ONNX model (model owner only).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The input: a .npy tensor or a .jpg/.png photo (client only).
    #[arg(long)]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub preprocess: crate::image_input::Preprocess,
    /// Fixed-point scale: fractional bits.
    #[arg(long, default_value_t = cryptflow_compiler::DEFAULT_SCALE.into())]
    pub scale: u32,
    /// Seconds to wait for the other parties to connect, and for any message.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// A session id (32 hex digits) that all three parties must share.
    #[arg(long)]
    pub session: Option<String>,
    /// Print one JSON line with the party's measurements (used by `infer`).
    #[arg(long, hide = true)]
    pub report: bool,
}

pub fn run(args: PartyArgs) -> Result<()> {
    let me = Party::from_index(args.id.into()).context("party id must be 0, 1 or 2")?;
    let addrs = resolve(&args.peers)?;
    // Load what this party brings before connecting, so that bad files fail fast.
    let model = match (me, &args.model) {
        (Party::ModelOwner, Some(path)) => Some(inputs::load_model(path, args.scale)?),
        (Party::ModelOwner, None) => {
            return Err(inputs::usage(anyhow::anyhow!(
                "party 0 (model owner) needs --model MODEL.onnx"
            )))
        }
        _ => None,
    };
    let input = match (me, &args.input) {
        (Party::Client, Some(path)) => Some(inputs::load_any(path, &args.preprocess)?),
        (Party::Client, None) => {
            return Err(inputs::usage(anyhow::anyhow!(
                "party 1 (client) needs --input X.npy"
            )))
        }
        _ => None,
    };
    let config = TcpConfig {
        connect_timeout: Duration::from_secs(args.timeout),
        io_timeout: Duration::from_secs(args.timeout.max(1) * 4),
        session_id: parse_session(args.session.as_deref())?,
        ..TcpConfig::default()
    };
    let mut transport = TcpTransport::connect(me, addrs, &config)
        .with_context(|| format!("{me} could not reach the other parties"))?;
    let (report, output) = match (model, input) {
        (Some(compiled), _) => (
            run_model_owner(&mut transport, &compiled.program, &compiled.weights)?,
            None,
        ),
        (_, Some(x)) => {
            let prediction = run_client(&mut transport, &x)?;
            (prediction.report, Some(prediction.output))
        }
        _ => (run_helper(&mut transport)?, None),
    };
    transport.close().context("flushing the last messages")?;
    print_outcome(me, &report, output, args.report)
}

fn print_outcome(
    me: Party,
    report: &PartyReport,
    output: Option<cryptflow_ring::Tensor<f32>>,
    machine: bool,
) -> Result<()> {
    let line = PartyLine {
        party: me.index(),
        setup_s: report.setup_seconds,
        online_s: report.online_seconds,
        bytes_sent: report.comm.bytes_sent,
        bytes_received: report.comm.bytes_received,
        rounds: report.rounds,
        peak_rss_mib: peak_rss_mib(),
        shape: output.as_ref().map(|o| o.shape().to_vec()),
        output: output.map(|o| o.into_data()),
        layers: report.layers.iter().map(LayerLine::from).collect(),
    };
    if machine {
        println!("{}", serde_json::to_string(&line)?);
    } else {
        if let Some(values) = &line.output {
            println!("output: {values:?}");
            println!("top-1: {}", crate::report::argmax(values));
        }
        println!(
            "{me}: {:.1} ms online, {:.3} MiB sent, {} rounds",
            line.online_s * 1e3,
            crate::report::mib(line.bytes_sent),
            line.rounds
        );
    }
    Ok(())
}

fn resolve(peers: &[String]) -> Result<[SocketAddr; 3]> {
    let mut addrs = Vec::with_capacity(3);
    for peer in peers {
        let addr = peer
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| inputs::usage(anyhow::anyhow!("`{peer}` is not a HOST:PORT address")))?;
        addrs.push(addr);
    }
    addrs
        .try_into()
        .map_err(|_| inputs::usage(anyhow::anyhow!("--peers needs exactly three addresses")))
}

fn parse_session(hex: Option<&str>) -> Result<[u8; 16]> {
    let mut id = [0u8; 16];
    if let Some(hex) = hex {
        if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(inputs::usage(anyhow::anyhow!(
                "--session must be 32 hex digits"
            )));
        }
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
        }
    }
    Ok(id)
}
