#!/usr/bin/env bash
# Operations-view benchmark (issue 13): server-side time of the dashboard's pages and JSON API
# with 1000 simulated machines in the inventory, measured with wrk (one connection, one
# request at a time, 100 requests per URL after 10 warm-up requests with curl; p50/p95/max from
# wrk's latency histogram, printed by benches/web-p95.lua). Two layouts: the 1000 boards in one
# rack (the worst rack page there can be), and 25 racks of 40 (a real rack).
# The comparison, in the same run: `metal ls --json` over the same inventory (what an operator
# had before the dashboard: a process per question, every machine read).
#
# Usage: benches/web.sh            (BOARDS=1000, needs wrk and curl)
set -euo pipefail
cd "$(dirname "$0")/.."

BOARDS=${BOARDS:-1000}
FIRST=127.0.30.1
LISTEN=127.0.30.250:18480
PASSWORD='Bench-Passw0rd!'
OPERATOR_PASSWORD='bench operator password'
export METAL_AMT_PASSWORD=$PASSWORD

ulimit -n "$(ulimit -Hn)"
cargo build --release -p metal-cli --quiet
BIN=target/release/metal
WORK=$(mktemp -d)
export METAL_CONFIG=/nonexistent METAL_PROFILES=hardware-profiles METAL_PKI="$WORK/pki"
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_line() {
    for _ in $(seq 1 600); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    echo "no '$2' in $1" >&2; cat "$1" >&2; exit 1
}

"$BIN" sim --boards "$BOARDS" --first-ip "$FIRST" --password "$PASSWORD" --quiet > "$WORK/sim.log" 2>&1 &
PIDS+=($!)
wait_line "$WORK/sim.log" '^ready '

addresses() { python3 -c "
import ipaddress, sys
first = ipaddress.ip_address('$FIRST')
print(','.join(str(first + i) for i in range($1, $2)))"; }

setup() {
    local layout=$1
    export METAL_DB="sqlite://$WORK/$layout.db"
    if [ "$layout" = one-rack ]; then
        "$BIN" enroll "$(addresses 0 "$BOARDS")" --rack big --pool 10.100.0.0/16 --json > /dev/null
        RACK=big
    else
        for r in $(seq 0 $((BOARDS / 40 - 1))); do
            "$BIN" enroll "$(addresses $((r * 40)) $((r * 40 + 40)))" --rack "r$(printf %02d "$r")" \
                --pool "10.$((100 + r)).0.0/24" --json > /dev/null
        done
        RACK=r07
    fi
    echo "$OPERATOR_PASSWORD" | "$BIN" user add bench > /dev/null
    "$BIN" web --listen "$LISTEN" > "$WORK/web-$layout.log" 2>&1 &
    WEB=$!
    PIDS+=($WEB)
    wait_line "$WORK/web-$layout.log" '^ready '
    local jar="$WORK/cookies-$layout"
    local token
    token=$(curl -s -c "$jar" "http://$LISTEN/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n1)
    curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode name=bench \
        --data-urlencode "password=$OPERATOR_PASSWORD" --data-urlencode "csrf=$token" "http://$LISTEN/login"
    COOKIE="metal_session=$(awk '$6 == "metal_session" {print $7}' "$jar")"
}

measure() {
    local label=$1 path=$2
    local bytes
    bytes=$(curl -s -H "Cookie: $COOKIE" "http://$LISTEN$path" | wc -c)
    for _ in $(seq 1 10); do curl -s -o /dev/null -H "Cookie: $COOKIE" "http://$LISTEN$path"; done
    local out
    out=$(wrk -t1 -c1 -d15s --latency -s benches/web-p95.lua -H "Cookie: $COOKIE" "http://$LISTEN$path" | grep '^p95 ')
    echo "| $label | \`$path\` | $bytes | ${out#p95 }"
}

compare_cli() {
    local runs=() t0 t1
    for _ in $(seq 1 10); do
        t0=$(date +%s.%N); "$BIN" ls --json > /dev/null; t1=$(date +%s.%N)
        runs+=("$(python3 -c "print(($t1 - $t0) * 1000)")")
    done
    python3 -c "
import statistics, sys
v = sorted(float(x) for x in sys.argv[1:])
print(f'| comparison: metal ls --json (a process per question) | every machine | - | {statistics.median(v):.1f} ms | {v[int(len(v) * 0.95) - 1]:.1f} ms | {v[-1]:.1f} ms | {len(v)} runs |')" "${runs[@]}"
}

echo "| layout: page | URL | bytes | p50 | p95 | max | requests |"
echo "|---|---|---|---|---|---|---|"
for layout in one-rack forty-per-rack; do
    setup "$layout"
    measure "$layout: rack page" "/racks/$RACK"
    measure "$layout: machine list (page of 100)" "/machines"
    measure "$layout: machine list (page of 500)" "/machines?per_page=500"
    measure "$layout: search by MAC" "/machines?q=02:09"
    measure "$layout: overview" "/"
    measure "$layout: API rack" "/api/racks/$RACK"
    measure "$layout: API machines (500)" "/api/machines?per_page=500"
    measure "$layout: API machines (1000 in 2 pages: page 2)" "/api/machines?per_page=500&page=2"
    compare_cli
    kill -TERM "$WEB"; wait "$WEB" 2>/dev/null || true
done
