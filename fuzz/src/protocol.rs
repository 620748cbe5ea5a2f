//! The messages a share-holder parses from a peer, in the protocol crate's pure steps.
//!
//! Each case runs the protocol honestly between the parties in one thread, except that
//! the party under test receives one peer message (or every round's message) through a
//! fuzzed [`Tamper`]: kept, with a word flipped, cut short, lengthened or replaced. So
//! the fuzzer reaches every parse with well-formed and malformed lengths alike, and the
//! steps after an accepted but wrong message run too. Geometries are small and only
//! those that `Program::validate` accepts are used, as the runtime only runs those.

use arbitrary::{Arbitrary, Unstructured};
use cryptflow_ir::{Instruction, Kernel, Program};
use cryptflow_protocol::bits::PairedTriples;
use cryptflow_protocol::linear::{self, Bilinear, Elementwise, MatMulShape};
use cryptflow_protocol::msgs::Message;
use cryptflow_protocol::pool::{max_tree_sizes, MaxPoolCorrelation, SecureMaxPool};
use cryptflow_protocol::relu::{ReluCorrelation, SecureSelect, Width};
use cryptflow_protocol::{sharing, ProtocolError, Step};
use cryptflow_ring::conv::ConvGeometry;
use cryptflow_ring::pool::PoolGeometry;
use cryptflow_ring::{Party, Prg, Scale, Seed};

/// What happens to a message on its way to the party under test.
#[derive(Arbitrary, Clone, Debug)]
pub enum Tamper {
    Keep,
    Flip { at: u16, mask: u64 },
    Truncate { by: u16 },
    Extend { words: Vec<u64> },
    Replace { words: Vec<u64> },
}

impl Tamper {
    fn apply(&self, mut message: Vec<u64>) -> Vec<u64> {
        match self {
            Tamper::Keep => {}
            Tamper::Flip { at, mask } => {
                if !message.is_empty() {
                    let i = usize::from(*at) % message.len();
                    message[i] ^= mask;
                }
            }
            Tamper::Truncate { by } => {
                message.truncate(message.len().saturating_sub(usize::from(*by)));
            }
            Tamper::Extend { words } => message.extend_from_slice(words),
            Tamper::Replace { words } => message = words.clone(),
        }
        message
    }
}

/// A linear layer's shape, kept small.
#[derive(Arbitrary, Clone, Debug)]
pub enum LinearShape {
    MatMul { rows: u8, inner: u8, out: u8 },
    Elementwise { len: u8 },
    Conv { geometry: SmallConv },
}

#[derive(Arbitrary, Clone, Debug)]
pub struct SmallConv {
    in_channels: u8,
    size: [u8; 2],
    out_channels: u8,
    kernel: [u8; 2],
    strides: [u8; 2],
    pads: [u8; 4],
    dilations: [u8; 2],
    groups: u8,
}

#[derive(Arbitrary, Clone, Debug)]
pub struct SmallPool {
    channels: u8,
    size: [u8; 2],
    kernel: [u8; 2],
    strides: [u8; 2],
    pads: [u8; 4],
    ceil_mode: bool,
}

/// One protocol exchange with a fuzzed message.
#[derive(Arbitrary, Clone, Debug)]
pub enum ProtocolCase {
    /// P1: `linear::receive_masked_weight` (P0's setup message), then
    /// `ClientLinear::finish` with the helper's `C₁`.
    ClientLinear {
        shape: LinearShape,
        masked_weight: Tamper,
        c1: Tamper,
        seed: u64,
    },
    /// P0: `linear::owner_finish` with P1's `E`.
    OwnerLinear {
        shape: LinearShape,
        e: Tamper,
        seed: u64,
    },
    /// A batch of `select`s (ReLU): the helper's correlation for P1
    /// (`ReluCorrelation::for_client`), then every round of `SecureSelect::step`.
    Select {
        n: u8,
        client: bool,
        correlation: Tamper,
        rounds: Vec<Tamper>,
        seed: u64,
    },
    /// Max pooling: `MaxPoolCorrelation::for_client`, then `SecureMaxPool::step`.
    MaxPool {
        pool: SmallPool,
        client: bool,
        correlation: Tamper,
        rounds: Vec<Tamper>,
        seed: u64,
    },
    /// P1: `sharing::reveal_to_client` with P0's output share.
    Reveal {
        n: u8,
        owner_share: Tamper,
        seed: u64,
    },
    /// `PairedTriples::close` with the peer's AND opening.
    AndClose {
        words: u8,
        client: bool,
        theirs: Tamper,
        seed: u64,
    },
}

