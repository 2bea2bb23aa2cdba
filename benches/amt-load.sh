#!/usr/bin/env bash
# Load figure (issue 10): `metal power status` over 10 000 simulated boards with 50 ms latency
# per response, default settings (concurrency from the open-file limit): wall time, CPU time
# and peak RSS of the `metal` process, against the same run with `--parallel 256` (the old
# fixed default) and `--parallel 2048`, and, when BASE names an older `metal` binary, that
# binary's default on the same simulators. The boards come from SIMS simulator
# processes of BOARDS/SIMS boards each (two listeners per board, WS-Man and SOL, and one
# connection each under load: 2500 boards take 7500 descriptors of the 20 000 allowed here).
#
# Usage: benches/amt-load.sh        (BOARDS=10000 SIMS=4 LATENCY=50 RUNS=3 BASE=)
set -euo pipefail
cd "$(dirname "$0")/.."

BOARDS=${BOARDS:-10000}
SIMS=${SIMS:-4}
LATENCY=${LATENCY:-50}
RUNS=${RUNS:-3}
PASSWORD='Load-Passw0rd!'
export METAL_AMT_PASSWORD=$PASSWORD
PER=$((BOARDS / SIMS))

ulimit -n "$(ulimit -Hn)"
cargo build --release -p metal-cli --quiet
BIN=target/release/metal
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Board n (0-based) is at 127.1.0.1 + n; simulator k holds boards k*PER .. (k+1)*PER-1.
addr() { python3 -c "import ipaddress,sys; print(ipaddress.ip_address('127.1.0.1') + int(sys.argv[1]))" "$1"; }
for k in $(seq 0 $((SIMS - 1))); do
    : > "$WORK/sim$k.log"
    "$BIN" sim --boards "$PER" --first-ip "$(addr $((k * PER)))" --latency "$LATENCY" \
        --password "$PASSWORD" --quiet > "$WORK/sim$k.log" 2>&1 &
    PIDS+=($!)
done
for k in $(seq 0 $((SIMS - 1))); do
    for _ in $(seq 1 600); do
        grep -q '^ready ' "$WORK/sim$k.log" && break
        kill -0 "${PIDS[$k]}" 2>/dev/null || { cat "$WORK/sim$k.log"; exit 1; }
        sleep 0.1
    done
    grep -q '^ready ' "$WORK/sim$k.log" || { echo "simulator $k not ready" >&2; exit 1; }
done
python3 -c "import ipaddress; a=ipaddress.ip_address('127.1.0.1'); print(','.join(str(a+i) for i in range($PER*$SIMS)))" > "$WORK/targets"

# measure LABEL BINARY ARGS...: RUNS runs; median wall time, median CPU time (user+system)
# and the largest peak RSS of metal.
measure() {
    local label=$1 binary=$2; shift 2
    python3 - "$label" "$RUNS" "$binary" "$WORK/targets" "$@" <<'PY'
import os, resource, statistics, subprocess, sys, time, json
label, runs, binary, targets_file, *args = sys.argv[1:]
targets = open(targets_file).read().strip()
times, cpu = [], []
for _ in range(int(runs)):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "power", "status", *args, targets, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    times.append(time.monotonic() - t0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    doc = json.loads(out)
    failed = [h for h in doc["hosts"] if not h["ok"]]
    if failed:
        sys.exit(f"{label}: {len(failed)} boards failed, e.g. {failed[0]}")
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"| {label} | {len(targets.split(','))} | {statistics.median(times):.2f} s | {min(times):.2f}–{max(times):.2f} s | {statistics.median(cpu):.2f} s | {peak / 1024:.0f} MiB |")
PY
}

echo "| metal power status | boards | median wall time | range | metal CPU time | peak RSS |"
echo "|---|---|---|---|---|---|"
measure "default (concurrency from the fd limit)" "$BIN"
measure "--parallel 256 (the old default)" "$BIN" --parallel 256
measure "--parallel 2048" "$BIN" --parallel 2048
if [ -n "${BASE:-}" ]; then
    measure "BASE binary, its default" "$BASE"
    measure "BASE binary, --parallel 2048" "$BASE" --parallel 2048
fi
# What the simulators spent while metal ran (they share the machine's cores).
for k in $(seq 0 $((SIMS - 1))); do
    awk -v k="$k" '{printf "simulator %d: %.1f s CPU in all\n", k, ($14 + $15) / 100}' "/proc/${PIDS[$k]}/stat"
done
