#!/bin/sh
# Debian packages of the Xen-operations tests (crates/xen/tests/lvm_vm.rs) and the volume-stream
# benchmark (benches/volume-stream.sh). Called by .ci/run as root after netboot-deps.sh (which
# runs apt-get update and installs QEMU, cpio and the image build's tools).
set -eu
export DEBIAN_FRONTEND=noninteractive
# lvm2: the LVM cases run this machine's lvm inside a VM with the Dom0 kernel (device mapper).
# netcat-openbsd: the seed's `dd | gzip | nc` pipeline the benchmark compares with.
apt-get install -y --no-install-recommends lvm2 netcat-openbsd iputils-ping e2fsprogs
