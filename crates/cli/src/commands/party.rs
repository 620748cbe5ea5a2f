//! `cryptflow party`: one party of the protocol, for running on three hosts.

use crate::inputs;
use crate::report::{
    argmax, own_profile, peak_rss_mib, print_profile, InferenceJson, LayerLine, PartyLine,
};
use crate::security::Mode;
use anyhow::{Context, Result};
use clap::Args;
use cryptflow_net::fault::FaultyHost;
use cryptflow_net::{Party, TcpConfig, TcpTransport, TlsIdentity};
use cryptflow_runtime::{
    run_client_attested, run_client_within, run_helper_attested, run_helper_within,
    run_model_owner_attested, run_model_owner_within, Attestation, PartyReport, SessionOptions,
};
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
    /// The model (model owner only): a compiled `.cfp`, whose weights are read as
    /// they are used, or an ONNX model, compiled in memory.
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
    /// Seconds allowed for connecting to the other two parties (the whole setup),
    /// and for progress on any message: a wait in which a peer sends us (or takes
    /// from us) no byte for this long fails, naming that peer. In malicious mode a
    /// silent peer is blamed after three timeouts (the first tells the others we wait).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// A session id (32 hex digits) that all three parties must share.
    #[arg(long)]
    pub session: Option<String>,
    /// This party's TLS private key, DIR/partyN.key as `cryptflow keygen` wrote it.
    #[arg(long, requires = "certs", conflicts_with = "plaintext")]
    pub key: Option<PathBuf>,
    /// A directory with the three parties' certificates party0.crt, party1.crt and
    /// party2.crt: exactly these are trusted (pinned), no CA.
    #[arg(long, requires = "key", conflicts_with = "plaintext")]
    pub certs: Option<PathBuf>,
    /// Run without TLS: the session seeds and masked values cross the network
    /// unencrypted and unauthenticated. Only for loopback or a trusted network.
    #[arg(long)]
    pub plaintext: bool,
    /// Print one JSON object on stdout, the one `infer --json` prints (fields this
    /// party cannot know are null).
    #[arg(long, conflicts_with = "report")]
    pub json: bool,
    #[command(flatten)]
    pub security: crate::security::SecurityArgs,
    /// Keep this party's peak memory under this many MiB: the three parties plan for
    /// the smallest of their budgets (ReLU and MaxPool run in pieces, at 8 more rounds
    /// a piece), or all refuse at the start, naming the smallest budget that works.
    /// The model owner must be given a compiled `.cfp` (`cryptflow compile`).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_budget: Option<u64>,
    /// Run an offline phase first: before the client's input is shared, the client
    /// multiplies every layer's masked weights and the helper deals them, so the
    /// online time (input to output) holds only the model owner's products and the
    /// comparisons. Costs the client memory (every layer's mask and share) and is no
    /// faster end to end; not under a memory budget. The three parties run one if any
    /// asks.
    #[arg(long, conflicts_with = "memory_budget")]
    pub offline_phase: bool,
    /// Print one JSON line with the party's measurements (used by `infer`).
    #[arg(long, hide = true)]
    pub report: bool,
    /// Report every step of the program as this party saw it: its time, the bytes
    /// this party sent and the rounds, then the kernels by share of the time (with
    /// --json: `layers`).
    #[arg(long, conflicts_with = "report")]
    pub profile: bool,
}

/// How the output is printed.
#[derive(Clone, Copy, Debug)]
enum Output {
    Human,
    /// `--json`: the InferenceJson object.
    Json,
    /// `--report`: the PartyLine `infer` reads.
    Report,
}