/// Decodes a [`ProtocolCase`] from the bytes and runs it.
pub fn protocol_messages(data: &[u8]) {
    messages(data, true)
}

/// [`protocol_messages`] without the guards for known open bugs (see `known.rs`).
pub fn protocol_messages_unguarded(data: &[u8]) {
    messages(data, false)
}

fn messages(data: &[u8], guarded: bool) {
    if let Ok(case) = ProtocolCase::arbitrary_take_rest(Unstructured::new(data)) {
        case.run(guarded);
    }
}

fn prg(seed: u64, purpose: u64) -> Prg {
    Prg::with_stream(Seed::from_u64(seed), purpose)
}

fn party(client: bool) -> Party {
    if client {
        Party::Client
    } else {
        Party::ModelOwner
    }
}

/// Whether the runtime would accept one `kernel` step from `input` to `output` elements
/// with these weights.
fn validates(kernel: Kernel, input: usize, output: usize, weights: Vec<usize>) -> bool {
    let program = Program {
        scale: Scale::new(12).expect("valid scale"),
        softmax: None,
        slot_shapes: vec![vec![input], vec![output]],
        input: 0,
        output: 1,
        weight_shapes: weights.into_iter().map(|n| vec![n]).collect(),
        instructions: vec![Instruction {
            kernel,
            inputs: vec![0],
            output: 1,
            free: vec![],
            comparison_bits: 64,
            source: "fuzz".into(),
        }],
    };
    program.validate().is_ok()
}

impl SmallConv {
    fn geometry(&self) -> Option<ConvGeometry> {
        let small = |v: u8, max: u8| usize::from(v % (max + 1));
        let pair = |v: [u8; 2], max| [small(v[0], max), small(v[1], max)];
        let g = ConvGeometry {
            in_channels: small(self.in_channels, 4),
            in_height: small(self.size[0], 8),
            in_width: small(self.size[1], 8),
            out_channels: small(self.out_channels, 4),
            kernel: pair(self.kernel, 4),
            strides: pair(self.strides, 3),
            pads: self.pads.map(|p| small(p, 3)),
            dilations: pair(self.dilations, 2),
            groups: small(self.groups, 4),
        };
        let kernel = Kernel::Conv {
            geometry: g.clone(),
            weight: 0,
            bias: None,
        };
        // The divisions below would fail on these; validate rejects them first.
        let lens_defined = g.groups > 0
            && !g.kernel.contains(&0)
            && !g.strides.contains(&0)
            && !g.dilations.contains(&0);
        (lens_defined && validates(kernel, g.input_len(), g.output_len(), vec![g.weight_len()]))
            .then_some(g)
    }
}

impl SmallPool {
    fn geometry(&self) -> Option<PoolGeometry> {
        let small = |v: u8, max: u8| usize::from(v % (max + 1));
        let g = PoolGeometry {
            channels: small(self.channels, 3),
            in_height: small(self.size[0], 8),
            in_width: small(self.size[1], 8),
            kernel: self.kernel.map(|k| small(k, 4)),
            strides: self.strides.map(|s| small(s, 3)),
            pads: self.pads.map(|p| small(p, 3)),
            ceil_mode: self.ceil_mode,
        };
        let shaped = !g.kernel.contains(&0) && !g.strides.contains(&0);
        (shaped
            && validates(
                Kernel::MaxPool(g.clone()),
                g.input_len(),
                g.output_len(),
                vec![],
            ))
        .then_some(g)
    }
}

