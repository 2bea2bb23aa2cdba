#!/bin/bash
# Boards brought up at once (BENCHMARKS.md, "Bring-up, boards at once"): `metal serve
# --inventory`, `metal sim --qemu` boards and `metal enroll --boot`, as an operator runs them, in
# a network namespace of its own. Runs, in one go:
#   1. a RAID-10 board (SeaBIOS) alone, 2. a RAID-0 board (OVMF) alone,
#   3. both at once (target: <= 1.3x the slower alone), 4. four at once (two of each),
# and prints each board's phases on one time axis: PXE to installer, install (disks to
# `deployed`), reboot from disk to Dom0 up (METAL-READY on its console, recorded over SOL).
# Root, QEMU, debootstrap (.ci/netboot-deps.sh). Images come from the cache (metal image build).
# SKIP_ALONE=1 runs only the boards at once.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p metal-cli
metal=$PWD/target/debug/metal
work=$(mktemp -d /var/tmp/metal-bench.XXXXXX)
ns=metal-bench-$$
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 3
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

images=/var/cache/metal/e2e-images
"$metal" image build dom0 --out "$images" >/dev/null
"$metal" image build installer --out "$images" >/dev/null
mkdir -p "$work/tftp" "$work/profiles"
for f in undionly.kpxe snponly.efi ipxe.efi; do cp /usr/lib/ipxe/$f "$work/tftp/"; done

xen_tcg="dom0_max_vcpus=1 console=com1 com1=115200,8n1 smap=0 xsave=0 bootscrub=0"
cat >"$work/netboot.toml" <<EOF
server_ip = "10.99.0.1"
interface = "br0"
mode = "dhcp"
default_profile = "dom0-diskless"
[dhcp]
subnet = "10.99.0.0/24"
range = ["10.99.0.100", "10.99.0.149"]
router = "10.99.0.1"
lease_secs = 600
lease_file = "$work/leases.json"
[tftp]
root = "$work/tftp"
[http]
listen = "10.99.0.1:8080"
root = "$images"
templates = "$PWD/pxe"
[profiles.dom0-diskless]
template = "dom0.ipxe"
mode = "diskless"
xen = "xen.elf"
kernel = "vmlinuz"
initrd = "dom0-initrd.img"
xen_cmdline = "dom0_mem=512M,max:512M $xen_tcg"
cmdline = "console=hvc0 earlyprintk=xen"
[profiles.install-raid10]
template = "installer.ipxe"
mode = "install"
storage = "raid10"
kernel = "vmlinuz"
initrd = "installer-initrd.img"
cmdline = "console=ttyS0"
dom0_cmdline = "console=hvc0 earlyprintk=xen"
xen_cmdline = "dom0_mem=512M,max:512M $xen_tcg"
[profiles.install-raid0]
template = "installer.ipxe"
mode = "install"
storage = "raid0"
kernel = "vmlinuz"
initrd = "installer-initrd.img"
cmdline = "console=ttyS0"
dom0_cmdline = "console=hvc0 earlyprintk=xen"
xen_cmdline = "dom0_mem=512M,max:512M $xen_tcg"
EOF
cat >"$work/profiles/qemu-raid10.toml" <<EOF
description = "QEMU board, 1 GiB, four disks"
[match]
memory_gib = 1
disks = 4
disk_kind = "hdd"
[provision]
storage = "raid10"
dom0_memory_mib = 512
role = "storage"
netboot = "install-raid10"
EOF
cat >"$work/profiles/qemu-raid0.toml" <<EOF
description = "QEMU board, 1 GiB, two SSDs"
[match]
memory_gib = 1
disks = 2
disk_kind = "ssd"
[provision]
storage = "ssd-raid0"
dom0_memory_mib = 512
role = "compute"
netboot = "install-raid0"
EOF

ip netns add "$ns"
# Not a function: a backgrounded function is a subshell, and its PID is not the program's.
in_ns=(ip netns exec "$ns")
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add 10.99.0.1/24 dev br0
ip -n "$ns" addr add fd99::1/64 dev br0 nodad
ip -n "$ns" link set br0 up
# Router advertisements, so iPXE does not wait for IPv6 autoconfiguration.
"${in_ns[@]}" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root --bind-interfaces \
    --interface=br0 --enable-ra --dhcp-range=::,constructor:br0,ra-only >"$work/ra.log" 2>&1 &
pids+=($!)

export METAL_AMT_PASSWORD=Bench-P@ss METAL_PROFILES=$work/profiles
export XDG_CONFIG_HOME=$work/xdg XDG_DATA_HOME=$work/xdg

