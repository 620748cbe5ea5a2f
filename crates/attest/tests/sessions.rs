//! Three attested parties over in-memory transports: the prelude's token checks, the
//! agreed seeds, and every kind of host fault on prelude and later messages.

use cryptflow_attest::{
    run_prelude, AttestError, CodeIdentity, Digest, Enclave, PreludeConfig, SoftwareRoot,
    TokenRejection, PROTOCOL_VERSION,
};
use cryptflow_net::fault::{Fault, FaultKind, FaultyHost};
use cryptflow_net::{MemoryTransport, Misbehaviour, NetError, Transport};
use cryptflow_protocol::StreamId;
use cryptflow_ring::Party;
use std::time::Duration;

const P0: Party = Party::ModelOwner;
const P1: Party = Party::Client;
const P2: Party = Party::Helper;

fn identity(code: u8, program: u8) -> CodeIdentity {
    CodeIdentity {
        code: Digest([code; 32]),
        protocol_version: PROTOCOL_VERSION,
        program: Digest([program; 32]),
    }
}

/// How one party is set up for a run.
struct Setup {
    identity: CodeIdentity,
    /// Attests with this root (the trusted one unless a test says otherwise).
    other_root: bool,
}

fn honest() -> Setup {
    Setup {
        identity: identity(1, 2),
        other_root: false,
    }
}

/// What each party's run returned: its seed streams' first words with each peer, or
/// its error.
type Outcome = Result<[Vec<u64>; 3], AttestError>;

/// The protocol the parties run after the prelude: P0 sends P1 two messages, P1
/// answers, all finish. P0's messages 0..3 are the prelude, 4 and 5 the data.
fn script(channel: &mut dyn Transport) -> Result<(), NetError> {
    match channel.me() {
        Party::ModelOwner => {
            channel.send(P1, b"m0".to_vec())?;
            channel.send(P1, b"m1".to_vec())?;
            assert_eq!(channel.recv(P1)?, b"r");
        }
        Party::Client => {
            assert_eq!(channel.recv(P0)?, b"m0");
            assert_eq!(channel.recv(P0)?, b"m1");
            channel.send(P0, b"r".to_vec())?;
        }
        Party::Helper => {}
    }
    Ok(())
}

