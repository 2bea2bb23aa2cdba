#!/usr/bin/env bash
# What the vendor-kit tests need: cargo-deb (the Debian package of metal), debootstrap (a
# clean Debian 12 root, cached under /var/cache/metal/debian-root), systemd-analyze (the
# unit check), curl (TFTP and HTTP from inside the kit's network namespace).
set -euo pipefail
apt-get install -y --no-install-recommends debootstrap systemd curl tar ipxe
if ! command -v cargo-deb >/dev/null || ! cargo deb --version | grep -q '3\.8\.0'; then
    cargo install cargo-deb --locked --version 3.8.0
fi
