//! The real `cryptflow` binary on bad models, bad inputs and broken peers: each case
//! must end with a message that says what is wrong and what to do, the documented exit
//! code (2: the user's files or arguments need fixing; 1: the run failed), and no
//! panic. One successful `infer --json` checks the happy path's output format.

mod common;

use common::*;
use cryptflow_net::{Party, TcpConfig, TcpTransport, Transport};
use prost::Message;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

// ---------------------------------------------------------------- bad models

#[test]
fn infer_with_a_missing_model_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("no_such_model.onnx");
    let outcome = cryptflow(&["infer", path_str(&model), "--input", path_str(&digit_7())]);
    assert_fails(
        &outcome,
        2,
        &[&shown(&model), "does not exist", "check the path"],
    );
}

#[test]
fn infer_with_a_garbage_model_says_it_is_not_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("garbage.onnx");
    std::fs::write(&model, garbage(4096, 7)).unwrap();
    let outcome = cryptflow(&["infer", path_str(&model), "--input", path_str(&digit_7())]);
    assert_fails(
        &outcome,
        2,
        &[
            &shown(&model),
            "do not decode as an ONNX ModelProto",
            "is this an ONNX model file?",
        ],
    );
}

#[test]
fn infer_with_a_truncated_model_is_a_decode_error() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(model("lenet.onnx")).unwrap();
    let model = dir.path().join("lenet_half.onnx");
    std::fs::write(&model, &whole[..whole.len() / 2]).unwrap();
    let outcome = cryptflow(&["infer", path_str(&model), "--input", path_str(&digit_7())]);
    assert_fails(
        &outcome,
        2,
        &[
            &shown(&model),
            "do not decode as an ONNX ModelProto",
            "truncated",
        ],
    );
}

#[test]
fn infer_and_plain_name_an_unsupported_op_its_node_and_opset() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("non_zero.onnx");
    std::fs::write(&model, conv_non_zero().encode_to_vec()).unwrap();
    let input = dir.path().join("x.npy");
    write_npy(&input, &[1, 1, 4, 4], &[0.5f32; 16]);
    for command in ["infer", "plain"] {
        let outcome = cryptflow(&[command, path_str(&model), "--input", path_str(&input)]);
        assert_fails(
            &outcome,
            2,
            &[
                &shown(&model),
                "`NonZero`",
                "node `gate7`",
                "opset 13",
                "supported operators",
            ],
        );
    }
}

// ---------------------------------------------------------------- bad inputs

#[test]
fn input_of_the_wrong_shape_gives_both_shapes_and_the_reshape() {
    let dir = tempfile::tempdir().unwrap();
    let input = flat_digit_7(dir.path());
    let outcome = cryptflow(&[
        "infer",
        path_str(&model("lenet.onnx")),
        "--input",
        path_str(&input),
    ]);
    assert_fails(
        &outcome,
        2,
        &[
            "has shape [1, 784]",
            "expects [1, 1, 28, 28]",
            "reshape it, e.g. numpy x.reshape([1, 1, 28, 28])",
        ],
    );
}

#[test]
fn input_of_the_wrong_dtype_must_be_float32() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ints.npy");
    write_npy(&input, &[1, 784], &[1i64; 784]);
    let outcome = cryptflow(&[
        "infer",
        path_str(&model("logreg.onnx")),
        "--input",
        path_str(&input),
    ]);
    assert_fails(
        &outcome,
        2,
        &[
            &shown(&input),
            "<i8",
            "must be float32",
            "astype(np.float32)",
        ],
    );
}

#[test]
fn nan_and_infinite_inputs_name_the_element() {
    let dir = tempfile::tempdir().unwrap();
    for (index, value, shown_as) in [(5, f32::NAN, "NaN"), (300, f32::INFINITY, "inf")] {
        let mut values = vec![0.25f32; 784];
        values[index] = value;
        let input = dir.path().join(format!("bad_{index}.npy"));
        write_npy(&input, &[1, 784], &values);
        let outcome = cryptflow(&[
            "infer",
            path_str(&model("logreg.onnx")),
            "--input",
            path_str(&input),
        ]);
        assert_fails(
            &outcome,
            2,
            &[
                &shown(&input),
                &format!("element {index} is {shown_as}"),
                "must be finite",
            ],
        );
    }
}