/// Words long enough to go as three parts (the channel cuts at 256 KiB).
fn long_words() -> Vec<u64> {
    (0..80_000u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect()
}

/// As `script`, with long messages: P0 sends P1 long words and long bytes (messages
/// 4–6 and 7–9, three parts each), P1 echoes the words back (10–12 from P1's 4).
fn long_script(channel: &mut dyn Transport) -> Result<(), NetError> {
    let words = long_words();
    let bytes: Vec<u8> = words.iter().map(|w| *w as u8).collect::<Vec<_>>().repeat(8);
    match channel.me() {
        Party::ModelOwner => {
            channel.send_words(P1, &words)?;
            channel.send(P1, bytes)?;
            assert_eq!(channel.recv_words(P1)?, words);
        }
        Party::Client => {
            let got = channel.recv_words(P0)?;
            assert_eq!(got, words);
            assert_eq!(channel.recv(P0)?, bytes);
            channel.send_words(P0, &got)?;
        }
        Party::Helper => {}
    }
    Ok(())
}

type Script = fn(&mut dyn Transport) -> Result<(), NetError>;

fn run(setups: [Setup; 3], fault: Option<Fault>) -> [Outcome; 3] {
    run_script(setups, fault, script)
}

fn run_script(setups: [Setup; 3], fault: Option<Fault>, script: Script) -> [Outcome; 3] {
    run_with_hosts(setups, &|t| Box::new(FaultyHost::new(t, fault)), script)
}

/// A host for each party's transport.
type Hosts<'a> = dyn Fn(MemoryTransport) -> Box<dyn Transport> + Sync + 'a;

fn run_with_hosts(setups: [Setup; 3], hosts: &Hosts<'_>, script: Script) -> [Outcome; 3] {
    // One trusted root for every run, as in a deployment (a replayed token must be
    // signed by it to test the session check).
    static TRUSTED: std::sync::OnceLock<SoftwareRoot> = std::sync::OnceLock::new();
    let trusted = TRUSTED.get_or_init(|| SoftwareRoot::generate().expect("root"));
    let other = SoftwareRoot::generate().expect("root");
    let transports = MemoryTransport::triple_with_timeout(Duration::from_millis(500));
    std::thread::scope(|scope| {
        let handles: Vec<_> = transports
            .into_iter()
            .zip(setups)
            .map(|(transport, setup)| {
                let (trusted, other) = (trusted, &other);
                scope.spawn(move || -> Outcome {
                    let mut host = hosts(transport);
                    let me = host.me();
                    let enclave = Enclave::launch(me, setup.identity)?;
                    let attester = if setup.other_root { other } else { trusted };
                    let config = PreludeConfig {
                        attester,
                        verifier: trusted,
                        sent_before: 0,
                    };
                    let mut session = run_prelude(enclave, host.as_mut(), config)?;
                    script(&mut session.channel)?;
                    session.channel.finish()?;
                    let mut words: [Vec<u64>; 3] = Default::default();
                    for peer in Party::ALL.into_iter().filter(|&p| p != me) {
                        words[peer.index()] = session.seeds.stream(peer, StreamId(9)).u64s(4);
                    }
                    Ok(words)
                })
            })
            .collect();
        let mut outcomes = handles
            .into_iter()
            .map(|h| h.join().expect("no party panics"));
        [(); 3].map(|_| outcomes.next().expect("three parties"))
    })
}

#[test]
fn honest_parties_agree_on_pairwise_seeds_that_differ_per_pair_and_session() {
    let a = run([honest(), honest(), honest()], None);
    let b = run([honest(), honest(), honest()], None);
    let words = |o: &Outcome| o.as_ref().expect("honest run succeeds").clone();
    let (w0, w1, w2) = (words(&a[0]), words(&a[1]), words(&a[2]));
    assert_eq!(w0[1], w1[0], "P0 and P1 share a seed");
    assert_eq!(w0[2], w2[0], "P0 and P2 share a seed");
    assert_eq!(w1[2], w2[1], "P1 and P2 share a seed");
    assert_ne!(w0[1], w0[2], "each pair has its own seed");
    assert_ne!(w0[1], words(&b[0])[1], "each session has fresh seeds");
}

fn rejected(outcome: &Outcome) -> (Party, TokenRejection) {
    match outcome {
        Err(AttestError::Rejected { party, reason }) => (*party, reason.clone()),
        other => panic!("expected a rejected token, got {other:?}"),
    }
}

#[test]
fn a_party_running_other_code_is_named_by_both_others() {
    let cheat = Setup {
        identity: identity(9, 2),
        ..honest()
    };
    let out = run([honest(), honest(), cheat], None);
    for o in &out[..2] {
        let (party, reason) = rejected(o);
        assert_eq!(party, P2);
        assert!(
            matches!(reason, TokenRejection::WrongMeasurement { .. }),
            "{reason}"
        );
    }
}

#[test]
fn a_party_holding_another_program_is_blamed_on_the_model_owner_who_sent_it() {
    // The program comes from P0 through its host: a client that holds another one
    // than P0 attests (and the helper holds) got it from P0's host.
    let cheat = Setup {
        identity: identity(1, 7),
        ..honest()
    };
    let out = run([honest(), cheat, honest()], None);
    let (party, reason) = rejected(&out[0]);
    assert_eq!(party, P1);
    assert!(
        matches!(reason, TokenRejection::WrongProgram { .. }),
        "{reason}"
    );
    match &out[2] {
        Err(e @ AttestError::ProgramSentDifferently { to: P1 }) => {
            assert_eq!(e.culprit(), Some(P0))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_token_from_another_root_is_refused() {
    let cheat = Setup {
        other_root: true,
        ..honest()
    };
    let out = run([cheat, honest(), honest()], None);
    for o in &out[1..] {
        assert_eq!(rejected(o), (P0, TokenRejection::NotSignedByRoot));
    }
}

fn fault(party: Party, kind: FaultKind, message: u64) -> Option<Fault> {
    Some(Fault {
        party,
        kind,
        message,
    })
}

fn honest3() -> [Setup; 3] {
    [honest(), honest(), honest()]
}

fn misbehaviour(outcome: &Outcome) -> (Party, Misbehaviour) {
    match outcome {
        Err(AttestError::Net(NetError::HostMisbehaved { culprit, what })) => {
            (*culprit, what.clone())
        }
        other => panic!("expected a detected fault, got {other:?}"),
    }
}

/// The helper, which receives nothing in the script, still ends in an error that
/// blames the culprit (the client's abort reaches it at `finish`).
fn blames(outcome: &Outcome, culprit: Party) {
    let err = outcome.as_ref().expect_err("the session must fail");
    assert_eq!(err.culprit(), Some(culprit), "{err}");
}

#[test]
fn changed_replayed_reordered_and_dropped_data_messages_are_caught_and_named() {
    let out = run(honest3(), fault(P0, FaultKind::Flip, 4));
    assert_eq!(
        misbehaviour(&out[1]),
        (P0, Misbehaviour::Changed { message: Some(4) })
    );
    blames(&out[2], P0);

    let out = run(honest3(), fault(P0, FaultKind::Replay, 5));
    assert_eq!(
        misbehaviour(&out[1]),
        (P0, Misbehaviour::Replayed { message: 4 })
    );
    blames(&out[2], P0);

    let out = run(honest3(), fault(P0, FaultKind::Reorder, 4));
    assert_eq!(
        misbehaviour(&out[1]),
        (P0, Misbehaviour::Reordered { message: 5 })
    );
    blames(&out[2], P0);

    let out = run(honest3(), fault(P0, FaultKind::Drop, 4));
    assert!(matches!(
        misbehaviour(&out[1]),
        (P0, Misbehaviour::Dropped { after: None, .. })
    ));
    blames(&out[2], P0);
}

#[test]
fn long_messages_go_in_parts_and_a_fault_on_any_part_is_caught_and_named() {
    let out = run_script(honest3(), None, long_script);
    for o in &out {
        o.as_ref().expect("long messages arrive whole");
    }
    // P0's data messages 4..=9 are the parts of its two long messages.
    for message in [4, 5, 6, 8] {
        let out = run_script(honest3(), fault(P0, FaultKind::Flip, message), long_script);
        assert_eq!(
            misbehaviour(&out[1]),
            (
                P0,
                Misbehaviour::Changed {
                    message: Some(message)
                }
            ),
            "a flip in part {message}"
        );
        blames(&out[2], P0);
        let out = run_script(honest3(), fault(P0, FaultKind::Drop, message), long_script);
        assert!(
            matches!(misbehaviour(&out[1]), (P0, Misbehaviour::Dropped { .. })),
            "a dropped part {message}: {:?}",
            out[1]
        );
        let out = run_script(
            honest3(),
            fault(P0, FaultKind::Replay, message + 1),
            long_script,
        );
        assert_eq!(
            misbehaviour(&out[1]),
            (P0, Misbehaviour::Replayed { message }),
            "a replayed part {message}"
        );
    }
    // The client's echo, parts 4..=6 of its messages.
    let out = run_script(honest3(), fault(P1, FaultKind::Reorder, 5), long_script);
    assert_eq!(
        misbehaviour(&out[0]),
        (P1, Misbehaviour::Reordered { message: 6 })
    );
}

/// P0 sends its message as step 1's; P1 expects step 2's (a boundary whose code
/// follows another schedule).
fn out_of_step_script(channel: &mut dyn Transport) -> Result<(), NetError> {
    match channel.me() {
        Party::ModelOwner => {
            channel.send_labelled(P1, 1, &[7, 8])?;
            // Waits for an answer that never comes: P1 aborts instead.
            channel.recv_labelled(P1, 3)?;
        }
        Party::Client => {
            channel.recv_labelled(P0, 2)?;
        }
        Party::Helper => {}
    }
    Ok(())
}

#[test]
fn an_authentic_message_of_another_step_is_refused_naming_its_sender() {
    let out = run_script(honest3(), None, out_of_step_script);
    match &out[1] {
        Err(AttestError::Net(NetError::OutOfStep {
            peer: P0,
            expected: 2,
            got: 1,
        })) => {}
        other => panic!("{other:?}"),
    }
    blames(&out[0], P0);
    blames(&out[2], P0);
    // The same labels agree: the broken schedule is what is caught.
    fn in_step(channel: &mut dyn Transport) -> Result<(), NetError> {
        match channel.me() {
            Party::ModelOwner => channel.send_labelled(P1, 2, &[7, 8]),
            Party::Client => channel.recv_labelled(P0, 2).map(|w| assert_eq!(w, [7, 8])),
            Party::Helper => Ok(()),
        }
    }
    for o in run_script(honest3(), None, in_step) {
        o.expect("labels that agree pass");
    }
}

/// The broken receiver kept beside the label check: a transport that ignores labels
/// (the plain one below the channel) takes P0's step-1 message as step 2's, so the
/// test above fails if the channel stops comparing labels.
#[test]
fn a_receiver_that_ignores_labels_would_take_the_out_of_step_message() {
    let [mut p0, mut p1, _p2] = MemoryTransport::triple();
    p0.send_labelled(P1, 1, &[7, 8]).expect("send");
    assert_eq!(p1.recv_labelled(P0, 2).expect("accepted"), [7, 8]);
}

#[test]
fn faults_on_the_client_s_answer_are_caught_by_the_model_owner() {
    // P1's messages: hellos 0, 1, tokens 2, 3, answer 4.
    for kind in [
        FaultKind::Flip,
        FaultKind::Drop,
        FaultKind::Replay,
        FaultKind::Reorder,
    ] {
        let out = run(honest3(), fault(P1, kind, 4));
        blames(&out[0], P1);
        blames(&out[2], P1);
    }
}

#[test]
fn faults_on_prelude_messages_are_caught_before_any_input_is_touched() {
    for message in 0..4 {
        for kind in [
            FaultKind::Flip,
            FaultKind::Drop,
            FaultKind::Replay,
            FaultKind::Reorder,
        ] {
            for party in Party::ALL {
                let out = run(honest3(), fault(party, kind, message));
                // Message m goes to the (m % 2)-th of the culprit's peers.
                let peers: Vec<Party> = Party::ALL.into_iter().filter(|&p| p != party).collect();
                let victim = peers[(message % 2) as usize];
                let err = out[victim.index()].as_ref().expect_err("the victim stops");
                assert_eq!(
                    err.culprit(),
                    Some(party),
                    "{party} {kind:?} message {message}: {victim} said: {err}"
                );
            }
        }
    }
}

/// A host that records what its party sends, or sends a recorded message in place of
/// one of its own.
struct Recorder {
    inner: MemoryTransport,
    sent: u64,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
    replace: Option<(u64, Vec<u8>)>,
}

impl Transport for Recorder {
    fn me(&self) -> Party {
        self.inner.me()
    }
    fn send(&mut self, to: Party, payload: Vec<u8>) -> Result<(), NetError> {
        let index = self.sent;
        self.sent += 1;
        self.log.lock().expect("log").push(payload.clone());
        match &self.replace {
            Some((at, old)) if *at == index => self.inner.send(to, old.clone()),
            _ => self.inner.send(to, payload),
        }
    }
    fn recv(&mut self, from: Party) -> Result<Vec<u8>, NetError> {
        self.inner.recv(from)
    }
    fn stats(&self) -> cryptflow_net::CommStats {
        self.inner.stats()
    }
}

use std::sync::{Arc, Mutex};

#[test]
fn a_token_replayed_from_an_earlier_session_is_refused() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let recording = |t: MemoryTransport| -> Box<dyn Transport> {
        let log = if t.me() == P2 {
            log.clone()
        } else {
            Arc::default()
        };
        Box::new(Recorder {
            inner: t,
            sent: 0,
            log,
            replace: None,
        })
    };
    let first = run_with_hosts(honest3(), &recording, script);
    assert!(first.iter().all(Result::is_ok));
    // P2's messages: hellos 0 (to P0), 1 (to P1), tokens 2 (to P0), 3 (to P1).
    let old_token = log.lock().expect("log")[2].clone();
    let replaying = |t: MemoryTransport| -> Box<dyn Transport> {
        let replace = (t.me() == P2).then(|| (2, old_token.clone()));
        Box::new(Recorder {
            inner: t,
            sent: 0,
            log: Arc::default(),
            replace,
        })
    };
    let second = run_with_hosts(honest3(), &replaying, script);
    assert_eq!(rejected(&second[0]), (P2, TokenRejection::NotThisSession));
    // P1 got P2's fresh token; it still stops, told by P0 whom to blame.
    blames(&second[1], P2);
}
