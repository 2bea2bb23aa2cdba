//! The whole service on loopback, no root needed: DHCP on an ephemeral port (where the server
//! answers by unicast to the sender), TFTP and HTTP on ephemeral ports. Packets are built and
//! read by hand here, so these tests check the wire, not our own encoder against itself.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dhcproto::v4::{Architecture, DhcpOption, Message, MessageType, OptionCode};
use dhcproto::{Decodable, Encodable};
use metal_netboot::{Addresses, Config, ConfigPolicy, Netboot};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

struct Running {
    addrs: Addresses,
    _dir: tempfile::TempDir,
}

fn write_tree(root: &Path) {
    std::fs::create_dir_all(root.join("tftp")).unwrap();
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("pxe")).unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("tftp/undionly.kpxe"), &big).unwrap();
    std::fs::write(root.join("images/vmlinuz"), &big).unwrap();
    std::fs::write(root.join("secret"), "outside").unwrap();
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../../pxe");
    for t in ["linux.ipxe", "local.ipxe", "xen.ipxe"] {
        std::fs::copy(Path::new(templates).join(t), root.join("pxe").join(t)).unwrap();
    }
}

async fn start(mode: &str) -> Running {
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

[[hosts]]
mac = "52:54:00:00:00:01"
profile = "special"

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
"#
    );
    let path = dir.path().join("netboot.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let policy = Arc::new(ConfigPolicy::new(&config));
    let server = Netboot::bind(config, policy).await.unwrap();
    let addrs = server.addresses();
    tokio::spawn(server.run());
    Running { addrs, _dir: dir }
}

fn loopback(port_of: SocketAddr) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port_of.port()))
}

