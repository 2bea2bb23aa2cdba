//! The whole service on loopback, no root needed: DHCP on an ephemeral port (where the server
//! answers by unicast to the sender), TFTP and HTTP on ephemeral ports. Packets are built and
//! read by hand here, so these tests check the wire, not our own encoder against itself.

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use dhcproto::v4::{DhcpOption, MessageType, OptionCode};

use proptest::prelude::*;
use support::*;
use tokio::net::UdpSocket;

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
    let want = std::fs::read(r.dir.path().join("tftp/undionly.kpxe")).unwrap();
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
    assert!(!r.dir.path().join("tftp/evil").exists());
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
    let xen = http(h, &get("/boot/52:54:00:00:00:02.ipxe")).await;
    assert!(
        xen.starts_with("HTTP/1.1 200") && xen.contains("module "),
        "{xen}"
    );
    let truncated = http(h, &get("/boot/52:54:00:00:00:06.ipxe")).await;
    assert!(
        truncated.starts_with("HTTP/1.1 500") && truncated.contains("512"),
        "a multiboot script iPXE would cut short is not served: {truncated}"
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
    let post = post_event(body, Some(&token_of(&known)));
    let posted = http(h, &post).await;
    assert!(posted.starts_with("HTTP/1.1 204"), "{posted}");
    let list = http(h, &get_with_token("/events", OPERATOR_TOKEN)).await;
    assert!(
        list.contains(r#""stage":"booted""#) && list.contains("hello world"),
        "{list}"
    );
    assert!(
        list.contains(r#""stage":"script""#),
        "scripts served are recorded: {list}"
    );
    let own = http(
        h,
        &get_with_token("/events?mac=52-54-00-00-00-01", OPERATOR_TOKEN),
    )
    .await;
    assert!(
        own.contains(r#""stage":"booted""#) && own.contains(r#""stage":"script""#),
        "one machine's events: {own}"
    );
    let other = http(
        h,
        &get_with_token("/events?mac=52:54:00:00:00:77", OPERATOR_TOKEN),
    )
    .await;
    assert!(
        other.starts_with("HTTP/1.1 200") && other.ends_with("[]"),
        "another machine has none: {other}"
    );
    let bad = http(h, &get_with_token("/events?mac=%1b%5b31m", OPERATOR_TOKEN)).await;
    assert!(
        bad.starts_with("HTTP/1.1 400") && !bad.contains('\u{1b}'),
        "{bad}"
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
