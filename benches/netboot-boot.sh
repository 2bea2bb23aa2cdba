#!/bin/bash
# Boot benchmark: time from VM start to the booted system's callback, against `metal serve` and,
# in the same run, against dnsmasq (DHCP + TFTP) with busybox httpd (the script, kernel, initrd
# and the callback as a CGI), the usual hand-made netboot setup. Both serve the same iPXE
# binaries, the same script (fetched from metal and saved as a static file), the same kernel and
# initramfs, in the same network namespace layout as tests/netboot (bridge, tap, IPv6 router
# advertisements from a separate dnsmasq in both cases).
#
# Paths: BIOS = SeaBIOS + QEMU's iPXE ROM; UEFI = OVMF PXE → TFTP snponly.efi → iPXE → HTTP.
# Runs alternate between the servers; figures are medians of RUNS (default 3). Needs root.
# Usage: benches/netboot-boot.sh [RUNS]   (METAL=path/to/metal skips building the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
REPO=$(pwd)
A=$REPO/target/netboot-e2e
MAC=52:54:00:e2:e2:01
S=10.99.0.1
if [ -z "${METAL:-}" ]; then
    cargo build --release -q -p metal-cli
    METAL=$REPO/target/release/metal
fi
if [ ! -f "$A/images/initrd.img" ]; then
    # The end-to-end tests build the kernel and initramfs (from Debian packages) into $A.
    cargo test -q -p metal-cli --test netboot_e2e -- --ignored a_bios >/dev/null
fi

NS=metal-bench-$$
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# Background jobs start `ip netns exec` directly (it execs, so $! is the server's PID); a shell
# function in the background would leave $! pointing at a subshell.
in_ns() { ip netns exec "$NS" "$@"; }
wait_log() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no '$2' in $1" >&2; cat "$1" >&2; exit 1; }

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add $S/24 dev br0
ip -n "$NS" addr add fd99::1/64 dev br0 nodad
ip -n "$NS" link set br0 up
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" link set tap0 master br0 up
ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root --bind-interfaces \
    --interface=br0 --enable-ra --dhcp-range=::,constructor:br0,ra-only \
    --pid-file="$work/ra.pid" > "$work/ra.log" 2>&1 &
pids+=($!)

cat > "$work/netboot.toml" <<EOF
server_ip = "$S"
interface = "br0"
mode = "dhcp"
default_profile = "default"
[dhcp]
subnet = "10.99.0.0/24"
range = ["10.99.0.100", "10.99.0.149"]
router = "$S"
lease_file = "$work/leases.json"
[tftp]
root = "$A/tftp"
[http]
listen = "$S:8080"
root = "$A/images"
templates = "$REPO/pxe"
[profiles.default]
template = "linux.ipxe"
kernel = "vmlinuz"
initrd = "initrd.img"
cmdline = "console=ttyS0 quiet panic=-1 metal.profile=default"
EOF

server_pid=
metal_up() {
    : > "$work/metal.log"
    ip netns exec "$NS" "$METAL" serve --config "$work/netboot.toml" > "$work/metal.log" 2>&1 &
    server_pid=$!
    wait_log "$work/metal.log" ready
}
server_down() {
    for p in $server_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    server_pid=
}

# The dnsmasq side: the script metal renders, saved statically, with the callback sent to a CGI.
mkdir -p "$work/www/boot" "$work/www/files" "$work/www/cgi-bin"
metal_up
in_ns curl -sf "http://$S:8080/boot/$MAC.ipxe" | sed "s|$S:8080/events|$S:8080/cgi-bin/events|" \
    > "$work/www/boot/$MAC.ipxe"
