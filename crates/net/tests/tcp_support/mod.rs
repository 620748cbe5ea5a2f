//! Starting TCP parties on 127.0.0.1 with port-0 listeners.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use cryptflow_net::{NetError, Party, TcpConfig, TcpTransport};

/// Short timeouts so a broken test fails in seconds, not minutes.
pub fn config() -> TcpConfig {
    TcpConfig {
        connect_timeout: Duration::from_secs(5),
        io_timeout: Duration::from_secs(10),
        session_id: *b"cryptflow-tests!",
        ..TcpConfig::default()
    }
}

/// Three listeners on free ports, and their addresses.
pub fn listeners() -> ([TcpListener; 3], [SocketAddr; 3]) {
    let listeners = [(); 3].map(|()| TcpListener::bind("127.0.0.1:0").unwrap());
    let addrs = [0, 1, 2].map(|i| listeners[i].local_addr().unwrap());
    (listeners, addrs)
}

/// Connects the parties in `present` (each on its own thread, with its own config)
/// and runs `body` on each; parties not present never start.
pub fn run_parties<T: Send>(
    present: &[(Party, TcpConfig)],
    body: impl Fn(Result<TcpTransport, NetError>) -> T + Sync,
) -> Vec<T> {
    let (listeners, addrs) = listeners();
    let mut listeners = listeners.map(Some);
    let body = &body;
    thread::scope(|scope| {
        let parties: Vec<_> = present
            .iter()
            .map(|(me, config)| {
                let listener = listeners[me.index()].take().unwrap();
                scope.spawn(move || {
                    body(TcpTransport::connect_with_listener(
                        *me, listener, addrs, config,
                    ))
                })
            })
            .collect();
        parties
            .into_iter()
            .map(|party| party.join().unwrap())
            .collect()
    })
}

/// All three parties with the test config.
pub fn run_all<T: Send>(body: impl Fn(TcpTransport) -> T + Sync) -> Vec<T> {
    let present = Party::ALL.map(|party| (party, config()));
    run_parties(&present, |transport| body(transport.unwrap()))
}
