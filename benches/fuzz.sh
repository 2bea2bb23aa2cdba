#!/usr/bin/env bash
# Fuzzing (issue 10): every cargo-fuzz target under fuzz/ for a fixed number of executions,
# seeded from the recorded AMT fixtures (WS-Man responses and the hardware intake) and from
# hand-made valid packets (DHCP DISCOVER, TFTP RRQ/ACK, SOL frames, boot-event forms).
# A crash stops the script with libFuzzer's report and the input under fuzz/artifacts/.
#
# Usage: benches/fuzz.sh        (RUNS=200000 per target; 6 targets, 1 200 000 in all)
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-200000}
FIXTURES=${FIXTURES:-../shared/fixtures/amt-wsman}
TARGETS=(wsman_response hardware_intake sol_decode dhcp_exchange tftp_packet boot_event_form)

cargo +nightly fuzz build -O
seeds=fuzz/corpus
mkdir -p "$seeds"
for t in "${TARGETS[@]}"; do mkdir -p "$seeds/$t"; done

# WS-Man responses: every recorded one.
find "$FIXTURES" -name '*.xml' -exec cp {} "$seeds/wsman_response/" \;
# Hardware intake: the recorded inventory classes, joined by NUL in the order the target reads.
python3 - "$FIXTURES" "$seeds/hardware_intake/recorded" <<'PY'
import pathlib, sys
root, out = pathlib.Path(sys.argv[1]), sys.argv[2]
order = ["cim/computer/systempackage/get.xml", "cim/chassis/get.xml", "cim/card/get.xml",
         "cim/bios/element/get.xml", "cim/chip/pull.xml", "cim/physical/memory/pull.xml",
         "cim/mediaaccess/pull.xml", "cim/physical/package/pull.xml",
         "amt/ethernetport/get.xml", "cim/software/identity/pull.xml"]
parts = [(root / p).read_bytes() if (root / p).exists() else b"<e/>" for p in order]
open(out, "wb").write(b"\0".join(parts))
PY
# DHCP: a PXE DISCOVER (BOOTREQUEST, magic cookie, option 53=1, 60=PXEClient, 93=0, end).
python3 - "$seeds/dhcp_exchange/discover" <<'PY'
import sys
m = bytearray(236)
m[0], m[1], m[2] = 1, 1, 6
m[4:8] = b"\x12\x34\x56\x78"
m[28:34] = bytes.fromhex("525400123456")
opts = b"\x63\x82\x53\x63" + b"\x35\x01\x01" + b"\x3c\x20" + b"PXEClient:Arch:00000:UNDI:002001" + b"\x5d\x02\x00\x00" + b"\xff"
open(sys.argv[1], "wb").write(bytes(m) + opts)
PY
printf '\x00\x01undionly.kpxe\x00octet\x00blksize\x001468\x00tsize\x000\x00' > "$seeds/tftp_packet/rrq"
printf '\x00\x04\x00\x01' > "$seeds/tftp_packet/ack"
printf 'mac=52:54:00:12:34:56&stage=booted&message=dom0+up' > "$seeds/boot_event_form/booted"
# SOL: a StartRedirectionSessionReply and a data frame (amt-protocol.md §2c).
printf '\x11\x00\x00\x00\x53\x4f\x4c\x20\x0c\x00\x00\x00\x00\x00\x00\x00\x00\x00' > "$seeds/sol_decode/start-reply"
printf '\x2a\x00\x00\x00\x01\x00\x00\x00\x05\x00hello' > "$seeds/sol_decode/data"

total=0
for t in "${TARGETS[@]}"; do
    start=$(date +%s.%N)
    cargo +nightly fuzz run -O "$t" "$seeds/$t" -- -runs="$RUNS" -max_len=65536 -print_final_stats=1 \
        > "fuzz/$t.log" 2>&1 || { tail -40 "fuzz/$t.log"; echo "$t: crash (input in fuzz/artifacts/$t)" >&2; exit 1; }
    end=$(date +%s.%N)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz/$t.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "fuzz/$t.log" | tail -1 | cut -d' ' -f2)
    total=$((total + execs))
    python3 -c "print(f'| $t | $execs | {$end - $start:.0f} s | ${cov:-?} | 0 |')"
done
echo "total executions: $total"