server_down
cp "$A/images/vmlinuz" "$A/images/initrd.img" "$work/www/files/"
cat > "$work/www/cgi-bin/events" <<EOF
#!/bin/sh
head -c "\$CONTENT_LENGTH" >> "$work/cgi-events.log"
echo >> "$work/cgi-events.log"
printf 'Status: 204 No Content\r\n\r\n'
EOF
chmod -R a+rX "$work/www"
chmod 755 "$work/www/cgi-bin/events"
dnsmasq_up() {
    ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root --bind-interfaces \
        --interface=br0 --dhcp-range=10.99.0.100,10.99.0.149,10m --no-ping \
        --dhcp-leasefile="$work/dnsmasq.leases" --pid-file="$work/dnsmasq.pid" \
        --enable-tftp --tftp-root="$A/tftp" \
        --dhcp-match=set:ipxe,175 --dhcp-match=set:efi64,option:client-arch,7 \
        --dhcp-boot=tag:ipxe,http://$S:8080/boot/$MAC.ipxe \
        --dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi \
        --dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe \
        --dhcp-option=tag:ipxe,encap:175,176,1b > "$work/dnsmasq.log" 2>&1 &
    local d=$!
    ip netns exec "$NS" busybox httpd -f -p $S:8080 -h "$work/www" > "$work/httpd.log" 2>&1 &
    server_pid="$d $!"
    wait_log "$work/dnsmasq.log" "TFTP root"
    sleep 0.3
}

# vm FIRMWARE: seconds from QEMU start to the callback line on the serial port.
vm() {
    local serial=$work/serial.log extra=() nic="virtio-net-pci,netdev=n0,mac=$MAC"
    : > "$serial"
    if [ "$1" = uefi ]; then extra=(-bios /usr/share/ovmf/OVMF.fd); nic="$nic,romfile="; fi
    local t0 t1
    t0=$(date +%s.%N)
    ip netns exec "$NS" qemu-system-x86_64 -accel tcg -m 512 -nographic -nodefaults -monitor none -no-reboot \
        -boot n -serial "file:$serial" "${extra[@]}" \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device "$nic" </dev/null >/dev/null 2>&1 &
    local q=$!
    for _ in $(seq 2400); do grep -q "METAL-E2E-CALLBACK" "$serial" && break; sleep 0.05; done
    t1=$(date +%s.%N)
    kill "$q" 2>/dev/null || true
    wait "$q" 2>/dev/null || true
    grep -q "METAL-E2E-CALLBACK rc=0" "$serial" || { echo "$1 boot failed:" >&2; tail -20 "$serial" >&2; exit 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f\n", b - a}'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A t
for fw in bios uefi; do
    for _ in $(seq "$RUNS"); do
        rm -f "$work/leases.json" "$work/dnsmasq.leases"
        metal_up; took=$(vm $fw); echo "$took" >> "$work/metal-$fw"; server_down
        dnsmasq_up; took=$(vm $fw); echo "$took" >> "$work/dnsmasq-$fw"; server_down
    done
    t[metal_$fw]=$(median < "$work/metal-$fw")
    t[dnsmasq_$fw]=$(median < "$work/dnsmasq-$fw")
done
[ "$(grep -c "stage=booted" "$work/cgi-events.log")" -eq $((2 * RUNS)) ] || { echo "dnsmasq side: callbacks missing" >&2; exit 1; }

echo "VM start to callback, median of $RUNS runs each, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "| path | metal serve | dnsmasq + busybox httpd | metal / dnsmasq |"
echo "|---|---|---|---|"
for fw in bios uefi; do
    awk -v f=$fw -v m="${t[metal_$fw]}" -v d="${t[dnsmasq_$fw]}" \
        'BEGIN {printf "| %s | %.2f s | %.2f s | %.2f |\n", f, m, d, m / d}'
done
echo "all runs (metal, dnsmasq): bios $(paste -sd' ' "$work/metal-bios") / $(paste -sd' ' "$work/dnsmasq-bios"); uefi $(paste -sd' ' "$work/metal-uefi") / $(paste -sd' ' "$work/dnsmasq-uefi")"
