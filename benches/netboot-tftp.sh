#!/bin/bash
# TFTP benchmark: `metal tftp serve` against tftp-hpa's in.tftpd, in the same run, on loopback.
#
# A 32 MiB random file (65 536 blocks of 512 bytes, so the block number wraps) is fetched
#   1. by one curl, then by 16 curls at once, from each server (curl never asks for a window:
#      lock-step, one ACK per block; default 512-byte blocks), every copy compared byte for byte;
#   2. from metal by our example client (crates/netboot/examples/tftp_get.rs) with blksize 1468,
#      windowsize 1 (lock-step) and windowsize 16 (RFC 7440).
# Each figure is the median of RUNS runs (default 3). Needs root only for in.tftpd's chroot.
# Usage: benches/netboot-tftp.sh [RUNS]   (builds the release binaries first, unless METAL and
# CLIENT name them)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
if [ -z "${METAL:-}" ] || [ -z "${CLIENT:-}" ]; then
    # Two builds: with `--example`, cargo builds only the example, not metal-cli's binary.
    cargo build --release -q -p metal-cli
    cargo build --release -q -p metal-netboot --example tftp_get
    METAL=target/release/metal
    CLIENT=target/release/examples/tftp_get
fi
command -v in.tftpd >/dev/null || { echo "in.tftpd missing: .ci/netboot-deps.sh" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/root" "$work/out"
chmod 755 "$work" "$work/root"
head -c $((32 * 1024 * 1024)) /dev/urandom > "$work/root/image.bin"
chmod 644 "$work/root/image.bin"

"$METAL" tftp serve "$work/root" --listen 127.0.0.1:6969 > "$work/metal.log" 2>&1 &
pids+=($!)
in.tftpd --foreground --address 127.0.0.1:6970 --secure "$work/root" > "$work/hpa.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$work/metal.log" && break; sleep 0.1; done
sleep 0.5

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# curl_run PORT N: N curls at once; prints seconds; checks every copy.
curl_run() {
    local port=$1 n=$2 t0 t1 i curls=()
    rm -f "$work"/out/*
    t0=$(now)
    for i in $(seq "$n"); do
        curl -s -o "$work/out/$i" "tftp://127.0.0.1:$port/image.bin" &
        curls+=($!)
    done
    for p in "${curls[@]}"; do wait "$p" || { echo "curl from port $port failed" >&2; exit 1; }; done
    t1=$(now)
    for i in $(seq "$n"); do
        cmp -s "$work/out/$i" "$work/root/image.bin" || { echo "copy $i from port $port differs" >&2; exit 1; }
    done
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}

# client_run WINDOW: our client, blksize 1468; prints seconds; checks the copy.
client_run() {
    rm -f "$work"/out/*
    local s
    s=$("$CLIENT" 127.0.0.1:6969 image.bin "$work/out/w" 1468 "$1" | awk '{print $2}')
    cmp -s "$work/out/w" "$work/root/image.bin" || { echo "windowsize $1 copy differs" >&2; exit 1; }
    echo "$s"
}

row() { awk -v name="$1" -v s="$2" -v n="$3" 'BEGIN {printf "| %-44s | %6.2f s | %7.1f MiB/s |\n", name, s, n * 32 / s}'; }

declare -A r
for name in metal:6969 hpa:6970; do
    port=${name#*:}
    r[${name%:*}_1]=$(for _ in $(seq "$RUNS"); do curl_run "$port" 1; done | median)
    r[${name%:*}_16]=$(for _ in $(seq "$RUNS"); do curl_run "$port" 16; done | median)
done
r[w1]=$(for _ in $(seq "$RUNS"); do client_run 1; done | median)
r[w16]=$(for _ in $(seq "$RUNS"); do client_run 16; done | median)

echo "TFTP, 32 MiB file on loopback, median of $RUNS runs, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "| server / client | time | throughput (all copies) |"
echo "|---|---|---|"
row "metal tftp serve, 1 curl (512-byte blocks)" "${r[metal_1]}" 1
row "in.tftpd (tftp-hpa), 1 curl" "${r[hpa_1]}" 1
row "metal tftp serve, 16 curls at once" "${r[metal_16]}" 16
row "in.tftpd (tftp-hpa), 16 curls at once" "${r[hpa_16]}" 16
row "metal, tftp_get blksize 1468 windowsize 1" "${r[w1]}" 1
row "metal, tftp_get blksize 1468 windowsize 16" "${r[w16]}" 1
awk -v a="${r[w1]}" -v b="${r[w16]}" 'BEGIN {printf "windowsize 16 vs lock-step: %.1fx faster\n", a / b}'
