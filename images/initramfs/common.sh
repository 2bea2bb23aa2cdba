# Shared by the initramfs's /init and /install, and by the Dom0's /sbin/metal-init.
# /run/metal holds what this boot learnt: plan.json, and env (address, server).
LVM_NO_UDEV='activation { udev_sync = 0 udev_rules = 0 } devices { obtain_device_list_from_udev = 0 }'
export LVM_NO_UDEV
# The installer keeps the console open as fd 3 for its progress lines.
export LVM_SUPPRESS_FD_WARNINGS=1

# Seconds a request (plan, event) and an image download may take before they are given up
# and retried (Debian's busybox wget has no stall timeout): a dropped network must end in a
# retry or a reported failure, never in a boot that hangs.
# The image deadline can be set on the kernel command line (metal.fetch_deadline=SECS).
CALL_DEADLINE=20
FETCH_DEADLINE=$(tr ' ' '\n' </proc/cmdline 2>/dev/null | sed -n 's/^metal.fetch_deadline=//p' | head -n 1)
case "$FETCH_DEADLINE" in '' | *[!0-9]*) FETCH_DEADLINE=300 ;; esac

say() { echo "$*" >/dev/console; }

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | head -n 1; }

# A value from the plan: plan .a.b
plan() { jq -r "$1 // empty" /run/metal/plan.json 2>/dev/null; }

# The plan of this boot, fetched with the boot token into /run/metal/plan.json.
fetch_plan() {
    local tries
    mkdir -p /run/metal
    tries=0
    until busybox timeout "$CALL_DEADLINE" busybox wget -q -O /run/metal/plan.json --header "Authorization: Bearer $(arg metal.token)" "$(arg metal.plan)" &&
        jq -e .mac /run/metal/plan.json >/dev/null; do
        tries=$((tries + 1))
        [ "$tries" -lt 5 ] || return 1
        sleep 2
    done
}

# A DHCP lease on the first Ethernet interface (eth0 in the initramfs); the address is kept in
# /run/metal/env for the Dom0, which moves it onto xenbr0.
network() {
    local nic
    ip link set lo up
    nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
    [ -n "$nic" ] || return 1
    ip link set "$nic" up
    mkdir -p /run/metal
    busybox udhcpc -i "$nic" -q -n -t 20 -T 1 -s /usr/lib/metal/udhcpc.script >/dev/null 2>&1 || return 1
}

# The netboot servers of the segment, the plan's own first (its `servers`, else the one of its
# events URL): a request that gets no answer from one goes to the next.
servers() {
    local list
    list=$(jq -r '.servers[]? // empty' /run/metal/plan.json 2>/dev/null)
    if [ -n "$list" ]; then
        echo "$list"
    else
        list=$(jq -r '.events_url // empty' /run/metal/plan.json 2>/dev/null)
        [ -n "$list" ] && echo "${list%/events}"
    fi
}

# An event for this boot: event STAGE MESSAGE. Needs the plan (its servers).
event() {
    local msg tries base
    [ -n "$(servers)" ] || return 0
    msg=$(printf '%s' "$2" | head -c 3000 | sed 's/%/%25/g; s/&/%26/g; s/+/%2B/g; s/ /+/g; s/=/%3D/g')
    # The last word of a boot (deployed, failed, burnin-done) is sent until the server has it, through a
    # network that is down for a while: 60 rounds over the servers, 5 s apart. A burn-in result
    # gets 12 rounds (the server keeps one of repeats), a progress event one. An answer from a
    # server (a refusal) is final.
    local out
    tries=1
    case "$1" in deployed | failed | burnin-done) tries=60 ;; burnin) tries=12 ;; esac
    while [ "$tries" -gt 0 ]; do
        for base in $(servers); do
            out=$(busybox timeout "$CALL_DEADLINE" busybox wget -q -O /dev/null --header "Authorization: Bearer $(arg metal.token)" \
                --post-data "mac=$(arg metal.mac)&stage=$1&message=$msg" "$base/events" 2>&1) && return 0
            case "$out" in *"server returned error"*) return 1 ;; esac
        done
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] && sleep 5
    done
    return 1
}
