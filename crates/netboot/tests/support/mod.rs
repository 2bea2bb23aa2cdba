//! What the netboot test files share: a whole service on loopback with a tree of boot files,
//! and clients written by hand (DHCP, TFTP, HTTP from a chosen source address).
#![allow(dead_code)] // each test file uses its own subset

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dhcproto::v4::{Architecture, DhcpOption, Message, MessageType};
use dhcproto::{Decodable, Encodable};
use metal_netboot::{Addresses, Config, ConfigPolicy, Netboot};
pub use metal_test_support::http::{get, post_event, token_of};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub struct Running {
    pub addrs: Addresses,
    pub dir: tempfile::TempDir,
}

/// The checksums in the test root's `dom0.manifest.json`.
pub const ROOT_SHA: &str = "1111111111111111111111111111111111111111111111111111111111111111";
pub const KERNEL_SHA: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// The operator token every test server accepts for `GET /events`.
pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";

pub fn write_tree(root: &Path) {
    std::fs::create_dir_all(root.join("tftp")).unwrap();
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("pxe")).unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("tftp/undionly.kpxe"), &big).unwrap();
    std::fs::write(root.join("images/vmlinuz"), &big).unwrap();
    std::fs::write(root.join("secret"), "outside").unwrap();
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../../pxe");
    std::fs::write(
        root.join("images/dom0.manifest.json"),
        format!(
            r#"{{"kind":"dom0","files":[{{"name":"dom0-root.squashfs","size":1,"sha256":"{ROOT_SHA}"}},{{"name":"vmlinuz","size":1,"sha256":"{KERNEL_SHA}"}}]}}"#
        ),
    )
    .unwrap();
    for t in [
        "linux.ipxe",
        "local.ipxe",
        "xen.ipxe",
        "dom0.ipxe",
        "installer.ipxe",
    ] {
        std::fs::copy(Path::new(templates).join(t), root.join("pxe").join(t)).unwrap();
    }
}

pub async fn start(mode: &str) -> Running {
    start_with(mode, "").await
}

/// A server whose `[http]` table has `http_extra` too.
pub async fn start_with(mode: &str, http_extra: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path());
    let pool = if mode == "dhcp" {
        "[dhcp]\nsubnet = \"127.0.0.0/8\"\nrange = [\"127.0.5.10\", \"127.0.5.11\"]\nlease_file = \"leases.json\"\n"
    } else {
        ""
    };
    let text = format!(
        r#"
server_ip = "127.0.0.1"
mode = "{mode}"
default_profile = "linux"
ports = {{ dhcp = 0, pxe = 0 }}
{pool}
[tftp]
root = "tftp"
listen = "127.0.0.1:0"

[http]
listen = "127.0.0.1:0"
root = "images"
templates = "pxe"
operator_token_sha256 = "{operator}"
{http_extra}

[profiles.linux]
template = "linux.ipxe"
kernel = "vmlinuz"
initrd = "initrd.img"
cmdline = "console=ttyS0"

[profiles.special]
template = "linux.ipxe"
kernel = "special-kernel"
initrd = "initrd.img"
cmdline = "special=1"

[profiles.xen]
template = "xen.ipxe"
xen = "xen.elf"
xen_cmdline = "dom0_mem=512M console=com1"
xen_efi = "xen.efi"
xen_cfg = "xen.cfg"
kernel = "vmlinuz"
initrd = "initrd.img"
cmdline = "console=hvc0"

[profiles.xen-long]
template = "xen.ipxe"
xen = "xen.elf"
xen_cmdline = "dom0_mem=512M,max:512M {long}"
xen_efi = "xen.efi"
xen_cfg = "xen.cfg"
kernel = "vmlinuz"
initrd = "initrd.img"
cmdline = "console=hvc0"

[profiles.install]
template = "installer.ipxe"
mode = "install"
storage = "raid10"
root_gib = 6
kernel = "vmlinuz"
initrd = "installer-initrd.img"
cmdline = "console=ttyS0"
xen_cmdline = "dom0_mem=1024M console=com1"
dom0_cmdline = "console=hvc0"

[profiles.install-nowhere]
template = "installer.ipxe"
mode = "install"
kernel = "vmlinuz"
initrd = "installer-initrd.img"
cmdline = "console=ttyS0"

[dom0]
ssh_authorized_keys = ["ssh-ed25519 AAAAtest operator@site"]

[[hosts]]
mac = "52:54:00:00:00:01"
profile = "special"

[[hosts]]
mac = "52:54:00:00:00:07"
profile = "install"
hostname = "r01-h07"

[[hosts]]
mac = "52:54:00:00:00:08"
profile = "install-nowhere"

[[hosts]]
mac = "52:54:00:00:00:02"
profile = "xen"
hostname = "dom0-a"

[[hosts]]
mac = "52:54:00:00:00:03"
action = "local-disk"

[[hosts]]
mac = "52:54:00:00:00:04"
action = "ignore"

[[hosts]]
mac = "52:54:00:00:00:05"
ip = "127.0.5.50"

[[hosts]]
mac = "52:54:00:00:00:06"
profile = "xen-long"
"#,
        operator = sha256_hex(OPERATOR_TOKEN),
        long = "loglvl=all ".repeat(30),
    );
    let path = dir.path().join("netboot.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let policy = Arc::new(ConfigPolicy::new(&config));
    let server = Netboot::bind(config, policy).await.unwrap();
    let addrs = server.addresses();
    tokio::spawn(server.run());
    Running { addrs, dir }
}