pub fn run(args: PartyArgs) -> Result<()> {
    if args.memory_budget.is_some() {
        with_fixed_mmap_threshold()?;
    }
    let me = Party::from_index(args.id.into()).context("party id must be 0, 1 or 2")?;
    let addrs = resolve(&args.peers)?;
    let tls = load_identity(me, &args)?;
    // Load what this party brings before connecting, so that bad files fail fast.
    let model = match (me, &args.model) {
        (Party::ModelOwner, Some(path)) => {
            if args.memory_budget.is_some() && !inputs::is_compiled(path)? {
                // The plan counts the weight in use and the next, read from a compiled
                // file; an ONNX model compiled here would hold all of them at once.
                return Err(inputs::usage(anyhow::anyhow!(
                    "under --memory-budget the model owner reads weights from a compiled \
                     model as it uses them: run `cryptflow compile {} -o MODEL.cfp` and \
                     pass --model MODEL.cfp",
                    path.display()
                )));
            }
            Some(inputs::open_model(path, args.scale)?)
        }
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
        io_timeout: Duration::from_secs(args.timeout),
        session_id: parse_session(args.session.as_deref())?,
        tls,
        ..TcpConfig::for_party(me)
    };
    let root = args.security.root()?;
    let transport = TcpTransport::connect(me, addrs, &config)
        .with_context(|| format!("{me} could not reach the other parties"))?;
    // The host: it moves the bytes and, with --inject-fault, tampers with them.
    let mut host = FaultyHost::new(transport, args.security.inject_fault);
    let attestation = root.as_ref().map(|root| Attestation {
        root,
        code_override: None,
        memory_budget_mib: args.memory_budget,
        offline_phase: args.offline_phase,
    });
    let options = SessionOptions {
        memory_budget_mib: args.memory_budget,
        offline_phase: args.offline_phase,
    };
    let blame = |error: cryptflow_runtime::RuntimeError| match error.culprit() {
        // Said first, so that every honest party's output starts with whom it blames.
        Some(culprit) => anyhow::Error::new(error).context(format!("{culprit}'s host misbehaved")),
        None => error.into(),
    };
    let (report, output) = match (model, input, &attestation) {
        (Some(model), _, None) => (
            run_model_owner_within(&mut host, model.program(), model.weights(), options)?,
            None,
        ),
        (Some(model), _, Some(a)) => (
            run_model_owner_attested(&mut host, model.program(), model.weights(), a)
                .map_err(blame)?,
            None,
        ),
        (_, Some(x), None) => {
            let prediction = run_client_within(&mut host, &x, options)?;
            (prediction.report, Some(prediction.output))
        }
        (_, Some(x), Some(a)) => {
            let prediction = run_client_attested(&mut host, &x, a).map_err(blame)?;
            (prediction.report, Some(prediction.output))
        }
        (_, _, None) => (run_helper_within(&mut host, options)?, None),
        (_, _, Some(a)) => (run_helper_attested(&mut host, a).map_err(blame)?, None),
    };
    host.into_inner()
        .close()
        .context("flushing the last messages")?;
    let format = match (args.json, args.report) {
        (true, _) => Output::Json,
        (_, true) => Output::Report,
        _ => Output::Human,
    };
    print_outcome(
        me,
        &report,
        output,
        format,
        args.security.mode,
        args.profile,
    )
}

/// The TLS identity from --key and --certs; `None` with --plaintext. Giving neither
/// is a usage error: the channels are encrypted unless the user opts out.
fn load_identity(me: Party, args: &PartyArgs) -> Result<Option<TlsIdentity>> {
    match (&args.key, &args.certs) {
        (Some(key), Some(certs)) => TlsIdentity::load(me, key, certs)
            .map(Some)
            .map_err(|e| inputs::usage(e.into())),
        _ if args.plaintext => Ok(None),
        _ => Err(inputs::usage(anyhow::anyhow!(
            "party needs TLS keys: pass --key DIR/party{i}.key --certs DIR (make them with \
             `cryptflow keygen --id N --out DIR` on each party's host, then copy party0.crt, \
             party1.crt and party2.crt into every party's DIR), or --plaintext to run \
             unencrypted on a trusted network",
            i = me.index()
        ))),
    }
}

