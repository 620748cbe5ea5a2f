#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and prints, per target, the
# executions libFuzzer made (its -print_final_stats=1 lines) and any crash.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 s each, every target)
#   FUZZ_SEED=N scripts/fuzz.sh ...           (libFuzzer's -seed, for repeatable runs: CI)
#
# Exits non-zero if any target crashed (panic, OOM, timeout); the crashing input is in
# fuzz/artifacts/<target>/. Before fuzzing, each target replays its committed corpus and
# regressions, so a short run doubles as the regression check. New coverage goes to fuzz/target/work/<target>, not to the
# committed seeds in fuzz/corpus/<target>. Needs the nightly toolchain; installs
# cargo-fuzz if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
fuzz=(cargo +nightly fuzz)
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cd fuzz && "${fuzz[@]}" list)
fi

# Safe Rust gains little from AddressSanitizer and runs several times faster without it;
# debug assertions and overflow checks stay on (cargo fuzz's default). libFuzzer is an
# optional feature of the fuzz crate so that the workspace's stable build leaves it out.
flags=(--sanitizer none --features libfuzzer)
(cd fuzz && "${fuzz[@]}" build "${flags[@]}")

failed=()
summary=()
for target in "${targets[@]}"; do
    work="fuzz/target/work/$target"
    mkdir -p "$work" "fuzz/corpus/$target"
    extra=()
    [ -f "fuzz/$target.dict" ] && extra+=("-dict=$target.dict")
    [ "$target" = onnx_compile ] && extra+=("-dict=onnx.dict")
    log="fuzz/target/work/$target.log"
    echo "== $target: ${seconds} s"
    status=0
    started=$SECONDS
    # -timeout: an input that takes 10 s is a finding (a peer could stall a party).
    # The seeds and the regressions are read-only corpora: libFuzzer first runs every
    # file in them (recursively), so this also replays fixed and open reproducers (the
    # targets skip open ones through their guards).
    mkdir -p "fuzz/regressions/$target"
    (cd fuzz && "${fuzz[@]}" run "${flags[@]}" "$target" "../$work" "corpus/$target" \
        "regressions/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
        "${extra[@]}") >"$log" 2>&1 || status=$?
    # libFuzzer prints its final stats once more after a crash: keep the last lines.
    stat() { grep -oP "stat::$1:\s*\K[0-9]+" "$log" | tail -1 || true; }
    execs=$(stat number_of_executed_units)
    rate=$(stat average_exec_per_sec)
    elapsed=$((SECONDS - started))
    grep -E '^stat::' "$log" | tail -5 || true
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        summary+=("$target: CRASH after ${execs:-?} executions (log: $log)")
        grep -E -A12 "panicked at|ERROR: libFuzzer|SUMMARY:" "$log" | head -40 || true
        grep -E "Test unit written to|Reproduce with" -A2 "$log" || true
    else
        summary+=("$target: ${execs:-?} executions in ${elapsed} s, ${rate:-?} exec/s (libFuzzer's average), no crash")
    fi
done

echo
echo "== fuzzing summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
