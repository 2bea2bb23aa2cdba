//! `metal serve --inventory`: what a MAC boots follows its inventory record, and a boot
//! callback from a provisioning machine marks it deployed. Runs on loopback (DHCP on an
//! ephemeral port), against boards enrolled from `metal sim`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{SimProcess, wait_until};

const PASSWORD: &str = "Serv3-inventory";

fn metal(dir: &Path) -> Command {
    support::metal_on_inventory(dir, PASSWORD)
}

fn machines(dir: &Path) -> Vec<Value> {
    let out = metal(dir).args(["ls", "--json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    doc["machines"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no machines in {doc}"))
}

fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

struct Serve {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let _sim = SimProcess::start(PASSWORD, &["--boards", "3", "--first-ip", "127.0.171.1"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = metal(d)
        .args(["enroll", "127.0.171.0/29", "--rack", "s01", "--boot"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let all = machines(d);
    assert_eq!(all.len(), 3);
    let diskless = all
        .iter()
        .find(|m| m["amt_address"] == "127.0.171.1")
        .expect("board 1");
    assert_eq!(diskless["state"], "provisioning", "{diskless}");
    let mac = diskless["mac"].as_str().unwrap().to_string();
    let hostname = diskless["hostname"].as_str().unwrap().to_string();

    let mut child = metal(d)
        .args([
            "serve",
            "--inventory",
            "--config",
            config(d).to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let serve = Serve { child, lines };
    wait_until("metal serve is ready", Duration::from_secs(20), || {
        serve
            .lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("ready "))
    });
    let ready = serve
        .lines
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.starts_with("ready "))
        .cloned()
        .unwrap();
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
        serve.lines.lock().unwrap().contains(&expected)
    });
    let now = machines(d)
        .into_iter()
        .find(|m| m["mac"] == mac.as_str())
        .unwrap();
    assert_eq!(now["state"], "deployed", "{now}");
    let events = metal(d).args(["events", &hostname]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&events.stdout).contains("boot event booted"),
        "{}",
        String::from_utf8_lossy(&events.stdout)
    );
}
