#![no_main]
// The logic lives in the cryptflow-fuzz library so that `cargo test` replays the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cryptflow_fuzz::protocol_messages(data));
