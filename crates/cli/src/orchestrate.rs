//! Runs the three parties as separate OS processes on this machine, talking over TCP on
//! 127.0.0.1, and gathers their measurements. Each party is `cryptflow party`, exactly
//! what a three-host deployment runs. The channels are plaintext (`--plaintext`: all
//! three are on this machine's loopback), or TLS with keys made for this run.

use crate::report::PartyLine;
use crate::security::{Mode, SecurityArgs};
use anyhow::{anyhow, bail, Context, Result};
use cryptflow_net::tls::key_file_name;
use cryptflow_net::Party;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug)]
pub struct LocalRun<'a> {
    /// The model owner's model: a `.cfp` (see [`CompiledModel`]) or an ONNX file.
    pub model: &'a Path,
    pub input: &'a Path,
    pub preprocess: &'a crate::image_input::Preprocess,
    pub scale: u32,
    pub timeout_s: u64,
    /// TLS with fresh keys in a temporary directory, instead of plaintext.
    pub tls: bool,
    /// The mode; in malicious mode without a root, one is made for the run.
    pub security: &'a SecurityArgs,
    /// Each party's memory budget (MiB).
    pub memory_budget: Option<u64>,
    /// Ask for an offline phase (`party --offline-phase`).
    pub offline_phase: bool,
}

struct Running {
    name: &'static str,
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

/// Runs the three parties; returns their report lines in party order.
pub fn run_local(run: &LocalRun) -> Result<[PartyLine; 3]> {
    let ports = free_ports()?;
    let peers = ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut session = [0u8; 16];
    getrandom::getrandom(&mut session)
        .map_err(|e| anyhow!("no randomness for the session id: {e}"))?;
    let session: String = session.iter().map(|b| format!("{b:02x}")).collect();
    let exe = std::env::current_exe().context("cannot find the cryptflow executable")?;
    // Removed when the run ends, keys and all.
    let keys = run.tls.then(make_keys).transpose()?;
    let malicious = run.security.mode == Mode::Malicious;
    let made_root = (malicious && run.security.attest_root.is_none())
        .then(make_root)
        .transpose()?;
    let root = run
        .security
        .attest_root
        .clone()
        .or_else(|| made_root.as_ref().map(|d| d.path().to_path_buf()));
    let mut running = Vec::with_capacity(3);
    for (party, name) in
        Party::ALL
            .into_iter()
            .zip(["P0 (model owner)", "P1 (client)", "P2 (helper)"])
    {
        let mut command = Command::new(&exe);
        command
            .args([
                "party",
                "--report",
                "--id",
                &party.index().to_string(),
                "--peers",
                &peers,
                "--session",
                &session,
            ])
            .args([
                "--timeout",
                &run.timeout_s.to_string(),
                "--scale",
                &run.scale.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.args(["--mode", run.security.mode.name()]);
        if let Some(root) = &root {
            command.arg("--attest-root").arg(root);
        }
        if run.offline_phase {
            command.arg("--offline-phase");
        }
        if let Some(budget) = run.memory_budget {
            command.args(["--memory-budget", &budget.to_string()]);
        }
        if let Some(fault) = run.security.inject_fault {
            command.args(["--inject-fault", &fault.to_string()]);
        }
        match &keys {
            Some(dir) => command
                .arg("--key")
                .arg(dir.path().join(key_file_name(party)))
                .arg("--certs")
                .arg(dir.path()),
            None => command.arg("--plaintext"),
        };
        match party {
            Party::ModelOwner => command.arg("--model").arg(run.model),
            Party::Client => command
                .arg("--input")
                .arg(run.input)
                .args(preprocess_args(run.preprocess)),
            Party::Helper => &mut command,
        };
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        running.push(Running {
            name,
            child,
            stdout,
            stderr,
        });
    }
    // In malicious mode every party explains a failure itself (naming the party
    // whose host misbehaved), within a few timeouts: wait for all of them.
    let grace = malicious.then(|| Duration::from_secs(run.timeout_s * 6 + 5));
    wait_all(running, Duration::from_secs(run.timeout_s * 10 + 60), grace)
}

/// A model ready for the model owner: compiled, in a `.cfp` file.
pub struct CompiledModel {
    pub program: cryptflow_ir::Program,
    path: std::path::PathBuf,
    /// Where an ONNX model was compiled to; removed on drop.
    _dir: Option<tempfile::TempDir>,
}

impl CompiledModel {
    /// Compiles `model` (an ONNX file, at `scale`) to a `.cfp` in a temporary
    /// directory, or opens it if it is a `.cfp` already. Compiling here, in a process
    /// that is no party, keeps the import out of the model owner's time and memory;
    /// the model owner then reads each weight from the file as the program uses it.
    pub fn prepare(model: &Path, scale: u32) -> Result<Self> {
        let compiled = match crate::inputs::open_model(model, scale)? {
            crate::inputs::OwnerModel::File(file) => {
                return Ok(Self {
                    program: file.program().clone(),
                    path: model.to_path_buf(),
                    _dir: None,
                })
            }
            crate::inputs::OwnerModel::Compiled(compiled) => compiled,
        };
        Self::write(compiled)
    }

    /// Writes a compiled model (one whose comparisons were narrowed, say) to a `.cfp`
    /// in a temporary directory.
    pub fn write(compiled: cryptflow_compiler::Compiled) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("cryptflow-model-")
            .tempdir()
            .context("cannot make a temporary directory for the compiled model")?;
        let path = dir.path().join("model.cfp");
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        );
        cryptflow_ir::artifact::write(&mut out, &compiled.program, &compiled.weights)?;
        std::io::Write::flush(&mut out).context("cannot write the compiled model")?;
        Ok(Self {
            program: compiled.program,
            path,
            _dir: Some(dir),
        })
    }

    /// The `.cfp` file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses a budget no plan meets before any party starts (each party would
    /// refuse it too, at setup), naming the smallest budget that works.
    pub fn check_budget(&self, budget_mib: Option<u64>) -> Result<()> {
        cryptflow_compiler::passes::memory::plan(&self.program, budget_mib)
            .map(drop)
            .map_err(|e| crate::inputs::usage(e.into()))
    }
}

/// A temporary software attestation root for one run.
fn make_root() -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("cryptflow-root-")
        .tempdir()
        .context("cannot make a temporary directory for the attestation root")?;
    cryptflow_attest::SoftwareRoot::generate()?.write(dir.path())?;
    Ok(dir)
}

