#!/usr/bin/env bash
# The shape of the code (ARCHITECTURE.md, "Who may depend on whom"), checked on every CI run:
# no import circles between modules, the inventory compiles no netboot server, the binary holds
# no SQL and no WS-Man or SOL calls, and no crate declares a dependency it does not use.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 .ci/module-cycles.py crates/*/src

# metal-inventory is read by every front-end; it must not pull in a DHCP or HTTP server.
# (socket2 reaches it only through tokio's TCP, which the PostgreSQL client needs: it may be
# there, but only as tokio's dependency.)
if cargo tree -p metal-inventory -e normal --prefix none | grep -E '^(metal-netboot|axum|dhcproto|minijinja) '; then
    echo "metal-inventory depends on netboot machinery (above)" >&2
    exit 1
fi
if cargo tree -p metal-inventory -e normal -i socket2 --prefix none --depth 1 | grep -vE '^(socket2|tokio) '; then
    echo "metal-inventory reaches socket2 other than through tokio (above)" >&2
    exit 1
fi

# The front-ends (the binary, the dashboard) parse, call metal-ops and render: no SQL, no
# WS-Man, no SOL.
if grep -rnE 'sqlx|SELECT .* FROM|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|metal_wsman::(Client|Request)|metal_amt::|SolSession|\.wsman\(\)' crates/cli/src crates/web/src; then
    echo "a front-end does application work (above); move it into crates/ops" >&2
    exit 1
fi

# Unused dependencies (cargo-machete reads the sources, so it needs no nightly toolchain).
if ! command -v cargo-machete >/dev/null; then
    cargo install cargo-machete --locked --version 0.9.2
fi
cargo machete --with-metadata