wait_line() { # FILE TEXT SECONDS
    local end=$((SECONDS + $3))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        [ $SECONDS -lt $end ] || { echo "timeout waiting for '$2' in $1" >&2; tail -n 20 "$1" >&2; exit 1; }
        sleep 0.5
    done
}

# One run: NAME, then "AMT-IP DISKS FIRMWARE BOARDS" per simulator.
run() {
    local name=$1
    shift
    local dir=$work/$name
    mkdir -p "$dir"
    export METAL_DB=sqlite://$dir/inventory.db
    # Each run is a fresh site: its own inventory and no leases of the previous run's MACs.
    rm -f "$work/leases.json"
    "${in_ns[@]}" "$metal" serve --inventory --config "$work/netboot.toml" >"$dir/serve.log" 2>&1 &
    local serve=$!
    pids+=($serve)
    wait_line "$dir/serve.log" "ready " 20
    local sims=() targets=() seed=0
    for spec in "$@"; do
        set -- $spec
        # Counted here: an expansion on a backgrounded command happens in its subshell.
        seed=$((seed + 1))
        "${in_ns[@]}" "$metal" sim --qemu --bridge br0 --first-ip "$1" --disks "$2" --firmware "$3" \
            --boards "$4" --seed "$seed" --memory 1024 --dir "$dir/vms" --quiet >"$dir/sim-$1.log" 2>&1 &
        sims+=($!)
        pids+=($!)
        wait_line "$dir/sim-$1.log" "ready " 20
        local first=${1##*.} prefix=${1%.*}
        for i in $(seq 0 $(($4 - 1))); do targets+=("$prefix.$((first + i))"); done
    done
    local list
    list=$(IFS=,; echo "${targets[*]}")
    "${in_ns[@]}" "$metal" console --record "$list" --dir "$dir/consoles" >"$dir/record.log" 2>&1 &
    local record=$!
    pids+=($record)
    for t in "${targets[@]}"; do wait_line "$dir/consoles/$t.log" "SOL session 1 opened" 20; done
    local t0
    t0=$(date +%s%3N)
    "${in_ns[@]}" "$metal" enroll "${targets[@]}" --rack "$name" --pool 10.99.0.32/27 --boot >"$dir/enroll.log"
    for t in "${targets[@]}"; do wait_line "$dir/consoles/$t.log" "METAL-READY" 900; done
    "${in_ns[@]}" "$metal" ls --json >"$dir/machines.json"
    for t in "${targets[@]}"; do
        host=$(python3 -c 'import json,sys; print(next(m["hostname"] for m in json.load(open(sys.argv[1]))["machines"] if m["amt_address"]==sys.argv[2]))' "$dir/machines.json" "$t")
        "${in_ns[@]}" "$metal" events "$host" --json >"$dir/events-$t.json"
    done
    python3 - "$dir" "$t0" "$name" "${targets[@]}" <<'PY'
import datetime, json, sys
d, t0, name, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def stamp(line):
    s = line.split(" ", 1)[0]
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)
rows = []
for t in targets:
    ev = json.load(open(f"{d}/events-{t}.json"))["events"]
    first = next(e["at_ms"] for e in ev if "install/disks" in e["reason"])
    deployed = next(e["at_ms"] for e in ev if e.get("to") == "deployed")
    lines = open(f"{d}/consoles/{t}.log", errors="replace").read().splitlines()
    installed = max(i for i, l in enumerate(lines) if "METAL-INSTALLED" in l)
    ready = next(stamp(l) for l in lines[installed:] if "METAL-READY" in l)
    rows.append((t, [("pxe+installer", t0, first), ("install", first, deployed), ("reboot+dom0", deployed, ready)]))
end = max(r[1][-1][2] for r in rows)
print(f"== {name}: {len(rows)} board(s), every one up after {(end - t0) / 1000:.1f} s")
for t, phases in rows:
    cells = "  ".join(f"{p} {(a - t0) / 1000:6.1f}-{(b - t0) / 1000:6.1f} s ({(b - a) / 1000:5.1f})" for p, a, b in phases)
    print(f"{t:<12} {cells}  total {(phases[-1][2] - t0) / 1000:.1f} s")
PY
    for p in "$record" "${sims[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${sims[@]}"; do wait "$p" 2>/dev/null || true; done
    kill -TERM "$serve" 2>/dev/null || true
    wait "$serve" 2>/dev/null || true
}

if [ "${SKIP_ALONE:-0}" != 1 ]; then
    run raid10-alone "127.0.31.1 4x3G bios 1"
    run raid0-alone "127.0.32.1 2x3G:ssd uefi 1"
fi
run two "127.0.33.1 4x3G bios 1" "127.0.34.1 2x3G:ssd uefi 1"
run four "127.0.35.1 4x3G bios 2" "127.0.36.1 2x3G:ssd uefi 2"