/// A temporary directory with a fresh key and certificate for each party.
fn make_keys() -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("cryptflow-keys-")
        .tempdir()
        .context("cannot make a temporary directory for the TLS keys")?;
    for party in Party::ALL {
        crate::commands::keygen::write_party_files(party, dir.path(), false)?;
    }
    Ok(dir)
}

/// The client's image preprocessing flags, passed through.
fn preprocess_args(p: &crate::image_input::Preprocess) -> Vec<String> {
    let list = |v: &[f32]| v.iter().map(f32::to_string).collect::<Vec<_>>().join(",");
    vec![
        "--resize".into(),
        p.resize.to_string(),
        "--crop".into(),
        p.crop.to_string(),
        "--mean".into(),
        list(&p.mean),
        "--std".into(),
        list(&p.std),
    ]
}

/// Reads a pipe to its end on a thread, so a chatty child never blocks on a full pipe.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Waits for every party; on the first failure stops the others and reports it.
/// A spinner with the elapsed time shows on a terminal (ImageNet-size runs take a while);
/// it draws nothing when stderr is not a terminal.
fn wait_all(
    mut running: Vec<Running>,
    limit: Duration,
    grace: Option<Duration>,
) -> Result<[PartyLine; 3]> {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("secure inference running (three parties)");
    spinner.enable_steady_tick(Duration::from_millis(200));
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        spinner.set_style(style);
    }
    let result = wait_all_quietly(&mut running, limit, grace);
    spinner.finish_and_clear();
    let failure = result?;
    collect(running, failure, grace.is_some())
}

/// Polls the parties until all exit, one fails or the limit passes; returns the index
/// of the first that failed, after stopping the others.
fn wait_all_quietly(
    running: &mut [Running],
    limit: Duration,
    grace: Option<Duration>,
) -> Result<Option<usize>> {
    let started = Instant::now();
    let mut limit = limit;
    let mut failure: Option<usize> = None;
    loop {
        let mut all_done = true;
        for (i, r) in running.iter_mut().enumerate() {
            match r.child.try_wait()? {
                Some(status) if !status.success() && failure.is_none() => failure = Some(i),
                Some(_) => {}
                None => all_done = false,
            }
        }
        let stop_now = failure.is_some() && grace.is_none();
        if all_done || stop_now || started.elapsed() > limit {
            break;
        }
        if let (Some(_), Some(grace)) = (failure, grace) {
            limit = limit.min(started.elapsed() + grace);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if failure.is_some() || started.elapsed() > limit {
        // Give the others a moment to report their side (a peer's disconnect), then stop them.
        std::thread::sleep(Duration::from_millis(200));
        for r in running.iter_mut() {
            let _ = r.child.kill();
        }
    }
    Ok(failure)
}

/// Reads every party's outcome: its report line, or its error.
fn collect(
    running: Vec<Running>,
    failure: Option<usize>,
    every_error: bool,
) -> Result<[PartyLine; 3]> {
    let mut lines = Vec::with_capacity(3);
    let mut errors = Vec::new();
    for (i, mut r) in running.into_iter().enumerate() {
        let status = r.child.wait()?;
        let stdout = r.stdout.join().unwrap_or_default();
        let stderr = r.stderr.join().unwrap_or_default();
        if status.success() {
            let line = stdout.lines().last().unwrap_or_default();
            lines.push(
                serde_json::from_str::<PartyLine>(line)
                    .with_context(|| format!("{} printed no report", r.name))?,
            );
        } else if every_error || Some(i) == failure || failure.is_none() {
            let message = stderr.trim().trim_start_matches("error: ").to_owned();
            errors.push(format!(
                "{} failed: {}",
                r.name,
                if message.is_empty() {
                    status.to_string()
                } else {
                    message
                }
            ));
        }
    }
    if !errors.is_empty() {
        bail!(errors.join("\n"));
    }
    lines
        .try_into()
        .map_err(|_| anyhow!("a party did not finish"))
}

/// Three ports that are free right now. Another process could take one before the
/// parties bind it; the parties then fail with a clear bind error.
fn free_ports() -> Result<[u16; 3]> {
    let listeners = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot find free ports on 127.0.0.1")?;
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<_>>()?;
    Ok([ports[0], ports[1], ports[2]])
}
