#!/bin/sh
# Bring-up phases of one board each (BENCHMARKS.md, "Bring-up"): image builds cold and cached,
# then the Dom0 end-to-end tests with their timing lines. Root, QEMU, debootstrap
# (.ci/netboot-deps.sh). COLD=1 rebuilds the images from an empty cache first.
set -eu
cd "$(dirname "$0")/.."
cargo build -q -p metal-cli
metal=target/debug/metal
out=$(mktemp -d)
if [ "${COLD:-0}" = 1 ]; then
    cache=$(mktemp -d)
    echo "== cold image builds (METAL_CACHE=$cache)"
    s=$(date +%s.%N); env METAL_CACHE="$cache" "$metal" image build dom0 --out "$out" >/dev/null; echo "dom0 cold: $(echo "$(date +%s.%N) - $s" | bc) s"
    s=$(date +%s.%N); env METAL_CACHE="$cache" "$metal" image build installer --out "$out" >/dev/null; echo "installer (tree cached): $(echo "$(date +%s.%N) - $s" | bc) s"
    rm -rf "$cache"
fi
echo "== cached image builds"
s=$(date +%s.%N); "$metal" image build dom0 --out "$out" >/dev/null; echo "dom0 cached: $(echo "$(date +%s.%N) - $s" | bc) s"
s=$(date +%s.%N); "$metal" image build installer --out "$out" >/dev/null; echo "installer cached: $(echo "$(date +%s.%N) - $s" | bc) s"
rm -rf "$out"
echo "== one board per phase (QEMU TCG, -smp 1)"
cargo test -q -p metal-cli --test netboot_e2e -- --ignored --test-threads 1 --nocapture \
    g_diskless h_raid10 i_raid0 2>&1 | grep -E "VM start to|test result"
