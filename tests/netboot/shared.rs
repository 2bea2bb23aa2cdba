//! Two `metal serve --inventory` on one segment (one in the lab's namespace on `br0`, one in a
//! neighbour namespace on a veth joined to it) sharing a real PostgreSQL, reached over its
//! Unix socket (namespaces do not separate those; `.ci/inventory-deps.sh` lets role `metal` log
//! in there). Both answer every DHCPDISCOVER; busybox `udhcpc` clients, each in a namespace of
//! its own, must still end up with distinct addresses, also once one server is gone.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use metal_test_support::metal::Metal;

use crate::lab::{self, Lab, wait_for};

/// A database of its own on the test PostgreSQL, dropped with this.
struct Database {
    name: String,
}

/// `psql` as role metal on database `db` over TCP loopback (from the root namespace):
/// (success, stdout, stderr).
fn psql(db: &str, sql: &str) -> (bool, String, String) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "metal", "-d", db, "-qAtc", sql])
        .env("PGPASSWORD", "metal")
        .output()
        .expect("psql (postgresql-client)");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// [`psql`] on the server's `metal_test` database, which must succeed.
fn admin(sql: &str) {
    let (ok, _, err) = psql("metal_test", sql);
    assert!(ok, "psql {sql}: {err} (run .ci/inventory-deps.sh)");
}

impl Database {
    fn create(name: &str) -> Database {
        let name = format!("metal_e2e_{name}_{}", std::process::id());
        admin(&format!("DROP DATABASE IF EXISTS {name}"));
        admin(&format!("CREATE DATABASE {name}"));
        Database { name }
    }

    /// The URL for a server inside a namespace: the Unix socket.
    fn socket_url(&self) -> String {
        format!(
            "postgres://metal:metal@localhost/{}?host=/var/run/postgresql",
            self.name
        )
    }

