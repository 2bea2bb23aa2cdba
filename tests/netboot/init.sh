#!/bin/busybox sh
# /init of the end-to-end test initramfs: bring up the virtio NIC, take an address by DHCP,
# report back to the server named on the kernel command line, power off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
    insmod /lib/modules/$m.ko
done
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p"; }
echo "METAL-E2E-BOOTED profile=$(arg metal.profile)"
ip link set lo up
ip link set eth0 up
# Its messages go to the console, so that a failed lease shows in the test output.
udhcpc -i eth0 -q -n -t 20 -T 1 -s /udhcpc.script 2>&1 | sed "s/^/udhcpc: /"
ip=$(ip -4 -o addr show eth0 | sed -n 's/.* inet \([0-9.]*\).*/\1/p')
wget -q -O /dev/null --header "Authorization: Bearer $(arg metal.token)" --post-data "mac=$(arg metal.mac)&stage=booted&message=profile+$(arg metal.profile)+ip+$ip" "$(arg metal.events)"
echo "METAL-E2E-CALLBACK rc=$? ip=$ip"
poweroff -f
