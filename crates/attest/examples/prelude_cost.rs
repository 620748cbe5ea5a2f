//! How long the prelude takes over in-memory transports (a measurement aid).
use cryptflow_attest::{
    run_prelude, CodeIdentity, Digest, Enclave, PreludeConfig, SoftwareRoot, PROTOCOL_VERSION,
};
use cryptflow_net::{MemoryTransport, Transport};
use std::time::Instant;

fn main() {
    let root = SoftwareRoot::generate().expect("root");
    let id = CodeIdentity {
        code: Digest([1; 32]),
        protocol_version: PROTOCOL_VERSION,
        program: Digest([2; 32]),
    };
    let mut times = Vec::new();
    for _ in 0..50 {
        let ts = MemoryTransport::triple();
        let started = Instant::now();
        std::thread::scope(|s| {
            for mut t in ts {
                let root = &root;
                s.spawn(move || {
                    let me = t.me();
                    let e = Enclave::launch(me, id).expect("launch");
                    let cfg = PreludeConfig {
                        attester: root,
                        verifier: root,
                        sent_before: 0,
                    };
                    let mut session = run_prelude(e, &mut t, cfg).expect("prelude");
                    session.channel.finish().expect("finish");
                });
            }
        });
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!("prelude + finish, median of 50: {:.3} ms", times[25]);
    let start = Instant::now();
    let _ = cryptflow_attest::identity::this_binary();
    println!(
        "hash of this binary: {:.3} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}