async fn dhcp(server: SocketAddr, msg: &Message) -> Option<Message> {
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

fn discover(mac: u8, opts: &[DhcpOption]) -> Message {
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

fn bios_pxe() -> Vec<DhcpOption> {
    vec![
        DhcpOption::ClassIdentifier(b"PXEClient:Arch:00000:UNDI:002001".to_vec()),
        DhcpOption::ClientSystemArchitecture(Architecture(0)),
    ]
}

/// A plain RFC 1350 read request with RFC 2347 options; returns the file, or the error code.
async fn tftp_get(server: SocketAddr, name: &str, opts: &[(&str, &str)]) -> Result<Vec<u8>, u16> {
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

async fn http(server: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(server).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
}

#[tokio::test]
async fn dhcp_offers_from_the_range_with_the_bios_boot_file_then_runs_dry() {
    let r = start("dhcp").await;
    let offer = dhcp(r.addrs.dhcp[0], &discover(2, &bios_pxe()))
        .await
        .unwrap();
    assert_eq!(offer.opts().msg_type(), Some(MessageType::Offer));
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(127, 0, 5, 10));
    assert_eq!(offer.siaddr(), Ipv4Addr::LOCALHOST);
    assert!(offer.fname().unwrap().starts_with(b"undionly.kpxe"));
    let second = dhcp(r.addrs.dhcp[0], &discover(3, &[])).await.unwrap();
    assert_eq!(second.yiaddr(), Ipv4Addr::new(127, 0, 5, 11));
    assert!(second.fname().is_none(), "not a PXE client: address only");
    assert!(
        dhcp(r.addrs.dhcp[0], &discover(4, &[])).await.is_none(),
        "range exhausted"
    );
}

#[tokio::test]
async fn proxy_answers_pxe_clients_only_and_without_an_address() {
    let r = start("proxy").await;
    assert_eq!(r.addrs.dhcp.len(), 2, "port 67 and the PXE port");
    let mut ipxe = bios_pxe();
    ipxe.push(DhcpOption::UserClass(b"iPXE".to_vec()));
    let offer = dhcp(r.addrs.dhcp[0], &discover(1, &ipxe)).await.unwrap();
    assert!(offer.yiaddr().is_unspecified());
    let http_base = format!("http://127.0.0.1:{}", r.addrs.http.unwrap().port());
    match offer.opts().get(OptionCode::BootfileName) {
        Some(DhcpOption::BootfileName(f)) => {
            assert_eq!(
                f,
                format!("{http_base}/boot/52:54:00:00:00:01.ipxe").as_bytes()
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(dhcp(r.addrs.dhcp[0], &discover(2, &[])).await.is_none());
    let mut req = discover(2, &bios_pxe());
    req.opts_mut()
        .insert(DhcpOption::MessageType(MessageType::Request));
    let ack = dhcp(r.addrs.dhcp[1], &req).await.unwrap();
    assert_eq!(ack.opts().msg_type(), Some(MessageType::Ack));
}

#[tokio::test]
async fn tftp_negotiates_options_and_refuses_writes_and_escapes() {
    let r = start("proxy").await;
    let tftp = r.addrs.tftp;
    let want = std::fs::read(r._dir.path().join("tftp/undionly.kpxe")).unwrap();
    assert_eq!(tftp_get(tftp, "undionly.kpxe", &[]).await.unwrap(), want);
    let opts = [("blksize", "1468"), ("tsize", "0"), ("windowsize", "1")];
    assert_eq!(tftp_get(tftp, "undionly.kpxe", &opts).await.unwrap(), want);
    // RFC 1350 error codes: 1 file not found, 2 access violation.
    assert_eq!(tftp_get(tftp, "../secret", &[]).await, Err(2));
    assert_eq!(tftp_get(tftp, "/etc/passwd", &[]).await, Err(2));
    assert_eq!(tftp_get(tftp, "missing", &[]).await, Err(1));
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(b"\x00\x02evil\x00octet\x00", loopback(tftp))
        .await
        .unwrap();
    let mut buf = [0u8; 600];
    let n = tokio::time::timeout(Duration::from_secs(3), sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..4], &[0, 5, 0, 2], "write refused: {:?}", &buf[..n]);
    assert!(!r._dir.path().join("tftp/evil").exists());
}

#[tokio::test]
async fn http_scripts_per_mac_ranges_and_events() {
    let r = start("proxy").await;
    let h = r.addrs.http.unwrap();
    let known = http(h, &get("/boot/52:54:00:00:00:01.ipxe")).await;
    assert!(known.starts_with("HTTP/1.1 200"), "{known}");
    assert!(
        known.contains("#!ipxe") && known.contains("special-kernel") && known.contains("special=1")
    );
    let unknown = http(h, &get("/boot/52-54-00-00-00-99.ipxe")).await;
    assert!(unknown.contains("/files/vmlinuz") && unknown.contains("metal.mac=52:54:00:00:00:99"));
    assert!(
        unknown.ends_with("boot\n"),
        "trailing newline kept: {unknown:?}"
    );
    assert!(
        http(h, &get("/boot/nonsense.ipxe"))
            .await
            .starts_with("HTTP/1.1 404")
    );
    let range = http(
        h,
        "GET /files/vmlinuz HTTP/1.1\r\nHost: t\r\nRange: bytes=100-199\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(range.starts_with("HTTP/1.1 206"), "{range}");
    assert!(range.to_ascii_lowercase().contains("content-length: 100"));
    assert!(
        http(h, &get("/files/../secret"))
            .await
            .starts_with("HTTP/1.1 4")
    );
    let body = "mac=52:54:00:00:00:01&stage=booted&message=hello+world";
    let post = format!(
        "POST /events HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert!(http(h, &post).await.starts_with("HTTP/1.1 204"));
    let list = http(h, &get("/events")).await;
    assert!(
        list.contains(r#""stage":"booted""#) && list.contains("hello world"),
        "{list}"
    );
    assert!(
        list.contains(r#""stage":"script""#),
        "scripts served are recorded: {list}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary datagrams never stop the DHCP or TFTP server: after them, a valid request is
    /// still answered.
    #[test]
    fn garbage_never_stops_the_servers(datagrams in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 1..8)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let r = start("dhcp").await;
            let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for d in &datagrams {
                sock.send_to(d, loopback(r.addrs.dhcp[0])).await.unwrap();
                sock.send_to(d, loopback(r.addrs.tftp)).await.unwrap();
                // Truncated valid-looking TFTP requests too.
                let mut rrq = b"\x00\x01undionly.kpxe\x00octet\x00blksize\x00".to_vec();
                rrq.truncate(d.len() % rrq.len());
                sock.send_to(&rrq, loopback(r.addrs.tftp)).await.unwrap();
            }
            let offer = dhcp(r.addrs.dhcp[0], &discover(9, &bios_pxe())).await;
            prop_assert!(offer.is_some());
            prop_assert!(tftp_get(r.addrs.tftp, "undionly.kpxe", &[]).await.is_ok());
            Ok(())
        })?;
    }
}