impl ProtocolCase {
    fn run(&self, guarded: bool) {
        match self {
            ProtocolCase::ClientLinear {
                shape,
                masked_weight,
                c1,
                seed,
            } => with_linear(shape, |f| client_linear(f, masked_weight, c1, *seed)),
            ProtocolCase::OwnerLinear { shape, e, seed } => {
                with_linear(shape, |f| owner_linear(f, e, *seed))
            }
            ProtocolCase::Select {
                n,
                client,
                correlation,
                rounds,
                seed,
            } => select(usize::from(*n), party(*client), correlation, rounds, *seed),
            ProtocolCase::MaxPool {
                pool,
                client,
                correlation,
                rounds,
                seed,
            } => {
                if let Some(g) = pool.geometry() {
                    max_pool(&g, party(*client), correlation, rounds, *seed, guarded);
                }
            }
            ProtocolCase::Reveal {
                n,
                owner_share,
                seed,
            } => {
                let client_share = prg(*seed, 0).u64s(usize::from(*n));
                let owner = owner_share.apply(prg(*seed, 1).u64s(usize::from(*n)));
                if let Ok(out) = sharing::reveal_to_client(&client_share, owner) {
                    assert_eq!(out.len(), client_share.len());
                }
            }
            ProtocolCase::AndClose {
                words,
                client,
                theirs,
                seed,
            } => and_close(usize::from(*words), party(*client), theirs, *seed),
        }
    }
}

fn with_linear(shape: &LinearShape, run: impl FnOnce(&dyn Bilinear)) {
    match shape {
        LinearShape::MatMul { rows, inner, out } => run(&MatMulShape {
            rows: usize::from(rows % 9),
            inner: usize::from(*inner % 17),
            out: usize::from(*out % 17),
        }),
        LinearShape::Elementwise { len } => run(&Elementwise {
            len: usize::from(*len),
        }),
        LinearShape::Conv { geometry } => {
            if let Some(g) = geometry.geometry() {
                run(&g)
            }
        }
    }
}

fn client_linear(f: &dyn Bilinear, masked_weight: &Tamper, c1: &Tamper, seed: u64) {
    let (w, x1) = (
        prg(seed, 0).u64s(f.weight_len()),
        prg(seed, 1).u64s(f.input_len()),
    );
    let mask = linear::weight_mask(f.weight_len(), &mut prg(seed, 2));
    let message = masked_weight.apply(linear::masked_weight(&w, mask.clone()).into_words());
    let Ok(masked) = linear::receive_masked_weight(message, f.weight_len()) else {
        return;
    };
    let dealt = linear::deal(f, &mask, &mut prg(seed, 3), &mut prg(seed, 4));
    let (client, _e) = linear::client_start(f, &x1, &mut prg(seed, 4));
    if let Ok(z1) = client.finish(f, masked.words(), c1.apply(dealt.into_words())) {
        assert_eq!(z1.len(), f.output_len());
    }
}

fn owner_linear(f: &dyn Bilinear, e: &Tamper, seed: u64) {
    let (w, x0, x1) = (
        prg(seed, 0).u64s(f.weight_len()),
        prg(seed, 1).u64s(f.input_len()),
        prg(seed, 2).u64s(f.input_len()),
    );
    let (_client, message) = linear::client_start(f, &x1, &mut prg(seed, 4));
    if let Ok(z0) =
        linear::owner_finish(f, &w, &x0, e.apply(message.into_words()), &mut prg(seed, 3))
    {
        assert_eq!(z0.len(), f.output_len());
    }
}

/// Steps the party under test and its honest peer in lockstep; the tested party's
/// incoming message of round `i` goes through `rounds[i]`. Stops when either finishes
/// or rejects a message.
fn lockstep<S>(
    (mut tested, mut to_peer): (S, Step<Vec<u64>>),
    (mut peer, mut to_tested): (S, Step<Vec<u64>>),
    rounds: &[Tamper],
    mut step: impl FnMut(&mut S, Vec<u64>) -> Result<Step<Vec<u64>>, ProtocolError>,
) {
    for round in 0.. {
        let (Step::Send(mine), Step::Send(theirs)) = (to_peer, to_tested) else {
            return;
        };
        let tamper = rounds.get(round).unwrap_or(&Tamper::Keep);
        let (Ok(a), Ok(b)) = (
            step(&mut tested, tamper.apply(theirs.words)),
            step(&mut peer, mine.words),
        ) else {
            return;
        };
        (to_peer, to_tested) = (a, b);
    }
}

