#!/usr/bin/env bash
# Fleet benchmark (issue 2): `metal power status` and `metal boot pxe --now` over 1000
# simulated AMT boards with 50 ms injected latency per response, and, in the same run, a naive
# client that collects a fresh digest challenge before every request and works one host at a
# time (measured over NAIVE_BOARDS boards and extrapolated linearly, since it is serial).
#
# Usage: benches/amt-fleet.sh            (BOARDS=1000 LATENCY=50 NAIVE_BOARDS=50 RUNS=3)
# Prints a Markdown table; the simulator's request counters give requests and 401s per board.
set -euo pipefail
cd "$(dirname "$0")/.."

BOARDS=${BOARDS:-1000}
LATENCY=${LATENCY:-50}
NAIVE_BOARDS=${NAIVE_BOARDS:-50}
RUNS=${RUNS:-3}
FIRST=127.0.20.1
PASSWORD='Bench-Passw0rd!'
export METAL_AMT_PASSWORD=$PASSWORD

# 1000 boards: 2000 listeners in the simulator, 1000 connections on each side.
ulimit -n "$(ulimit -Hn)"
cargo build --release -p metal-cli --quiet
BIN=target/release/metal
WORK=$(mktemp -d)
SIM_PID=

cleanup() {
    if [ -n "$SIM_PID" ]; then kill -TERM "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

hosts() { python3 -c "import ipaddress,sys; a=ipaddress.ip_address('$FIRST'); print(','.join(str(a+i) for i in range(int(sys.argv[1]))))" "$1"; }

start_sim() {
    "$BIN" sim --boards "$BOARDS" --first-ip "$FIRST" --latency "$LATENCY" --password "$PASSWORD" \
        --transition-ms 200 --quiet > "$WORK/sim.log" 2>&1 &
    SIM_PID=$!
    for _ in $(seq 1 200); do
        grep -q '^ready ' "$WORK/sim.log" && return 0
        kill -0 "$SIM_PID" 2>/dev/null || { cat "$WORK/sim.log"; exit 1; }
        sleep 0.05
    done
    echo "simulator did not become ready" >&2; exit 1
}

stop_sim() {
    kill -TERM "$SIM_PID"; wait "$SIM_PID" || true; SIM_PID=
}

# run NAME BOARDS ARGS... : runs a metal command RUNS times on a fresh simulator each time,
# prints the median wall time and the simulator's counters of the last run.
run() {
    local name=$1 count=$2; shift 2
    local targets times=() stats
    targets=$(hosts "$count")
    for _ in $(seq 1 "$RUNS"); do
        start_sim
        local t0 t1
        t0=$(date +%s.%N)
        if ! "$BIN" "$@" "$targets" --json > "$WORK/out.json"; then
            echo "$name: metal exited non-zero" >&2
            python3 -c "import json; d=json.load(open('$WORK/out.json')); print(d['summary']); [print(h) for h in d['hosts'] if not h['ok']][:5]" >&2
            exit 1
        fi
        t1=$(date +%s.%N)
        stop_sim
        stats=$(grep '^stats ' "$WORK/sim.log")
        times+=("$(python3 -c "print($t1 - $t0)")")
    done
    python3 - "$name" "$count" "$BOARDS" "$stats" "${times[@]}" <<'PY'
import statistics, sys
name, count, boards, stats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
times = [float(t) for t in sys.argv[5:]]
kv = dict(p.split('=') for p in stats.split()[1:])
median = statistics.median(times)
per1000 = median * 1000 / count
req = int(kv['requests']) / count
unauth = int(kv['unauthorized']) / count
print(f"| {name} | {count} | {median:.2f} s | {per1000:.2f} s | {req:.1f} | {unauth:.1f} (max {kv['max_unauthorized_per_board']}) |")
PY
}

echo "Boards simulated: $BOARDS, latency $LATENCY ms per response, median of $RUNS runs, $(nproc) cores"
echo
echo "| scenario | boards driven | wall time | per 1000 boards | requests/board | 401s/board |"
echo "|---|---|---|---|---|---|"
run "metal power status" "$BOARDS" power status
run "metal boot pxe --now" "$BOARDS" boot pxe --now
run "naive: power status, serial, challenge per request" "$NAIVE_BOARDS" power status --parallel 1 --no-challenge-reuse
run "naive: boot pxe --now, serial, challenge per request" "$NAIVE_BOARDS" boot pxe --now --parallel 1 --no-challenge-reuse