#[test]
fn a_missing_input_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("no_such_input.npy");
    let outcome = cryptflow(&[
        "infer",
        path_str(&model("logreg.onnx")),
        "--input",
        path_str(&input),
    ]);
    assert_fails(&outcome, 2, &[&shown(&input), "cannot read"]);
}

#[test]
fn a_garbage_npy_says_it_is_not_a_npy_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("garbage.npy");
    std::fs::write(&input, garbage(1000, 11)).unwrap();
    let outcome = cryptflow(&[
        "infer",
        path_str(&model("logreg.onnx")),
        "--input",
        path_str(&input),
    ]);
    assert_fails(&outcome, 2, &[&shown(&input), "not a valid .npy file"]);
}

#[test]
fn an_npy_whose_shape_overflows_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("huge.npy");
    write_raw_npy(&input, "<f4", "(4294967296, 4294967296)", &[0; 16]);
    for command in ["infer", "plain"] {
        let outcome = cryptflow(&[
            command,
            path_str(&model("logreg.onnx")),
            "--input",
            path_str(&input),
        ]);
        assert_fails(&outcome, 2, &[&shown(&input)]);
    }
}

#[test]
fn a_decode_error_states_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(model("lenet.onnx")).unwrap();
    let model = dir.path().join("lenet_half.onnx");
    std::fs::write(&model, &whole[..whole.len() / 2]).unwrap();
    let outcome = cryptflow(&["plain", path_str(&model), "--input", path_str(&digit_7())]);
    assert_fails(&outcome, 2, &["buffer underflow"]);
    assert_eq!(
        outcome.stderr.matches("buffer underflow").count(),
        1,
        "{}",
        outcome.stderr
    );
}

// ---------------------------------------------------------------- parties

#[test]
fn party_without_its_file_says_what_to_add() {
    let peers = "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3";
    let owner = cryptflow(&["party", "--id", "0", "--peers", peers, "--plaintext"]);
    assert_fails(&owner, 2, &["party 0 (model owner) needs --model"]);
    let client = cryptflow(&["party", "--id", "1", "--peers", peers, "--plaintext"]);
    assert_fails(&client, 2, &["party 1 (client) needs --input"]);
}

#[test]
fn an_unreachable_model_owner_is_named_with_its_address() {
    // A port nobody listens on: bind it, note it, free it.
    let p0 = port(&listeners::<1>()[0]);
    let [l1, l2] = listeners::<2>();
    let peers = format!(
        "127.0.0.1:{p0},127.0.0.1:{},127.0.0.1:{}",
        port(&l1),
        port(&l2)
    );
    drop((l1, l2));
    let outcome = Running::start(
        "P1",
        &[
            "party",
            "--id",
            "1",
            "--peers",
            &peers,
            "--input",
            path_str(&digit_7()),
            "--timeout",
            "1",
            "--plaintext",
        ],
    )
    .finish_within(Duration::from_secs(10));
    assert_no_panic(&outcome);
    assert!(
        !outcome.status.success(),
        "P1 succeeded without P0: {}",
        outcome.stderr
    );
    for needle in [
        "P0 (model owner)".to_owned(),
        format!("127.0.0.1:{p0}"),
        "is it running".to_owned(),
    ] {
        assert!(
            outcome.stderr.contains(&needle),
            "{needle:?} missing:\n{}",
            outcome.stderr
        );
    }
}

