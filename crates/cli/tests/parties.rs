//! `cryptflow keygen` and three `cryptflow party` processes on 127.0.0.1: over TLS
//! with pinned certificates, refused with a wrong certificate or without keys,
//! `party --json`, and `--timeout` bounding the wait for a stalled peer.

mod common;

use common::*;
use cryptflow_net::{Party, TcpConfig, TcpTransport, TlsIdentity};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// Three free ports as a --peers list (freed again, so the parties can bind them).
fn free_peers() -> (String, [SocketAddr; 3]) {
    let listeners = listeners::<3>();
    let addrs = listeners
        .each_ref()
        .map(|l| l.local_addr().expect("an address"));
    (addrs.map(|a| a.to_string()).join(","), addrs)
}

/// `cryptflow keygen --id N --out DIR` for every party; returns the fingerprints
/// they printed.
fn keygen_all(dir: &Path) -> [String; 3] {
    ["0", "1", "2"].map(|id| {
        let outcome = cryptflow(&["keygen", "--id", id, "--out", path_str(dir)]);
        assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
        fingerprint_in(&outcome.stdout)
    })
}

fn fingerprint_in(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("SHA-256 fingerprint: "))
        .unwrap_or_else(|| panic!("no fingerprint printed:\n{stdout}"))
        .to_owned()
}

/// Starts party `id` with `extra` arguments after the common ones.
fn party(id: &str, peers: &str, extra: &[&str]) -> Running {
    let mut args = vec!["party", "--id", id, "--peers", peers, "--timeout", "10"];
    args.extend(extra);
    Running::start(&format!("P{id}"), &args)
}

/// The --key/--certs arguments for party `id` from a keygen directory.
fn tls_args(dir: &Path, id: usize) -> [String; 4] {
    [
        "--key".to_owned(),
        dir.join(format!("party{id}.key")).display().to_string(),
        "--certs".to_owned(),
        dir.display().to_string(),
    ]
}

fn json_line(stdout: &str) -> Value {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must be one JSON line:\n{stdout}");
    serde_json::from_str(lines[0]).expect("valid JSON")
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads_and_prints_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let printed = keygen_all(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("party1.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let key = dir.path().join("party1.key");
    let identity = TlsIdentity::load(Party::Client, &key, dir.path()).unwrap();
    assert_eq!(identity.fingerprint(), printed[1]);
    assert_eq!(printed[1].len(), 32 * 3 - 1, "{}", printed[1]);

    // The key is not replaced by accident ...
    let again = cryptflow(&["keygen", "--id", "1", "--out", path_str(dir.path())]);
    assert_fails(&again, 2, &["party1.key already exists", "--force"]);
    // ... only on purpose.
    let forced = cryptflow(&[
        "keygen",
        "--id",
        "1",
        "--out",
        path_str(dir.path()),
        "--force",
    ]);
    assert_eq!(forced.code(), Some(0), "stderr:\n{}", forced.stderr);
    assert_ne!(fingerprint_in(&forced.stdout), printed[1]);
}

#[test]
fn three_parties_over_tls_give_the_plain_runs_prediction() {
    let keys = tempfile::tempdir().unwrap();
    keygen_all(keys.path());
    let scratch = tempfile::tempdir().unwrap();
    let input = flat_digit_7(scratch.path());
    let logreg = shown(&model("logreg.onnx"));
    let (peers, _) = free_peers();
    let tls = |id| tls_args(keys.path(), id);
    let [p0_tls, p1_tls, p2_tls] = [tls(0), tls(1), tls(2)];
    let mut p0 = vec!["--model", &logreg];
    p0.extend(p0_tls.iter().map(String::as_str));
    let mut p1 = vec!["--input", path_str(&input), "--json"];
    p1.extend(p1_tls.iter().map(String::as_str));
    let p2: Vec<&str> = p2_tls.iter().map(String::as_str).collect();
    let owner = party("0", &peers, &p0);
    let helper = party("2", &peers, &p2);
    let client = party("1", &peers, &p1).finish_within(Duration::from_secs(30));
    assert_eq!(client.code(), Some(0), "stderr:\n{}", client.stderr);
    for other in [owner, helper] {
        let outcome = other.finish_within(Duration::from_secs(10));
        assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    }

    let secure = json_line(&client.stdout);
    let plain = cryptflow(&["plain", &logreg, "--input", path_str(&input), "--json"]);
    assert_eq!(plain.code(), Some(0), "stderr:\n{}", plain.stderr);
    let plain = json_line(&plain.stdout);
    assert_eq!(secure["top1"], plain["top1"]);
    assert_eq!(secure["shape"], plain["shape"]);
    // Secure truncation may be off by a unit in the last place of the fixed point.
    let (a, b) = (floats(&secure["output"]), floats(&plain["output"]));
    assert_eq!(a.len(), 10);
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 0.01),
        "{a:?} vs {b:?}"
    );
}