fn print_outcome(
    me: Party,
    report: &PartyReport,
    output: Option<cryptflow_ring::Tensor<f32>>,
    format: Output,
    mode: Mode,
    profile: bool,
) -> Result<()> {
    let line = PartyLine {
        party: me.index(),
        mode: mode.name().to_string(),
        setup_s: report.setup_seconds,
        online_s: report.online_seconds,
        offline_s: report.offline_seconds,
        bytes_sent: report.comm.bytes_sent,
        bytes_received: report.comm.bytes_received,
        rounds: report.rounds,
        peak_rss_mib: peak_rss_mib(),
        shape: output.as_ref().map(|o| o.shape().to_vec()),
        output: output.map(|o| o.into_data()),
        layers: report.layers.iter().map(LayerLine::from).collect(),
    };
    match format {
        Output::Report => println!("{}", serde_json::to_string(&line)?),
        Output::Json => {
            let mut view = own_view(me, &line);
            if profile {
                view.layers = Some(own_profile(me.index(), &line.layers));
            }
            println!("{}", serde_json::to_string(&view)?)
        }
        Output::Human => {
            if let Some(values) = &line.output {
                println!("output: {values:?}");
                println!("top-1: {}", argmax(values));
            }
            println!(
                "{me}: {:.1} ms online, {:.3} MiB sent, {} rounds",
                line.online_s * 1e3,
                crate::report::mib(line.bytes_sent),
                line.rounds
            );
            if profile {
                print_profile(&own_profile(me.index(), &line.layers));
            }
        }
    }
    Ok(())
}

/// What this party alone knows of the run, in `infer --json`'s shape: the output
/// only on the client, and bytes and memory only for this process (the others'
/// are null, not guessed).
fn own_view(me: Party, line: &PartyLine) -> InferenceJson {
    let mut bytes_sent = [None; 3];
    bytes_sent[me.index()] = Some(line.bytes_sent);
    let mut peak_rss_mib = [None; 3];
    peak_rss_mib[me.index()] = Some(line.peak_rss_mib);
    InferenceJson {
        mode: line.mode.clone(),
        top1: line.output.as_deref().map(argmax),
        shape: line.shape.clone(),
        output: line.output.clone(),
        wall_s: line.setup_s + line.online_s,
        online_s: line.online_s,
        offline_s: line.offline_s,
        bytes_sent,
        rounds: line.rounds,
        peak_rss_mib,
        layers: None,
    }
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

/// glibc's allocator for a value `MALLOC_MMAP_THRESHOLD_` must be read at start-up.
const MMAP_THRESHOLD_VAR: &str = "MALLOC_MMAP_THRESHOLD_";

/// Under a memory budget a party's resident memory must follow what it holds. glibc's
/// malloc raises its mmap threshold each time a large block is freed, after which
/// large buffers (weights, masks, select state) come from the heap, and what they
/// leave behind stays resident: ResNet50's model owner peaked at 112 MiB under a
/// 96 MiB budget planned for 89, and at 73–80 MiB with the threshold fixed at 4 MiB,
/// so that every buffer above it is mapped and unmapped by itself. A mapping costs
/// its page faults (ResNet50 under a 512 MiB budget, whole batches: 1.2–1.3× the
/// unbounded time at 4 MiB), but 16 MiB let the malicious owner reach 101 MiB under
/// 96 (`bench memory --runs 3`, 2026-12-03), so 4 MiB. The threshold is read
/// from the environment at start-up (setting it later needs `mallopt`, unsafe code),
/// so the party runs itself again with it: `exec` replaces this process, keeping its
/// id, arguments and standard streams.
fn with_fixed_mmap_threshold() -> Result<()> {
    if !cfg!(all(target_os = "linux", target_env = "gnu"))
        || std::env::var_os(MMAP_THRESHOLD_VAR).is_some()
    {
        return Ok(());
    }
    use std::os::unix::process::CommandExt;
    let me = std::env::current_exe().context("cannot find this program to restart it")?;
    let error = std::process::Command::new(me)
        .args(std::env::args_os().skip(1))
        .env(MMAP_THRESHOLD_VAR, "4194304")
        .exec();
    Err(error).context("cannot restart with a fixed malloc mmap threshold")
}