    fn query(&self, sql: &str) -> String {
        psql(&self.name, sql).1
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(
            "metal_test",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// `serve --inventory` twice on the segment: `serve-a` in the lab's namespace on br0 with
/// `config`, `serve-b` in `second` on its veth at 10.99.0.2; with `peers`, each names the other
/// in `[http] peers`. Returns (label, log) of each, once both are ready.
fn start_servers(
    lab: &mut Lab,
    metal: &dyn Fn(&str) -> Metal,
    second: &str,
    config: &str,
    peers: bool,
) -> Vec<(&'static str, PathBuf)> {
    let listen = |own: &str, other: &str| {
        let peer = if peers {
            format!("\npeers = [\"{other}:8080\"]")
        } else {
            String::new()
        };
        format!("listen = \"{own}:8080\"{peer}")
    };
    let config_a = config.replace(
        "listen = \"10.99.0.1:8080\"",
        &listen("10.99.0.1", "10.99.0.2"),
    );
    let config_b = config
        .replace("server_ip = \"10.99.0.1\"", "server_ip = \"10.99.0.2\"")
        .replace("interface = \"br0\"", "interface = \"vbp\"")
        .replace(
            "listen = \"10.99.0.1:8080\"",
            &listen("10.99.0.2", "10.99.0.1"),
        );
    assert!(config_b.contains("server_ip = \"10.99.0.2\"") && config_b.contains("vbp"));
    let mut servers = Vec::new();
    for (label, ns, text) in [
        ("serve-a", lab.ns.clone(), config_a),
        ("serve-b", second.to_string(), config_b),
    ] {
        let path = lab.dir.path().join(format!("{label}.toml"));
        std::fs::write(&path, text).unwrap();
        let cmd = metal(&ns)
            .command(["serve", "--inventory", "--config"])
            .arg(&path)
            .env("METAL_LOG", "metal_netboot=info")
            .into_command();
        let log = lab.spawn(label, cmd);
        wait_for(&log, "ready ", Duration::from_secs(20)).expect("metal serve did not start");
        servers.push((label, log));
    }
    servers
}

/// `udhcpc` in namespace `ns` on `iface`, printing `lease IP` once bound.
fn udhcpc(ns: &str, iface: &str, script: &Path) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, "busybox", "udhcpc", "-i", iface])
        .args(["-n", "-q", "-f", "-t", "6", "-T", "2", "-s"])
        .arg(script)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The addresses `clients` were given; every one must have got one.
fn leases(clients: Vec<(String, Child)>) -> Vec<Ipv4Addr> {
    clients
        .into_iter()
        .map(|(name, child)| {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{name} got no lease: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            text.trim()
                .trim_start_matches("lease ")
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {text}"))
        })
        .collect()
}

#[test]
#[ignore = "end-to-end: needs root, .ci/netboot-deps.sh and .ci/inventory-deps.sh; run with --ignored"]
fn n_two_servers_sharing_postgresql_never_hand_out_one_address_twice() {
    lab::require_root();
    let db = Database::create("n");
    let mut lab = Lab::new("n");
    let second = lab.neighbour("b", Some("10.99.0.2/24"));
    let metal = |ns: &str| {
        Metal::new(env!("CARGO_BIN_EXE_metal"))
            .db(&db.socket_url())
            .netns(ns)
    };
    let config = lab.config("dhcp", "");
    let logs: Vec<PathBuf> = start_servers(&mut lab, &metal, &second, &config, false)
        .into_iter()
        .map(|(_, log)| log)
        .collect();
    let script = lab.lease_script();

    // Twenty clients at once; both servers offer to each.
    let clients: Vec<(String, Child)> = (0..20)
        .map(|i| {
            let suffix = format!("c{i}");
            let ns = lab.neighbour(&suffix, None);
            let child = udhcpc(&ns, &format!("v{suffix}p"), &script);
            (suffix, child)
        })
        .collect();
    let first = leases(clients);
    let distinct: BTreeSet<Ipv4Addr> = first.iter().copied().collect();
    assert_eq!(distinct.len(), 20, "one address twice: {first:?}");
    for ip in &distinct {
        assert!(
            (100..=149).contains(&ip.octets()[3]),
            "{ip} outside the range"
        );
    }
    for log in &logs {
        let text = lab::read_lossy(log);
        assert!(
            text.contains("DISCOVER → OFFER"),
            "both servers answered:\n{text}"
        );
    }
    let bound = db.query("SELECT count(DISTINCT ip) FROM dhcp_leases WHERE state = 'bound'");
    assert_eq!(
        bound.trim(),
        "20",
        "the store holds the twenty: {}",
        db.query("SELECT ip, mac, state, expires FROM dhcp_leases ORDER BY ip")
    );

    // The first server gone, the second serves the segment alone and knows the first's leases.
    lab.stop("serve-a");
    let clients: Vec<(String, Child)> = (20..25)
        .map(|i| {
            let suffix = format!("c{i}");
            let ns = lab.neighbour(&suffix, None);
            (suffix.clone(), udhcpc(&ns, &format!("v{suffix}p"), &script))
        })
        .collect();
    let later = leases(clients);
    for ip in &later {
        assert!(
            !distinct.contains(ip),
            "{ip} was already given by the other server"
        );
    }
    assert_eq!(later.iter().collect::<BTreeSet<_>>().len(), 5, "{later:?}");
}

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap, .ci/netboot-deps.sh and .ci/inventory-deps.sh; run with --ignored"]
fn o_a_bring_up_started_through_one_server_finishes_through_the_other() {
    use crate::dom0::{DOM0_BOOT, config, images};
    use crate::flow::{PASSWORD, PROFILES, RAID10, machine, settle, start_sim};

    lab::require_root();
    images();
    let db = Database::create("o");
    let mut lab = Lab::new("o");
    let second = lab.neighbour("b", Some("10.99.0.2/24"));
    let profiles = lab.dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let (name, text) = PROFILES[0];
    std::fs::write(profiles.join(format!("{name}.toml")), text).unwrap();
    let metal = |ns: &str| {
        Metal::new(env!("CARGO_BIN_EXE_metal"))
            .password(PASSWORD)
            .db(&db.socket_url())
            .netns(ns)
            .profiles(&profiles)
    };
    lab.advertise_router();
    let base = config(&lab, "");
    let servers = start_servers(&mut lab, &metal, &second, &base, true);
    let here = metal(&lab.ns);
    start_sim(&mut lab, &here, &RAID10, 0);
    let (code, out, err) = here.run(&[
        "enroll",
        RAID10.amt,
        "--rack",
        "q03",
        "--pool",
        "10.99.0.96/27",
        "--boot",
    ]);
    assert_eq!(code, 0, "enroll --boot: {out}{err}");

    // Whichever server the board took its boot from hears its first steps; it dies there.
    let started = std::time::Instant::now();
    let (dead, alive) = loop {
        let has = |log: &Path| lab::read_lossy(log).contains("install/partition");
        if has(&servers[0].1) {
            break (servers[0].clone(), servers[1].clone());
        }
        if has(&servers[1].1) {
            break (servers[1].clone(), servers[0].clone());
        }
        assert!(
            started.elapsed() < DOM0_BOOT,
            "no installer step reached either server"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    lab.stop(dead.0);
    settle(&here, DOM0_BOOT);
    let m = machine(&here, RAID10.amt);
    assert_eq!(m["state"], "deployed", "{m}");
    let survivor = lab::read_lossy(&alive.1);
    let mac = m["mac"].as_str().unwrap();
    for step in ["install/root", "install/bootloader"] {
        assert!(
            survivor
                .lines()
                .any(|l| l.starts_with(&format!("event mac={mac} stage=finish "))
                    && l.contains(step)),
            "{step} reported to {} after {} died:\n{survivor}",
            alive.0,
            dead.0
        );
    }
    assert!(
        !lab::read_lossy(&dead.1).contains("stage=deployed"),
        "the dead server heard nothing more"
    );
    lab.terminate(&format!("sim-{}", RAID10.amt), Duration::from_secs(30));
}