#[test]
fn a_certificate_that_is_not_pinned_is_refused_naming_the_party() {
    let keys = tempfile::tempdir().unwrap();
    keygen_all(keys.path());
    // P2 made a new key; P0 and P1 still pin the old party2.crt.
    let other = tempfile::tempdir().unwrap();
    let new_p2 = cryptflow(&["keygen", "--id", "2", "--out", path_str(other.path())]);
    let new_fingerprint = fingerprint_in(&new_p2.stdout);
    for name in ["party0.crt", "party1.crt"] {
        std::fs::copy(keys.path().join(name), other.path().join(name)).unwrap();
    }
    let logreg = shown(&model("logreg.onnx"));
    let (peers, _) = free_peers();
    let p0_tls = tls_args(keys.path(), 0);
    let p2_tls = tls_args(other.path(), 2);
    let mut p0 = vec!["--model", &logreg];
    p0.extend(p0_tls.iter().map(String::as_str));
    let p2: Vec<&str> = p2_tls.iter().map(String::as_str).collect();
    let owner = party("0", &peers, &p0);
    let helper = party("2", &peers, &p2);

    let owner = owner.finish_within(Duration::from_secs(15));
    let pinned = shown(&keys.path().join("party2.crt"));
    assert_fails(
        &owner,
        1,
        &[
            "a connection claiming to be P2 (helper) presented a certificate that is not",
            &pinned,
            &new_fingerprint,
        ],
    );
    let helper = helper.finish_within(Duration::from_secs(15));
    assert_fails(
        &helper,
        1,
        &[
            "P0 (model owner)",
            "rejected our certificate",
            &new_fingerprint,
        ],
    );
}

#[test]
fn party_without_keys_or_plaintext_is_refused_and_says_how_to_make_keys() {
    let peers = "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3";
    let helper = cryptflow(&["party", "--id", "2", "--peers", peers]);
    assert_fails(
        &helper,
        2,
        &["--key", "--certs", "cryptflow keygen", "--plaintext"],
    );
    let dir = tempfile::tempdir().unwrap();
    keygen_all(dir.path());
    let wrong_key = cryptflow(&[
        "party",
        "--id",
        "2",
        "--peers",
        peers,
        "--key",
        path_str(&dir.path().join("party1.key")),
        "--certs",
        path_str(dir.path()),
    ]);
    assert_fails(
        &wrong_key,
        2,
        &["party1.key is not the private key of", "party2.crt"],
    );
    let empty = tempfile::tempdir().unwrap();
    let no_certs = cryptflow(&[
        "party",
        "--id",
        "2",
        "--peers",
        peers,
        "--key",
        path_str(&dir.path().join("party2.key")),
        "--certs",
        path_str(empty.path()),
    ]);
    assert_fails(
        &no_certs,
        2,
        &[
            "cannot load a PEM certificate from",
            "party0.crt",
            "--certs must hold",
        ],
    );
}

