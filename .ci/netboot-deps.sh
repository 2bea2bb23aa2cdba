#!/bin/sh
# Debian packages the netboot end-to-end tests (tests/netboot) and benchmarks (benches/netboot-*) need.
# Called by .ci/run as root. The QEMU tests also run `apt-get download` for the test kernel, so the
# package lists must be current.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
# qemu-system-x86, ipxe-qemu, ovmf: the VMs and their firmware (SeaBIOS + iPXE ROM, OVMF).
# ipxe: undionly.kpxe / snponly.efi / ipxe.efi that metal serves over TFTP.
# busybox-static, cpio: the test initramfs. iproute2: netns, bridge, tap. nftables: packet loss
# on the tap (this kernel has no sch_netem for tc netem).
# dnsmasq-base: IPv6 router advertisements in the test namespaces (else iPXE waits 12 s), the site
# DHCP server of the proxy test, and the comparison server of the boot benchmark.
# debootstrap, squashfs-tools, kmod: `metal image build` (the Dom0 and installer images of the
# bring-up tests, cached under /var/cache/metal by their inputs).
# tftpd-hpa: in.tftpd, the comparison server of the TFTP benchmark. curl: the TFTP benchmark client.
apt-get install -y --no-install-recommends \
    qemu-system-x86 ipxe-qemu ipxe ovmf busybox-static cpio iproute2 \
    dnsmasq-base tftpd-hpa curl nftables debootstrap squashfs-tools kmod
