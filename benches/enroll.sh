#!/usr/bin/env bash
# Enrolment benchmark (issue 5): `metal enroll` of BOARDS simulated AMT boards with LATENCY ms
# injected before every response, into a fresh SQLite inventory: wall time, and requests and
# 401s per board from the simulator's counters (the `stats` line `metal sim` prints on
# SIGTERM). Then the re-run, which must change nothing.
#
# Usage: benches/enroll.sh            (BOARDS=1000 LATENCY=50)
set -euo pipefail
cd "$(dirname "$0")/.."

BOARDS=${BOARDS:-1000}
LATENCY=${LATENCY:-50}
FIRST=127.0.28.1
CIDR=127.0.28.0/22
PASSWORD='Bench-Passw0rd!'
export METAL_AMT_PASSWORD=$PASSWORD

ulimit -n "$(ulimit -Hn)"
cargo build --release -p metal-cli --quiet
BIN=target/release/metal
WORK=$(mktemp -d)
export METAL_DB="sqlite://$WORK/inventory.db" METAL_CONFIG=/nonexistent METAL_PROFILES=hardware-profiles
SIM_PID=

cleanup() {
    if [ -n "$SIM_PID" ]; then kill -TERM "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

start_sim() {
    "$BIN" sim --boards "$BOARDS" --first-ip "$FIRST" --latency "$LATENCY" --password "$PASSWORD" \
        --quiet > "$WORK/sim.log" 2>&1 &
    SIM_PID=$!
    for _ in $(seq 1 300); do
        grep -q '^ready ' "$WORK/sim.log" && return 0
        sleep 0.1
    done
    echo "simulator did not start" >&2; cat "$WORK/sim.log" >&2; exit 1
}

stop_sim() {
    kill -TERM "$SIM_PID"; wait "$SIM_PID" || true; SIM_PID=
    grep '^stats ' "$WORK/sim.log"
}

field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }

measure() {
    local label=$1
    start_sim
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN" enroll "$CIDR" --rack bench --pool 10.100.0.0/16 --json > "$WORK/enroll.json"
    t1=$(date +%s.%N)
    local stats; stats=$(stop_sim)
    local req unauth
    req=$(echo "$stats" | field requests)
    unauth=$(echo "$stats" | field unauthorized)
    python3 - "$WORK/enroll.json" "$label" "$t0" "$t1" "$req" "$unauth" "$BOARDS" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
label, t0, t1, req, unauth, boards = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
results = {}
for h in doc["hosts"]:
    results[h.get("result", "failed")] = results.get(h.get("result", "failed"), 0) + 1
print(f"| {label} | {boards} | {t1 - t0:.2f} s | {req / boards:.1f} | {unauth / boards:.2f} | {results} |")
PY
}

echo "| run | boards | wall time | requests/board | 401s/board | results |"
echo "|---|---|---|---|---|---|"
measure "first enrol"
measure "re-run (nothing changes)"
echo
echo "machines recorded: $("$BIN" ls --json | python3 -c 'import json,sys; m=json.load(sys.stdin)["machines"]; print(len(m), "names", len({x["hostname"] for x in m}), "addresses", len({x["address"] for x in m}))')"