#[test]
fn party_json_prints_the_inference_object_with_nulls_for_what_a_party_cannot_know() {
    let scratch = tempfile::tempdir().unwrap();
    let input = flat_digit_7(scratch.path());
    let logreg = shown(&model("logreg.onnx"));
    let (peers, _) = free_peers();
    let owner = party("0", &peers, &["--model", &logreg, "--plaintext", "--json"]);
    let helper = party("2", &peers, &["--plaintext", "--json"]);
    let client = party(
        "1",
        &peers,
        &["--input", path_str(&input), "--plaintext", "--json"],
    );
    let outcomes = [owner, client, helper].map(|p| p.finish_within(Duration::from_secs(30)));
    let objects = outcomes.each_ref().map(|outcome| {
        assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
        json_line(&outcome.stdout)
    });
    for (index, object) in objects.iter().enumerate() {
        let mut keys: Vec<&str> = object
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        // The fields of `infer --json` (cli_errors.rs checks those).
        assert_eq!(
            keys,
            [
                "bytes_sent",
                "mode",
                "offline_s",
                "online_s",
                "output",
                "peak_rss_mib",
                "rounds",
                "shape",
                "top1",
                "wall_s"
            ]
        );
        for field in ["bytes_sent", "peak_rss_mib"] {
            let values = object[field].as_array().expect("an array");
            assert_eq!(values.len(), 3);
            for (party, value) in values.iter().enumerate() {
                // Each party knows its own numbers only.
                assert_eq!(
                    value.is_null(),
                    party != index,
                    "{field} of P{index}: {object}"
                );
            }
        }
        assert!(object["wall_s"].as_f64().expect("a number") > 0.0);
    }
    let client = &objects[1];
    assert_eq!(client["shape"], serde_json::json!([1, 10]));
    assert_eq!(floats(&client["output"]).len(), 10);
    assert_eq!(client["top1"], 7);
    for learns_nothing in [&objects[0], &objects[2]] {
        for field in ["output", "shape", "top1"] {
            assert!(learns_nothing[field].is_null(), "{learns_nothing}");
        }
    }
}

#[test]
fn a_stalled_helper_is_reported_within_the_timeout_naming_it() {
    let session_hex = "00112233445566778899aabbccddeeff";
    let session_id: [u8; 16] =
        std::array::from_fn(|i| u8::from_str_radix(&session_hex[2 * i..2 * i + 2], 16).unwrap());
    let [l0, l1, helper_listener] = listeners::<3>();
    let addrs = [&l0, &l1, &helper_listener].map(|l| l.local_addr().unwrap());
    drop((l0, l1));
    let peers = addrs.map(|a| a.to_string()).join(",");
    let scratch = tempfile::tempdir().unwrap();
    let input = flat_digit_7(scratch.path());
    let logreg = shown(&model("logreg.onnx"));
    let common = ["--timeout", "2", "--session", session_hex, "--plaintext"];
    let start = |id, own: &[&str]| {
        let mut args = vec!["party", "--id", id, "--peers", &peers];
        args.extend(common);
        args.extend(own);
        Running::start(&format!("P{id}"), &args)
    };
    let owner = start("0", &["--model", &logreg]);
    let client = start("1", &["--input", path_str(&input)]);

    // The helper connects, then never sends a byte (and keeps the connections open).
    let config = TcpConfig {
        connect_timeout: Duration::from_secs(10),
        session_id,
        ..TcpConfig::default()
    };
    let helper =
        TcpTransport::connect_with_listener(Party::Helper, helper_listener, addrs, &config)
            .expect("the stalled helper connects");
    let connected = Instant::now();
    let client = client.finish_within(Duration::from_secs(15));
    let waited = connected.elapsed();
    let owner = owner.finish_within(Duration::from_secs(15));
    drop(helper);

    // The client waits for the helper's correlated randomness first.
    assert_fails(
        &client,
        1,
        &["timed out after 2s waiting for a message from P2 (helper)"],
    );
    // P0 needs nothing from the helper in LogReg: it may finish or see P1 go.
    assert_no_panic(&owner);
    // Within the 2 s timeout plus process exit, not 4 x 2 s as before.
    assert!(
        (Duration::from_millis(1900)..Duration::from_secs(4)).contains(&waited),
        "reported after {waited:?}, not after ~2 s"
    );
}

