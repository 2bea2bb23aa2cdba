#!/bin/bash
# Moving a guest's volume between two Dom0s (BENCHMARKS.md, "Volume streams"): a 2 GiB volume,
# 30 % of its 4 MiB slots real binaries from /usr and the rest zeros, sent from one network
# namespace to another over a veth pair, block device to block device (loop devices over files
# in /dev/shm, so the host's disk is not what is measured), in one run:
#   1. the seed's pipeline: `dd if=SRC bs=1M | gzip -c | nc` → `nc -l | gunzip -c | dd of=DST`
#   2. `metal-agent volume send|receive` (what `metal vm migrate` streams)
# Each result is compared with the source byte for byte. Target: >= 20x the pipeline's logical
# throughput (2 GiB / wall time). Root; netcat-openbsd, gzip. ROUNDS=N repeats both (default 3);
# LEVEL=N sets the zstd level (default: the agent's own, -3; negative levels are zstd's fast modes).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p metal-agent
agent=$PWD/target/release/metal-agent
rounds=${ROUNDS:-3}
work=$(mktemp -d /dev/shm/metal-bench.XXXXXX)
a=metal-bench-a-$$
b=metal-bench-b-$$
loops=()
cleanup() {
    for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
    for ns in "$a" "$b"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$a"
ip netns add "$b"
ip link add va-$$ netns "$a" type veth peer name vb-$$ netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev va-$$
ip -n "$b" addr add 10.77.0.2/24 dev vb-$$
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set va-$$ up
ip -n "$b" link set vb-$$ up

# The source: 512 slots of 4 MiB; slot i holds binaries when (3i mod 10) < 3, i.e. 30 %.
python3 - "$work/src.img" <<'EOF'
import os, sys
size, slot = 2 << 30, 4 << 20
files = []
for root in ("/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/libexec", "/usr/lib"):
    for d, _, names in os.walk(root):
        for n in sorted(names):
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files.append(p)
def blob():
    while True:
        for p in files:
            try:
                with open(p, "rb") as f:
                    yield f.read()
            except OSError:
                pass
src = blob()
buf = b""
with open(sys.argv[1], "wb") as out:
    out.truncate(size)
    used = 0
    for i in range(size // slot):
        if (3 * i) % 10 < 3:
            while len(buf) < slot:
                buf += next(src)
            out.seek(i * slot)
            out.write(buf[:slot])
            buf = buf[slot:]
            used += 1
print(f"source: {size >> 20} MiB, {used} of {size // slot} slots of binaries "
      f"({used * slot >> 20} MiB, {100 * used * slot / size:.0f} %)")
EOF
truncate -s 2G "$work/dst.img"
src=$(losetup --show -f "$work/src.img"); loops+=("$src")
dst=$(losetup --show -f "$work/dst.img"); loops+=("$dst")
bytes=$(blockdev --getsize64 "$src")

now() { date +%s.%N; }
rate() { python3 -c "import sys; b,t=float(sys.argv[1]),float(sys.argv[2]); print(f'{t:.2f} s, {b/t/1e6:.0f} MB/s')" "$@"; }
fresh_target() {
    blkdiscard "$dst" 2>/dev/null || dd if=/dev/zero of="$dst" bs=4M status=none
    : >"$work/dst.img"; truncate -s 2G "$work/dst.img"; losetup -c "$dst"
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}
same() { cmp -s "$src" "$dst" && echo "byte-identical" || { echo "DIFFERS"; exit 1; }; }

for round in $(seq "$rounds"); do
    fresh_target
    ip netns exec "$b" sh -c "nc -l -N 10.77.0.2 7001 | gunzip -c | dd of=$dst bs=1M iflag=fullblock status=none" &
    listener=$!
    sleep 0.3
    t0=$(now)
    ip netns exec "$a" sh -c "dd if=$src bs=1M status=none | gzip -c | nc -N 10.77.0.2 7001"
    wait "$listener"
    t1=$(now)
    pipe=$(python3 -c "print($t1 - $t0)")
    echo "round $round  dd|gzip|nc:  $(rate "$bytes" "$pipe")  $(same)"

    fresh_target
    token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    METAL_STREAM_TOKEN=$token ip netns exec "$b" "$agent" volume receive --listen 10.77.0.2:7002 "$dst" >"$work/recv.log" &
    listener=$!
    sleep 0.3
    t0=$(now)
    METAL_STREAM_TOKEN=$token ip netns exec "$a" "$agent" volume send ${LEVEL:+--level=$LEVEL} --to 10.77.0.2:7002 "$src" >"$work/send.log"
    wait "$listener"
    t1=$(now)
    metal=$(python3 -c "print($t1 - $t0)")
    echo "round $round  metal-agent: $(rate "$bytes" "$metal")  $(same)  $(python3 -c "print(f'{$pipe / $metal:.1f}x the pipeline')")"
    sed 's/^/    /' "$work/send.log"
done