#[test]
fn a_client_that_disconnects_mid_run_is_named_by_the_model_owner() {
    let session_hex = "0123456789abcdef0123456789abcdef";
    let session_id: [u8; 16] =
        std::array::from_fn(|i| u8::from_str_radix(&session_hex[2 * i..2 * i + 2], 16).unwrap());
    // We keep the client's listener; the two children bind the other ports.
    let [l0, client_listener, l2] = listeners::<3>();
    let addrs: [SocketAddr; 3] = [
        l0.local_addr().unwrap(),
        client_listener.local_addr().unwrap(),
        l2.local_addr().unwrap(),
    ];
    drop((l0, l2));
    let peers = addrs.map(|a| a.to_string()).join(",");
    let lenet = shown(&model("lenet.onnx"));
    let party = |id: &'static str| {
        let common = [
            "--peers",
            &peers,
            "--timeout",
            "5",
            "--session",
            session_hex,
            "--plaintext",
        ];
        let mut args = vec!["party", "--id", id];
        args.extend(common);
        args
    };
    let mut owner_args = party("0");
    owner_args.extend(["--model", &lenet]);
    let owner = Running::start("P0", &owner_args);
    let _helper = Running::start("P2", &party("2"));

    // The fake client: the setup of crates/runtime/src/session.rs, then hang up.
    let config = TcpConfig {
        connect_timeout: Duration::from_secs(10),
        io_timeout: Duration::from_secs(10),
        session_id,
        ..TcpConfig::default()
    };
    let mut client =
        TcpTransport::connect_with_listener(Party::Client, client_listener, addrs, &config)
            .expect("the fake client connects to P0 and P2");
    let seed = client.recv(Party::ModelOwner).expect("P0's seed");
    assert_eq!(seed.len(), 16);
    client
        .send(Party::Helper, vec![42; 16])
        .expect("our seed to P2");
    let program = client.recv(Party::ModelOwner).expect("the program");
    assert!(!program.is_empty());
    client.close().expect("close the fake client");

    let outcome = owner.finish_within(Duration::from_secs(15));
    assert_no_panic(&outcome);
    assert!(
        !outcome.status.success(),
        "P0 succeeded without its client: {}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.starts_with("error: ")
            && outcome.stderr.contains("P1 (client)")
            && outcome.stderr.contains("disconnected"),
        "P0 should say P1 (client) disconnected:\n{}",
        outcome.stderr
    );
}

#[test]
fn a_huge_timeout_is_rejected_not_a_panic() {
    let peers = "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3";
    let huge = u64::MAX.to_string();
    let party = Running::start(
        "P2",
        &["party", "--id", "2", "--peers", peers, "--timeout", &huge],
    )
    .finish_within(Duration::from_secs(10));
    assert_fails(&party, 2, &["--timeout"]);
    let dir = tempfile::tempdir().unwrap();
    let input = flat_digit_7(dir.path());
    let infer = cryptflow(&[
        "infer",
        path_str(&model("logreg.onnx")),
        "--input",
        path_str(&input),
        "--timeout",
        &huge,
    ]);
    assert_fails(&infer, 2, &["--timeout"]);
}

// ---------------------------------------------------------------- success

#[test]
fn infer_json_prints_one_object_with_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let input = flat_digit_7(dir.path());
    let outcome = cryptflow(&[
        "infer",
        path_str(&model("logreg.onnx")),
        "--input",
        path_str(&input),
        "--json",
        "--timeout",
        "10",
    ]);
    assert_no_panic(&outcome);
    assert_eq!(outcome.code(), Some(0), "stderr:\n{}", outcome.stderr);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout must be one JSON line:\n{}",
        outcome.stdout
    );
    let json: serde_json::Value = serde_json::from_str(lines[0]).expect("valid JSON");
    let object = json.as_object().expect("a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
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

    let numbers = |key: &str| -> Vec<f64> {
        object[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} is not an array: {json}"))
            .iter()
            .map(|v| v.as_f64().unwrap_or_else(|| panic!("{key} holds {v}")))
            .collect()
    };
    let shape: Vec<u64> = object["shape"]
        .as_array()
        .expect("shape is an array")
        .iter()
        .map(|d| d.as_u64().expect("shape holds integers"))
        .collect();
    assert_eq!(shape, [1, 10]);
    let output = numbers("output");
    assert_eq!(output.len(), 10);
    let top1 = object["top1"].as_u64().expect("top1 is an integer") as usize;
    let best = output.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(output[top1], best, "top1 is not the arg max of {output:?}");

    let bytes_sent: Vec<u64> = object["bytes_sent"]
        .as_array()
        .expect("bytes_sent is an array")
        .iter()
        .map(|b| b.as_u64().expect("bytes are integers"))
        .collect();
    assert_eq!(bytes_sent.len(), 3);
    assert!(bytes_sent.iter().all(|&b| b > 0), "{bytes_sent:?}");
    assert!(object["rounds"].as_u64().expect("rounds is an integer") > 0);
    let wall_s = object["wall_s"].as_f64().expect("wall_s is a number");
    assert!(wall_s > 0.0 && wall_s < 60.0, "{wall_s}");
    let online_s = object["online_s"].as_f64().expect("online_s is a number");
    assert!(
        online_s > 0.0 && online_s < wall_s,
        "{online_s} of {wall_s}"
    );
    let peak = numbers("peak_rss_mib");
    assert_eq!(peak.len(), 3);
    assert!(peak.iter().all(|&m| m > 0.0), "{peak:?}");
}