#[test]
fn infer_tls_runs_the_three_parties_over_tls_with_keys_made_for_the_run() {
    let scratch = tempfile::tempdir().unwrap();
    let input = flat_digit_7(scratch.path());
    let outcome = cryptflow(&[
        "infer",
        path_str(&model("logreg.onnx")),
        "--input",
        path_str(&input),
        "--tls",
        "--json",
    ]);
    assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    let result = json_line(&outcome.stdout);
    assert_eq!(result["top1"], 7);
    let sent = result["bytes_sent"].as_array().expect("an array");
    assert!(
        sent.iter().all(|b| b.as_u64().is_some_and(|b| b > 0)),
        "{result}"
    );
}

/// `infer --profile`: one record per step in order, the client's rounds and bytes in
/// them adding up to the run's (all but the output's round and bytes, sent after the
/// last step), a convolution's bytes at the client (its masked input) and a ReLU's
/// rounds; the text table ends with the kernels by time.
#[test]
fn infer_profile_reports_every_step_adding_up_to_the_run() {
    let lenet = model("lenet.onnx");
    let digit = digit_7();
    let args = [
        "infer",
        path_str(&lenet),
        "--input",
        path_str(&digit),
        "--profile",
    ];
    let outcome = cryptflow(&[&args[..], &["--json"]].concat());
    assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    let run: Value = serde_json::from_str(&outcome.stdout).expect("one JSON object");
    let layers = run["layers"].as_array().expect("layers with --profile");
    assert!(layers.len() >= 8, "{} steps", layers.len());
    let number = |v: &Value| v.as_u64().expect("a count");
    for (i, layer) in layers.iter().enumerate() {
        assert_eq!(number(&layer["step"]), i as u64);
    }
    let rounds: u64 = layers.iter().map(|l| number(&l["rounds"])).sum();
    assert_eq!(
        rounds + 1,
        number(&run["rounds"]),
        "the output is one round"
    );
    let client_sent: u64 = layers.iter().map(|l| number(&l["bytes_sent"][1])).sum();
    assert!(client_sent > 0 && client_sent <= number(&run["bytes_sent"][1]));
    let of_kernel = |kernel: &str| {
        layers
            .iter()
            .find(|l| l["kernel"] == kernel)
            .unwrap_or_else(|| panic!("a {kernel} step"))
    };
    assert!(number(&of_kernel("Conv")["bytes_sent"][1]) > 0);
    assert!(number(&of_kernel("Relu")["rounds"]) > 0);
    assert_eq!(number(&of_kernel("Truncate")["rounds"]), 0);

    let text = cryptflow(&args);
    assert_eq!(text.code(), Some(0), "stderr:\n{}", text.stderr);
    assert!(text.stdout.contains("by kernel"), "{}", text.stdout);
    // Without --profile the JSON stays small.
    let plain = cryptflow(&args[..4]);
    assert!(!plain.stdout.contains("by kernel"));
}

/// `party --profile --json`: the party's own steps, its bytes in each known and the
/// others' null (it cannot see what they sent); the helper, which deals, sends in
/// some step.
#[test]
fn party_profile_reports_its_own_steps_with_nulls_for_the_others() {
    let scratch = tempfile::tempdir().unwrap();
    let input = flat_digit_7(scratch.path());
    let logreg = shown(&model("logreg.onnx"));
    let (peers, _) = free_peers();
    let owner = party("0", &peers, &["--model", &logreg, "--plaintext", "--json"]);
    let helper = party("2", &peers, &["--plaintext", "--json", "--profile"]);
    let client = party(
        "1",
        &peers,
        &["--input", path_str(&input), "--plaintext", "--json"],
    );
    let outcomes = [owner, client, helper].map(|p| p.finish_within(Duration::from_secs(30)));
    for outcome in &outcomes {
        assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    }
    let owner = json_line(&outcomes[0].stdout);
    assert!(owner.get("layers").is_none(), "only with --profile");
    let helper = json_line(&outcomes[2].stdout);
    let layers = helper["layers"].as_array().expect("the helper's steps");
    assert!(!layers.is_empty());
    let mut sent = 0;
    for layer in layers {
        let bytes = layer["bytes_sent"].as_array().expect("three entries");
        assert!(bytes[0].is_null() && bytes[1].is_null(), "{layer}");
        sent += bytes[2].as_u64().expect("its own bytes");
    }
    assert!(sent > 0, "the helper deals in some step");
}
