//! Exports checked by the real tools: the zone files by `named-checkzone`, the Nagios objects by
//! `nagios4 -v`, and `metal dns sync` against a BIND `named` this test starts on a loopback
//! port, read back with `dig`. `.ci/inventory-deps.sh` installs them; a missing tool fails the
//! test with a message saying which package to install.

use std::net::TcpListener;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::sim::SimProcess;
use metal_test_support::tools::{nagios_verify, run_ok, tool};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Exp0rt!pw";

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An inventory with a rack of three boards enrolled from `block` (the simulated boards are
/// gone again) and two DomUs.
fn rack(block: &Block) -> Metal {
    let metal = Metal::new(BIN).password(PASSWORD);
    let sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(3)
        .start();
    let (code, out, err) = metal.run(&[
        "enroll",
        &block.cidr(29),
        "--rack",
        "r05",
        "--pool",
        "10.55.0.0/24",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    drop(sim);
    let url = metal.db_url();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = metal_inventory::Store::open(&url).await.unwrap();
        store
            .add_guest(
                "r05-h01",
                "backend01",
                &"web".parse().unwrap(),
                1024,
                None,
                "test",
            )
            .await
            .unwrap();
        store
            .add_guest(
                "r05-h02",
                "backend02",
                &"db".parse().unwrap(),
                2048,
                None,
                "test",
            )
            .await
            .unwrap();
        store.close().await;
    });
    metal
}

#[test]
fn zone_files_pass_named_checkzone() {
    let block = Block::allocate();
    let metal = rack(&block);
    let out_dir = metal.dir().join("zones");
    let (code, _, err) = metal.run(&[
        "export",
        "dns",
        "--zone",
        "host.h",
        "--out",
        out_dir.to_str().unwrap(),
        "--serial",
        "7",
    ]);
    assert_eq!(code, 0, "{err}");
    let forward = std::fs::read_to_string(out_dir.join("host.h.zone")).unwrap();
    let amt_record = format!("amt.r05-h01\tIN\tA\t{}", block.first());
    for want in [
        "r05-h01\tIN\tA\t10.55.0.1",
        amt_record.as_str(),
        "backend01\tIN\tA\t10.55.0.4",
        "parent.backend01\tIN\tCNAME\tr05-h01.host.h.",
        "parent.backend02\tIN\tCNAME\tr05-h02.host.h.",
    ] {
        assert!(forward.contains(want), "{want:?} in\n{forward}");
    }
    let text = run_ok(
        tool("named-checkzone", "bind9-utils")
            .args(["host.h", out_dir.join("host.h.zone").to_str().unwrap()]),
    );
    assert!(text.contains("OK"), "{text}");
    let reverse = out_dir.join("0.55.10.in-addr.arpa.zone");
    let text = std::fs::read_to_string(&reverse).unwrap();
    assert!(text.contains("4\tIN\tPTR\tbackend01.host.h."), "{text}");
    run_ok(
        tool("named-checkzone", "bind9-utils")
            .args(["0.55.10.in-addr.arpa", reverse.to_str().unwrap()]),
    );
}

#[test]
fn nagios_objects_pass_nagios_verification_and_prometheus_targets_parse() {
    let block = Block::allocate();
    let metal = rack(&block);
    let d = metal.dir();
    let objects = d.join("metal.cfg");
    let (code, _, err) = metal.run(&[
        "export",
        "nagios",
        "--metal",
        "/usr/local/bin/metal",
        "--out",
        objects.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&objects).unwrap();
    assert!(
        text.contains("host_name       backend01") && text.contains("parents         r05-h01"),
        "{text}"
    );
    // Every host is checked by `metal check`, and each DomU depends on its Dom0.
    assert!(
        text.contains("command_line    /usr/local/bin/metal check $HOSTNAME$"),
        "{text}"
    );
    let hosts = text.matches("define host {").count();
    assert_eq!(
        text.matches("check_command   check_metal").count(),
        hosts,
        "{text}"
    );
    assert!(
        text.contains(
            "define hostdependency {\n    host_name                       r05-h01\n    dependent_host_name             backend01\n"
        ),
        "{text}"
    );
    assert_eq!(text.matches("define hostdependency").count(), 2, "{text}");
    // A path that could smuggle a macro or an argument into the command line is refused.
    for bad in [
        "metal",
        "/usr/bin/metal $USER1$",
        "/x;y",
        "/usr/bin/metal!x",
    ] {
        let (code, _, err) = metal.run(&["export", "nagios", "--metal", bad]);
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains("--metal"), "{err}");
    }
    assert!(
        text.contains("hostgroup_name  rack-r05") && text.contains("hostgroup_name  role-storage"),
        "{text}"
    );
    let text = nagios_verify(d, &objects);
    assert!(text.contains("Total Errors:   0"), "{text}");

    let (code, out, _) = metal.run(&["export", "prometheus", "--port", "9100"]);
    assert_eq!(code, 0);
    let groups: Value = serde_json::from_str(&out).unwrap();
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 5);
    assert_eq!(groups[0]["targets"][0], "10.55.0.1:9100");
    assert_eq!(groups[0]["labels"]["rack"], "r05");
    let b1 = groups
        .iter()
        .find(|g| g["labels"]["host"] == "backend01")
        .unwrap();
    assert_eq!(b1["labels"]["dom0"], "r05-h01");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn dig(port: u16, name: &str, rtype: &str) -> String {
    run_ok(tool("dig", "dnsutils").args([
        "@127.0.0.1",
        "-p",
        &port.to_string(),
        "+short",
        "+tcp",
        name,
        rtype,
    ]))
    .trim()
    .to_string()
}

#[test]
fn dns_sync_updates_a_real_named_with_tsig() {
    let block = Block::allocate();
    let metal = rack(&block);
    let d = metal.dir();
    let key = run_ok(tool("tsig-keygen", "bind9-utils").args(["-a", "hmac-sha256", "metal-test"]));
    std::fs::write(d.join("metal.key"), &key).unwrap();
    // The zone starts empty but for SOA, NS, the name server's address and a name of the
    // site's own, which no sync may touch.
    std::fs::write(
        d.join("host.h.zone"),
        "$ORIGIN host.h.\n$TTL 300\n@ IN SOA ns.host.h. hostmaster.host.h. ( 1 3600 600 1209600 300 )\n@ IN NS ns.host.h.\nns IN A 127.0.0.1\nwww IN A 127.0.0.9\n",
    )
    .unwrap();
    let port = free_port();
    let conf = format!(
        "include \"{dir}/metal.key\";\noptions {{\n directory \"{dir}\";\n pid-file \"{dir}/named.pid\";\n session-keyfile \"{dir}/session.key\";\n listen-on port {port} {{ 127.0.0.1; }};\n listen-on-v6 {{ none; }};\n recursion no;\n}};\ncontrols {{ }};\nzone \"host.h\" {{ type primary; file \"{dir}/host.h.zone\"; allow-update {{ key metal-test; }}; }};\n",
        dir = d.display()
    );
    std::fs::write(d.join("named.conf"), conf).unwrap();
    run_ok(tool("named-checkconf", "bind9-utils").arg(d.join("named.conf")));
    let named = tool("named", "bind9")
        .args(["-g", "-c"])
        .arg(d.join("named.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _named = Kill(named);
    let deadline = Instant::now() + Duration::from_secs(20);
    let answers = || {
        tool("dig", "dnsutils")
            .args([
                "@127.0.0.1",
                "-p",
                &port.to_string(),
                "+short",
                "+tcp",
                "host.h",
                "SOA",
            ])
            .output()
            .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
    };
    while !answers() {
        assert!(
            Instant::now() < deadline,
            "named did not answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(dig(port, "r05-h01.host.h", "A"), "");

    let server = format!("127.0.0.1:{port}");
    let key_file = d.join("metal.key");
    let sync = [
        "dns",
        "sync",
        "--zone",
        "host.h",
        "--server",
        &server,
        "--key-file",
        key_file.to_str().unwrap(),
    ];
    let (code, out, err) = metal.run(&sync);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("host.h: 10 records"), "{out}");
    assert_eq!(dig(port, "r05-h01.host.h", "A"), "10.55.0.1");
    assert_eq!(
        dig(port, "amt.r05-h03.host.h", "A"),
        block.ip(3).to_string()
    );
    assert_eq!(
        dig(port, "parent.backend01.host.h", "CNAME"),
        "r05-h01.host.h."
    );
    assert_eq!(dig(port, "backend02.host.h", "A"), "10.55.0.5");
    // Again: the same records, nothing doubled.
    let (code, _, _) = metal.run(&sync);
    assert_eq!(code, 0);
    assert_eq!(dig(port, "r05-h01.host.h", "A"), "10.55.0.1");

    // A machine retired from the inventory leaves the zone at the next sync; the site's own
    // name stays. An impossible transition and an unknown host are refused per host.
    let (code, out, _) = metal.run(&["state", "retired", "r05-h03", "--reason", "PSU died"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("r05-h03: ") && out.contains(" -> retired"),
        "{out}"
    );
    let (code, out, _) = metal.run(&["state", "deployed", "r05-h03", "nosuch", "--reason", "x"]);
    assert_eq!(code, 3, "both fail: {out}");
    assert!(out.contains("r05-h03: FAILED"), "{out}");
    assert!(out.contains("nosuch: FAILED"), "{out}");
    // A Dom0 that still carries guests is not retired (their CNAMEs would dangle).
    let (code, out, _) = metal.run(&["state", "retired", "r05-h01", "--reason", "x"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("still carries guests backend01"), "{out}");
    let (code, out, _) = metal.run(&["events", "r05-h03"]);
    assert_eq!(code, 0);
    assert!(out.contains("PSU died"), "{out}");
    let (code, out, err) = metal.run(&sync);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("host.h: 8 records")
            && out.contains("2 names no longer in the inventory deleted: amt.r05-h03 r05-h03"),
        "{out}"
    );
    assert_eq!(dig(port, "r05-h03.host.h", "A"), "");
    assert_eq!(dig(port, "amt.r05-h03.host.h", "A"), "");
    assert_eq!(dig(port, "r05-h01.host.h", "A"), "10.55.0.1");
    assert_eq!(dig(port, "www.host.h", "A"), "127.0.0.9");
    let (code, out, _) = metal.run(&sync);
    assert_eq!(code, 0);
    assert!(!out.contains("deleted"), "nothing left to delete: {out}");

    // With --reverse, the reverse zone this server does not serve fails on its own: the
    // forward zone is still synced, and the exit code says "partly".
    let mut with_reverse = sync.to_vec();
    with_reverse.push("--reverse");
    let (code, out, err) = metal.run(&with_reverse);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("host.h: 8 records"), "{out}");
    assert!(out.contains("0.55.10.in-addr.arpa: FAILED"), "{out}");

    // A wrong secret is refused by the server, and said so.
    let wrong = key.replace(
        key.split('"').nth(3).unwrap(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    std::fs::write(d.join("wrong.key"), wrong).unwrap();
    let mut bad = sync;
    let wrong_path = d.join("wrong.key");
    bad[7] = wrong_path.to_str().unwrap();
    let (code, out, _) = metal.run(&bad);
    assert_eq!(code, 3, "the only zone failed: {out}");
    assert!(
        out.contains(&format!("host.h: FAILED: DNS server 127.0.0.1:{port}")),
        "{out}"
    );
}
