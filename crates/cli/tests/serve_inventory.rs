//! `metal serve --inventory`: what a MAC boots follows its inventory record, a boot callback
//! with its boot's token from a provisioning machine marks it deployed, forged callbacks change
//! nothing, and a flood of callbacks loses none that was accepted. Runs on loopback (DHCP on
//! an ephemeral port), against boards enrolled from `metal sim`.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use metal_test_support::http::{exchange, get, post_event, status, token_of};
use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::process::wait_until;
use metal_test_support::sim::SimProcess;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Serv3-inventory";

fn state_of(metal: &Metal, mac: &str) -> String {
    let m = metal
        .machines()
        .into_iter()
        .find(|m| m["mac"] == mac)
        .unwrap();
    m["state"].as_str().unwrap().to_string()
}

fn config(dir: &Path) -> std::path::PathBuf {
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../../pxe");
    std::fs::create_dir_all(dir.join("tftp")).unwrap();
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let mut text = format!(
        "server_ip = \"127.0.0.1\"\nmode = \"proxy\"\ndefault_profile = \"dom0-diskless\"\nports = {{ dhcp = 0, pxe = 0 }}\n\
         [tftp]\nroot = \"{0}/tftp\"\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\nroot = \"{0}/images\"\ntemplates = \"{templates}\"\n",
        dir.display()
    );
    for profile in [
        "dom0-diskless",
        "dom0-install-raid10",
        "dom0-install-ssd-raid0",
    ] {
        text.push_str(&format!(
            "[profiles.{profile}]\ntemplate = \"linux.ipxe\"\nkernel = \"{profile}/vmlinuz\"\ninitrd = \"{profile}/initrd.img\"\ncmdline = \"console=ttyS0\"\n"
        ));
    }
    let path = dir.join("netboot.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn serve_follows_the_inventory_and_believes_only_the_boots_own_callbacks() {
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(3)
        .start();
    let metal = Metal::new(BIN).password(PASSWORD);
    let d = metal.dir();
    let (code, out, err) = metal.run(&["enroll", &block.cidr(29), "--rack", "s01", "--boot"]);
    assert_eq!(code, 0, "{out}{err}");
    let all = metal.machines();
    assert_eq!(all.len(), 3);
    let field = |board: u32, key: &str| {
        let m = all
            .iter()
            .find(|m| m["amt_address"] == block.ip(board).to_string().as_str())
            .expect("board");
        assert_eq!(m["state"], "provisioning", "{m}");
        m[key].as_str().unwrap().to_string()
    };
    let (mac, hostname) = (field(1, "mac"), field(1, "hostname"));
    let (victim, flooder) = (field(2, "mac"), field(3, "mac"));
    let (victim_host, flooder_host) = (field(2, "hostname"), field(3, "hostname"));

    let serve = metal
        .command(["serve", "--inventory", "--config"])
        .arg(config(d))
        // Refusals (warnings) only: the flood below would log 10 000 accepted events.
        .env("METAL_LOG", "warn")
        .spawn_lines();
    let ready = serve.wait_for(|l| l.starts_with("ready "));
    let http: SocketAddr = ready
        .split_whitespace()
        .find_map(|f| f.strip_prefix("http="))
        .unwrap()
        .parse()
        .unwrap();
    // The machines boot from addresses of the block the boards do not use.
    let at = |n: u32| IpAddr::V4(block.ip(n));
    let (machine, attacker, flooding) = (at(100), at(101), at(102));

    let script = exchange(machine, http, &get(&format!("/boot/{mac}.ipxe")));
    assert!(
        script.starts_with("HTTP/1.1 200") && script.contains("dom0-diskless/vmlinuz"),
        "{script}"
    );
    let token = token_of(&script);
    let stranger = exchange(machine, http, &get("/boot/02:00:00:99:99:99.ipxe"));
    assert_eq!(
        status(&stranger),
        "404",
        "an unknown MAC boots nothing: {stranger}"
    );

    // Forgeries from another address: no token, a stolen token, a token for another MAC.
    let forged = [
        post_event(&format!("mac={victim}&stage=deployed"), None),
        post_event(&format!("mac={mac}&stage=deployed"), Some(&token)),
        post_event(&format!("mac={victim}&stage=deployed"), Some(&token)),
    ];
    for request in &forged {
        let got = exchange(attacker, http, request);
        assert!(matches!(status(&got), "401" | "403"), "{got}");
    }
    assert_eq!(state_of(&metal, &victim), "provisioning");
    assert_eq!(state_of(&metal, &mac), "provisioning");
    let (_, victim_log, _) = metal.run(&["events", &victim_host]);
    assert!(!victim_log.contains("boot event"), "{victim_log}");

    let body = format!("mac={mac}&stage=booted&message=diskless+dom0+up%0Aforged+line");
    let posted = exchange(machine, http, &post_event(&body, Some(&token)));
    assert_eq!(status(&posted), "204", "{posted}");
    let expected = format!("inventory: {hostname} is deployed");
    assert_eq!(state_of(&metal, &mac), "deployed", "kept before the answer");
    wait_until("the log says so", Duration::from_secs(10), || {
        serve.lines().contains(&expected)
    });
    let (_, events, _) = metal.run(&["events", &hostname]);
    assert!(
        events.contains("boot event booted: diskless dom0 up\\nforged line"),
        "{events}"
    );
    assert!(!events.lines().any(|l| l.starts_with("forged")), "{events}");
    let spent = exchange(
        machine,
        http,
        &post_event(&format!("mac={mac}&stage=kernel"), Some(&token)),
    );
    assert_eq!(status(&spent), "401", "the boot is over: {spent}");

    // A flood from one provisioning machine: every event answered 204 is in the inventory.
    let token = Arc::new(token_of(&exchange(
        flooding,
        http,
        &get(&format!("/boot/{flooder}.ipxe")),
    )));
    let accepted = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..20)
        .map(|t| {
            let (token, accepted, flooder) = (token.clone(), accepted.clone(), flooder.clone());
            std::thread::spawn(move || {
                for n in 0..500 {
                    let body = format!("mac={flooder}&stage=progress&message=t{t}n{n}");
                    match status(&exchange(flooding, http, &post_event(&body, Some(&token)))) {
                        "204" => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        "503" | "" => {}
                        other => panic!("refused with {other}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let accepted = accepted.load(Ordering::Relaxed);
    let (code, log) = metal.json(&["events", &flooder_host]);
    assert_eq!(code, 0);
    let kept = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["reason"]
                .as_str()
                .unwrap()
                .starts_with("boot event progress")
        })
        .count();
    assert!(
        accepted > 1000,
        "most of the flood was accepted: {accepted}"
    );
    assert_eq!(kept, accepted, "every accepted event is kept");
    assert_eq!(
        state_of(&metal, &flooder),
        "provisioning",
        "progress moves nothing"
    );
}
