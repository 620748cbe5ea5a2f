#!/usr/bin/env bash
# The three parties on a shaped LAN: each in a network namespace of its own, joined by
# a bridge, every party's outgoing link limited with `tc tbf` (default 377 MB/s, the
# paper's LAN), so our figures can be set beside the paper's under the same bandwidth.
# This kernel has no netem, so no latency is added: the round trip is a veth
# bridge's (not measured here), not a real LAN's 0.1–0.5 ms.
#
#   sudo scripts/lan.sh MODEL INPUT [--rate 377mbps] [--burst 2mb] [--mode malicious] [--tls]
#                                   [--runs N] [-- extra party flags]
#
# MODEL is what the model owner runs (ONNX or .cfp), INPUT the client's .npy. Prints
# the client's `party --json` object per run, then the median wall time. Needs root
# (ip netns, tc) and iproute2; cleans up its namespaces on exit.
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 2 ]] || usage
model=$(realpath "$1")
input=$(realpath "$2")
shift 2
rate=377mbps   # tc's mbps is megabytes per second
burst=2mb      # the token bucket: this much passes at once (tbf needs ≥ rate / HZ)
mode=semi-honest
tls=0
runs=1
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rate) rate=$2; shift 2 ;;
        --burst) burst=$2; shift 2 ;;
        --mode) mode=$2; shift 2 ;;
        --tls) tls=1; shift ;;
        --runs) runs=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) usage ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "lan.sh needs root (ip netns, tc)" >&2; exit 2; }
command -v tc >/dev/null || { echo "install iproute2 (apt-get install iproute2)" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${CRYPTFLOW:-$repo/target/release/cryptflow}
[[ -x $bin ]] || (cd "$repo" && cargo build --release --bin cryptflow)

tag=cf$$
work=$(mktemp -d)
cleanup() {
    for i in 0 1 2; do ip netns del "$tag-p$i" 2>/dev/null || true; done
    ip link del "$tag-br" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The bridge in the root namespace; one veth pair per party, its end in the party's
# namespace shaped on egress (so each direction of each link is limited once).
ip link add "$tag-br" type bridge
ip link set "$tag-br" up
for i in 0 1 2; do
    ns=$tag-p$i
    ip netns add "$ns"
    ip link add "$tag-v$i" type veth peer name "$tag-b$i"
    ip link set "$tag-b$i" master "$tag-br" up
    ip link set "$tag-v$i" netns "$ns"
    ip -n "$ns" addr add "10.77.0.$((i + 1))/24" dev "$tag-v$i"
    ip -n "$ns" link set "$tag-v$i" up
    ip -n "$ns" link set lo up
    tc -n "$ns" qdisc add dev "$tag-v$i" root tbf rate "$rate" burst "$burst" latency 50ms
done
peers=10.77.0.1:7100,10.77.0.2:7101,10.77.0.3:7102

security=(--plaintext)
if [[ $tls -eq 1 ]]; then
    for i in 0 1 2; do "$bin" keygen --id "$i" --out "$work/keys" >/dev/null; done
fi
if [[ $mode == malicious ]]; then
    "$bin" attest init --out "$work/root" >/dev/null
fi

walls=()
for run in $(seq "$runs"); do
    session=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    for i in 0 1 2; do
        args=(party --id "$i" --peers "$peers" --session "$session" --mode "$mode" --json)
        if [[ $tls -eq 1 ]]; then
            args+=(--key "$work/keys/party$i.key" --certs "$work/keys")
        else
            args+=("${security[@]}")
        fi
        [[ $mode == malicious ]] && args+=(--attest-root "$work/root")
        [[ $i -eq 0 ]] && args+=(--model "$model")
        [[ $i -eq 1 ]] && args+=(--input "$input")
        ip netns exec "$tag-p$i" "$bin" "${args[@]}" "${extra[@]}" \
            >"$work/out$i.json" 2>"$work/err$i.txt" &
    done
    failed=0
    wait || failed=1
    for i in 0 1 2; do
        if [[ ! -s $work/out$i.json ]]; then
            echo "party $i failed:" >&2
            cat "$work/err$i.txt" >&2
            failed=1
        fi
    done
    [[ $failed -eq 0 ]] || exit 1
    cat "$work/out1.json"
    walls+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_s"])' "$work/out1.json")")
done
python3 - "$rate" "$mode" "${walls[@]}" <<'EOF'
import statistics, sys
rate, mode, walls = sys.argv[1], sys.argv[2], [float(w) for w in sys.argv[3:]]
print(f"{mode}, links shaped to {rate}: median wall {statistics.median(walls):.2f} s "
      f"over {len(walls)} run(s) (the client's setup + online)")
EOF
