//! `metal serve --inventory`: what a MAC boots follows its inventory record, and a boot
//! callback from a provisioning machine marks it deployed. Runs on loopback (DHCP on an
//! ephemeral port), against boards enrolled from `metal sim`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::process::wait_until;
use metal_test_support::sim::SimProcess;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Serv3-inventory";

fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
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
fn serve_follows_the_inventory_and_marks_deployed_on_callback() {
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
    let diskless = all
        .iter()
        .find(|m| m["amt_address"] == block.first().to_string().as_str())
        .expect("board 1");
    assert_eq!(diskless["state"], "provisioning", "{diskless}");
    let mac = diskless["mac"].as_str().unwrap().to_string();
    let hostname = diskless["hostname"].as_str().unwrap().to_string();

    let serve = metal
        .command(["serve", "--inventory", "--config"])
        .arg(config(d))
        .spawn_lines();
    let ready = serve.wait_for(|l| l.starts_with("ready "));
    let http_addr = ready
        .split_whitespace()
        .find_map(|f| f.strip_prefix("http="))
        .unwrap()
        .to_string();

    let script = http(
        &http_addr,
        &format!("GET /boot/{mac}.ipxe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert!(
        script.starts_with("HTTP/1.1 200") && script.contains("dom0-diskless/vmlinuz"),
        "{script}"
    );
    let stranger = http(
        &http_addr,
        "GET /boot/02:00:00:99:99:99.ipxe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        stranger.starts_with("HTTP/1.1 404"),
        "an unknown MAC boots nothing: {stranger}"
    );

    let body = format!("mac={mac}&stage=booted&message=diskless+dom0+up");
    let posted = http(
        &http_addr,
        &format!(
            "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(posted.starts_with("HTTP/1.1 2"), "{posted}");
    let expected = format!("inventory: {hostname} is deployed");
    wait_until("the callback is recorded", Duration::from_secs(10), || {
        serve.lines().contains(&expected)
    });
    let now = metal
        .machines()
        .into_iter()
        .find(|m| m["mac"] == mac.as_str())
        .unwrap();
    assert_eq!(now["state"], "deployed", "{now}");
    let (_, events, _) = metal.run(&["events", &hostname]);
    assert!(events.contains("boot event booted"), "{events}");
}
