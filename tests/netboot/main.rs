//! End-to-end netboot tests: real firmware (SeaBIOS + iPXE ROM, OVMF) in QEMU (TCG) boots over
//! the network against `metal serve`, each test in network namespaces it creates, asserting on
//! the VM's serial output and on the server's event lines.
//!
//! They need root, QEMU and the Debian packages of `.ci/netboot-deps.sh`, so they are
//! `#[ignore]`d in a plain `cargo test`; run them with
//! `cargo test -p metal-cli --test netboot_e2e -- --ignored`. Run so but not as root, they fail
//! (they never pass without having booted anything). The first run downloads the Debian cloud
//! kernel and builds the initramfs into `target/netboot-e2e/`; later runs reuse it.
//!
//! The VM's `/init` (`init.sh`) prints `METAL-E2E-BOOTED`, takes an address by DHCP, posts a
//! `booted` event to the URL on its kernel command line, prints `METAL-E2E-CALLBACK rc=0` and
//! powers off.

mod assets;
mod burnin;
mod dom0;
mod flow;
mod lab;
mod shared;
mod vm;

use std::net::Ipv4Addr;
use std::time::Duration;

use lab::{Firmware, Lab, events, wait_for};

const KNOWN: &str = "52:54:00:e2:e2:01";
const OTHER: &str = "52:54:00:e2:e2:02";
const BOOT: Duration = Duration::from_secs(120);

/// The address in a `booted` event's message (`profile P ip A`).
fn reported_ip(event: &str) -> Ipv4Addr {
    event
        .rsplit(" ip ")
        .next()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no address in {event:?}"))
}

/// Boots one VM and returns the server's `booted` event for it and the time to the callback.
fn boot(
    lab: &mut Lab,
    server: &std::path::Path,
    mac: &str,
    firmware: Firmware,
) -> (String, Duration) {
    lab.tap("tap0");
    let serial = lab.vm("vm", "tap0", mac, firmware);
    let took = wait_for(&serial, "METAL-E2E-CALLBACK rc=0", BOOT).unwrap();
    wait_for(
        server,
        &format!("event mac={mac} stage=booted"),
        Duration::from_secs(5),
    )
    .unwrap();
    (events(server, mac, "booted").remove(0), took)
}

#[test]
#[ignore = "end-to-end: needs root, QEMU and .ci/netboot-deps.sh; run with --ignored"]
fn a_bios_ipxe_rom_gets_its_script_boots_linux_and_calls_back() {
    let mut lab = Lab::new("a");
    let server = lab.serve(&lab.config("dhcp", ""));
    let (booted, took) = boot(&mut lab, &server, KNOWN, Firmware::Bios);
    eprintln!("(a) SeaBIOS + iPXE ROM: VM start to callback {took:.1?}");
    assert!(booted.contains("profile default"), "{booted}");
    let ip = reported_ip(&booted);
    assert!(
        (100..=149).contains(&ip.octets()[3]),
        "{ip} outside the range"
    );
    assert_eq!(events(&server, KNOWN, "script").len(), 1);
}

#[test]
#[ignore = "end-to-end: needs root, QEMU and .ci/netboot-deps.sh; run with --ignored"]
fn b_ovmf_pxe_tftp_ipxe_http_linux_and_callback() {
    let mut lab = Lab::new("b");
    let server = lab.serve(&lab.config("dhcp", ""));
    let (booted, took) = boot(&mut lab, &server, KNOWN, Firmware::Uefi);
    eprintln!("(b) OVMF PXE → TFTP → iPXE → HTTP: VM start to callback {took:.1?}");
    assert!(booted.contains("profile default"), "{booted}");
    let log = std::fs::read_to_string(&server).unwrap();
    assert!(
        log.contains("(pxe, arch 7)"),
        "the firmware's own PXE asked first:\n{log}"
    );
    assert!(
        log.contains("read snponly.efi"),
        "iPXE came over TFTP:\n{log}"
    );
    assert!(log.contains("(ipxe, arch 7)"), "then iPXE asked:\n{log}");
}

#[test]
#[ignore = "end-to-end: needs root, QEMU and .ci/netboot-deps.sh; run with --ignored"]
fn c_proxy_mode_beside_dnsmasq_still_lands_on_our_script() {
    let mut lab = Lab::new("c");
    let site = lab.neighbour("site", Some("10.99.0.2/24"));
    let dir = lab.dir.path().to_path_buf();
    let mut dnsmasq = std::process::Command::new("ip");
    dnsmasq
        .args([
            "netns",
            "exec",
            &site,
            "dnsmasq",
            "--no-daemon",
            "--conf-file=/dev/null",
        ])
        .args([
            "--port=0",
            "--bind-interfaces",
            "--interface=vsitep",
            "--user=root",
        ])
        .args([
            "--dhcp-range=10.99.0.150,10.99.0.199,1h",
            "--no-ping",
            "--log-dhcp",
        ])
        .arg(format!(
            "--dhcp-leasefile={}",
            dir.join("dnsmasq.leases").display()
        ))
        .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()));
    let site_log = lab.spawn("dnsmasq", dnsmasq);
    wait_for(&site_log, "DHCP, IP range", Duration::from_secs(10)).unwrap();
    let server = lab.serve(&lab.config("proxy", ""));
    let (booted, took) = boot(&mut lab, &server, KNOWN, Firmware::Bios);
    eprintln!("(c) proxy beside dnsmasq: VM start to callback {took:.1?}");
    let ip = reported_ip(&booted);
    assert!(
        (150..=199).contains(&ip.octets()[3]),
        "{ip}: the site server hands out addresses"
    );
    let log = std::fs::read_to_string(&server).unwrap();
    assert!(log.contains("proxy OFFER"), "{log}");
    assert_eq!(events(&server, KNOWN, "script").len(), 1, "{log}");
}