/// One of the comparison widths, chosen by the fuzzer's seed.
fn fuzzed_width(seed: u64) -> Width {
    Width::new(8 << (seed % 4)).unwrap_or(Width::FULL)
}

/// The correlations of P0 and P1 for a batch, the client's through the tampered dealer
/// message when P1 is the party under test.
fn select(n: usize, tested: Party, correlation: &Tamper, rounds: &[Tamper], seed: u64) {
    let width = fuzzed_width(seed);
    let dealt = ReluCorrelation::deal(n, width, &mut prg(seed, 0), &mut prg(seed, 1));
    let tamper = if tested == Party::Client {
        correlation
    } else {
        &Tamper::Keep
    };
    let Ok(c1) = ReluCorrelation::for_client(n, width, &mut prg(seed, 1), &tamper.apply(dealt))
    else {
        return;
    };
    let c0 = ReluCorrelation::draw(&mut prg(seed, 0), n, width);
    let (x0, x1) = (prg(seed, 2).u64s(n), prg(seed, 3).u64s(n));
    let start =
        |party, x: &[u64], c| SecureSelect::start(party, x, x, c).map(|(s, m)| (s, Step::Send(m)));
    let (Ok(p0), Ok(p1)) = (
        start(Party::ModelOwner, &x0, c0),
        start(Party::Client, &x1, c1),
    ) else {
        return;
    };
    let (tested, peer) = if tested == Party::Client {
        (p1, p0)
    } else {
        (p0, p1)
    };
    lockstep(tested, peer, rounds, SecureSelect::step);
}

fn max_pool(
    g: &PoolGeometry,
    tested: Party,
    correlation: &Tamper,
    rounds: &[Tamper],
    seed: u64,
    guarded: bool,
) {
    let windows = g.windows();
    let _ = guarded;
    let sizes = max_tree_sizes(&windows);
    let width = fuzzed_width(seed);
    let dealt = MaxPoolCorrelation::deal(&sizes, width, &mut prg(seed, 0), &mut prg(seed, 1));
    let tamper = if tested == Party::Client {
        correlation
    } else {
        &Tamper::Keep
    };
    let Ok(c1) = MaxPoolCorrelation::for_client(
        &sizes,
        width,
        &mut prg(seed, 1),
        tamper.apply(dealt.into_words()),
    ) else {
        return;
    };
    let c0 = MaxPoolCorrelation::draw(&mut prg(seed, 0), &sizes, width);
    let (x0, x1) = (
        prg(seed, 2).u64s(g.input_len()),
        prg(seed, 3).u64s(g.input_len()),
    );
    let (Ok(p0), Ok(p1)) = (
        SecureMaxPool::start(Party::ModelOwner, &x0, &windows, c0),
        SecureMaxPool::start(Party::Client, &x1, &windows, c1),
    ) else {
        return;
    };
    let (tested, peer) = if tested == Party::Client {
        (p1, p0)
    } else {
        (p0, p1)
    };
    lockstep(tested, peer, rounds, SecureMaxPool::step);
}

fn and_close(blocks: usize, tested: Party, theirs: &Tamper, seed: u64) {
    // Two pairs a block: first operands x₀, x₁, three gates.
    let pairs = 2;
    let gates = PairedTriples::gates(pairs);
    let owner = PairedTriples::draw(&mut prg(seed, 0), blocks, pairs);
    let mut client = PairedTriples::draw(&mut prg(seed, 1), blocks, pairs);
    PairedTriples::correct_client(&owner, &mut client);
    let open = |x, y, t: &PairedTriples| {
        t.open(
            &prg(seed, x).u64s(blocks * pairs),
            &prg(seed, y).u64s(blocks * gates),
        )
    };
    let (m0, m1) = (open(2, 3, &owner), open(4, 5, &client));
    let (mine, peer, triples) = if tested == Party::Client {
        (m1, m0, &client)
    } else {
        (m0, m1, &owner)
    };
    if let Ok(z) = triples.close(tested, &mine, &theirs.apply(peer)) {
        assert_eq!(z.len(), blocks * gates);
    }
}