pub fn loopback(port_of: SocketAddr) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port_of.port()))
}

pub async fn dhcp(server: SocketAddr, msg: &Message) -> Option<Message> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&msg.to_vec().unwrap(), loopback(server))
        .await
        .unwrap();
    let mut buf = [0u8; 1500];
    let n = tokio::time::timeout(Duration::from_millis(500), sock.recv(&mut buf))
        .await
        .ok()?
        .unwrap();
    Some(Message::from_bytes(&buf[..n]).unwrap())
}

pub fn discover(mac: u8, opts: &[DhcpOption]) -> Message {
    let mut m = Message::new(
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        &[0x52, 0x54, 0, 0, 0, mac],
    );
    m.opts_mut()
        .insert(DhcpOption::MessageType(MessageType::Discover));
    for o in opts {
        m.opts_mut().insert(o.clone());
    }
    m
}

pub fn bios_pxe() -> Vec<DhcpOption> {
    vec![
        DhcpOption::ClassIdentifier(b"PXEClient:Arch:00000:UNDI:002001".to_vec()),
        DhcpOption::ClientSystemArchitecture(Architecture(0)),
    ]
}

/// A plain RFC 1350 read request with RFC 2347 options; returns the file, or the error code.
pub async fn tftp_get(
    server: SocketAddr,
    name: &str,
    opts: &[(&str, &str)],
) -> Result<Vec<u8>, u16> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(name.as_bytes());
    rrq.push(0);
    rrq.extend_from_slice(b"octet\0");
    for (k, v) in opts {
        rrq.extend_from_slice(k.as_bytes());
        rrq.push(0);
        rrq.extend_from_slice(v.as_bytes());
        rrq.push(0);
    }
    sock.send_to(&rrq, loopback(server)).await.unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 70_000];
    let mut blksize = 512;
    loop {
        let (n, from) = tokio::time::timeout(Duration::from_secs(3), sock.recv_from(&mut buf))
            .await
            .expect("TFTP server went silent")
            .unwrap();
        let p = &buf[..n];
        match u16::from_be_bytes([p[0], p[1]]) {
            3 => {
                out.extend_from_slice(&p[4..]);
                sock.send_to(&[0, 4, p[2], p[3]], from).await.unwrap();
                if n - 4 < blksize {
                    return Ok(out);
                }
            }
            5 => return Err(u16::from_be_bytes([p[2], p[3]])),
            6 => {
                let fields: Vec<&[u8]> = p[2..].split(|b| *b == 0).collect();
                for kv in fields.chunks(2) {
                    if kv[0] == b"blksize" {
                        blksize = std::str::from_utf8(kv[1]).unwrap().parse().unwrap();
                    }
                }
                sock.send_to(&[0, 4, 0, 0], from).await.unwrap();
            }
            other => panic!("unexpected TFTP opcode {other}"),
        }
    }
}

pub async fn http(server: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(server).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP exchange from `from` (any local address).
pub async fn http_from(from: IpAddr, server: SocketAddr, request: &str) -> String {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut s = socket.connect(loopback(server)).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET path` with a bearer token.
pub fn get_with_token(path: &str, token: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
}