#[test]
#[ignore = "end-to-end: needs root, QEMU and .ci/netboot-deps.sh; run with --ignored"]
fn d_known_mac_gets_its_own_script_unknown_the_default() {
    let mut lab = Lab::new("d");
    let hosts =
        format!("[[hosts]]\nmac = \"{KNOWN}\"\nprofile = \"special\"\nip = \"10.99.0.20\"\n");
    let server = lab.serve(&lab.config("dhcp", &hosts));
    lab.tap("tap0");
    lab.tap("tap1");
    let known = lab.vm("known", "tap0", KNOWN, Firmware::Bios);
    let other = lab.vm("other", "tap1", OTHER, Firmware::Bios);
    for serial in [&known, &other] {
        wait_for(serial, "METAL-E2E-CALLBACK rc=0", BOOT).unwrap();
    }
    wait_for(
        &server,
        &format!("event mac={OTHER} stage=booted"),
        Duration::from_secs(5),
    )
    .unwrap();
    wait_for(
        &server,
        &format!("event mac={KNOWN} stage=booted"),
        Duration::from_secs(5),
    )
    .unwrap();
    let k = events(&server, KNOWN, "booted").remove(0);
    let o = events(&server, OTHER, "booted").remove(0);
    assert!(k.contains("profile special"), "{k}");
    assert_eq!(
        reported_ip(&k),
        Ipv4Addr::new(10, 99, 0, 20),
        "its reservation"
    );
    assert!(o.contains("profile default"), "{o}");
    assert!(events(&server, KNOWN, "script")[0].contains("profile special"));
    assert!(events(&server, OTHER, "script")[0].contains("profile default"));
}

/// 10 % random loss in each direction on the VM's tap. The issue asks for `tc netem`, but the
/// kernel of our machines is built without `sch_netem` ("Specified qdisc kind is unknown"), so
/// the same loss is made with nftables: `numgen random mod 10 == 0 drop` on the tap's netdev
/// ingress (VM → server) and egress (server → VM) hooks.
const LOSS: &str = r#"
table netdev loss {
  chain from_vm { type filter hook ingress device "tap0" priority 0; numgen random mod 10 == 0 counter drop; }
  chain to_vm { type filter hook egress device "tap0" priority 0; numgen random mod 10 == 0 counter drop; }
}
"#;

#[test]
#[ignore = "end-to-end: needs root, QEMU and .ci/netboot-deps.sh; run with --ignored"]
fn e_ten_percent_loss_on_the_tap_still_boots_via_ovmf() {
    let mut lab = Lab::new("e");
    let server = lab.serve(&lab.config("dhcp", ""));
    lab.tap("tap0");
    let rules = lab.dir.path().join("loss.nft");
    std::fs::write(&rules, LOSS).unwrap();
    assets::run(lab.exec("nft").arg("-f").arg(&rules));
    let serial = lab.vm("vm", "tap0", KNOWN, Firmware::Uefi);
    let took = wait_for(&serial, "METAL-E2E-CALLBACK rc=0", Duration::from_secs(240)).unwrap();
    wait_for(
        &server,
        &format!("event mac={KNOWN} stage=booted"),
        Duration::from_secs(5),
    )
    .unwrap();
    let counters = assets::run(lab.exec("nft").args(["list", "table", "netdev", "loss"]));
    let dropped: Vec<u64> = counters
        .lines()
        .filter_map(|l| l.split("packets ").nth(1))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    eprintln!(
        "(e) OVMF path, 10 % loss each way: VM start to callback {took:.1?}, dropped {dropped:?}"
    );
    assert!(
        dropped.len() == 2 && dropped.iter().all(|d| *d > 0),
        "nothing dropped:\n{counters}"
    );
}

#[test]
#[ignore = "end-to-end: needs root and .ci/netboot-deps.sh; run with --ignored"]
fn f_dhcp_answers_only_on_its_interface_and_inside_the_range() {
    let mut lab = Lab::new("f");
    // A second interface of the server's namespace, not on br0, with a client behind it.
    let outside = lab.neighbour("out", None);
    lab.ip(&["link", "set", "vout", "nomaster"]);
    lab.ip(&["addr", "add", "10.98.0.1/24", "dev", "vout"]);
    let inside = lab.neighbour("in", None);
    let server = lab.serve(&lab.config("dhcp", ""));
    let script = lab.lease_script();
    let udhcpc = |ns: &str, iface: &str| {
        std::process::Command::new("ip")
            .args([
                "netns", "exec", ns, "busybox", "udhcpc", "-i", iface, "-n", "-q", "-f",
            ])
            .args(["-t", "3", "-T", "1", "-s"])
            .arg(&script)
            .output()
            .unwrap()
    };
    let wrong = udhcpc(&outside, "voutp");
    assert!(
        !wrong.status.success(),
        "answered on the wrong interface: {wrong:?}"
    );
    let right = udhcpc(&inside, "vinp");
    let out = String::from_utf8_lossy(&right.stdout).into_owned();
    assert!(right.status.success(), "no lease on br0: {right:?}");
    let ip: Ipv4Addr = out.trim().trim_start_matches("lease ").parse().unwrap();
    assert!(
        (100..=149).contains(&ip.octets()[3]),
        "{ip} outside the range"
    );
    let log = std::fs::read_to_string(&server).unwrap();
    assert_eq!(
        log.matches("DISCOVER →").count(),
        1,
        "only the br0 client was seen:\n{log}"
    );
}
