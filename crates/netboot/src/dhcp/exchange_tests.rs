use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Message, MessageType, OptionCode};

use super::*;
use crate::dhcp::client::classify;
use crate::dhcp::client::tests::{pxe, request};

fn ctx() -> Context {
    Context {
        server: Ipv4Addr::new(10, 99, 0, 1),
        http_base: "http://10.99.0.1:8080".into(),
        files: BootFiles::default(),
    }
}

fn pool(dir: &std::path::Path, first: u8, last: u8) -> Pool {
    let config = DhcpConfig {
        subnet: "10.99.0.0/24".parse().unwrap(),
        range: [
            Ipv4Addr::new(10, 99, 0, first),
            Ipv4Addr::new(10, 99, 0, last),
        ],
        router: Some(Ipv4Addr::new(10, 99, 0, 1)),
        dns: vec![],
        lease_secs: 600,
        lease_file: dir.join("leases.json"),
    };
    Pool::open(
        config,
        Ipv4Addr::new(10, 99, 0, 1),
        [Ipv4Addr::new(10, 99, 0, 50)],
    )
    .unwrap()
}

fn dynamic() -> BootDecision {
    BootDecision {
        address: None,
        hostname: None,
        action: BootAction::Profile("linux".into()),
        hardware: None,
    }
}

fn run(pool: Option<&mut Pool>, m: &Message, d: &BootDecision, port: Port) -> Exchange {
    let client = classify(m).unwrap();
    handle(&ctx(), pool, m, &client, d, port, 1000).unwrap()
}

fn kind(m: &Message) -> MessageType {
    m.opts().msg_type().unwrap()
}

#[test]
fn discover_request_ack_with_bios_boot_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pool(dir.path(), 100, 101);
    let offer = run(
        Some(&mut p),
        &request(MessageType::Discover, 1, &pxe(0)),
        &dynamic(),
        Port::Dhcp,
    )
    .reply
    .unwrap();
    assert_eq!(kind(&offer), MessageType::Offer);
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(10, 99, 0, 100));
    assert_eq!(offer.siaddr(), Ipv4Addr::new(10, 99, 0, 1));
    assert_eq!(
        offer.fname_str().unwrap().unwrap().trim_end_matches('\0'),
        "undionly.kpxe"
    );
    assert!(offer.opts().contains(OptionCode::VendorExtensions));

    let mut opts = pxe(0);
    opts.push(DhcpOption::RequestedIpAddress(offer.yiaddr()));
    opts.push(DhcpOption::ServerIdentifier(Ipv4Addr::new(10, 99, 0, 1)));
    let ack = run(
        Some(&mut p),
        &request(MessageType::Request, 1, &opts),
        &dynamic(),
        Port::Dhcp,
    )
    .reply
    .unwrap();
    assert_eq!(kind(&ack), MessageType::Ack);
    assert_eq!(ack.yiaddr(), Ipv4Addr::new(10, 99, 0, 100));
    assert_eq!(
        p.leases.get(Ipv4Addr::new(10, 99, 0, 100)).unwrap().state,
        LeaseState::Bound
    );
}

#[test]
fn ipxe_gets_its_script_url_and_no_proxydhcp_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pool(dir.path(), 100, 101);
    let mut opts = pxe(0);
    opts.push(DhcpOption::UserClass(b"iPXE".to_vec()));
    let offer = run(
        Some(&mut p),
        &request(MessageType::Discover, 7, &opts),
        &dynamic(),
        Port::Dhcp,
    )
    .reply
    .unwrap();
    match offer.opts().get(OptionCode::BootfileName) {
        Some(DhcpOption::BootfileName(f)) => {
            assert_eq!(f, b"http://10.99.0.1:8080/boot/52:54:00:00:00:07.ipxe")
        }
        other => panic!("{other:?}"),
    }
    match offer.opts().get(OptionCode::Unknown(175)) {
        Some(DhcpOption::Unknown(u)) => assert_eq!(u.data(), &[176, 1, 1]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn never_an_address_outside_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pool(dir.path(), 100, 101);
    let mut seen = Vec::new();
    for mac in 1..=5 {
        let asks = [DhcpOption::RequestedIpAddress(Ipv4Addr::new(10, 99, 0, 7))];
        let ex = run(
            Some(&mut p),
            &request(MessageType::Discover, mac, &asks),
            &dynamic(),
            Port::Dhcp,
        );
        if let Some(r) = ex.reply {
            seen.push(r.yiaddr());
        }
    }
    assert_eq!(
        seen,
        [Ipv4Addr::new(10, 99, 0, 100), Ipv4Addr::new(10, 99, 0, 101)]
    );
    let asks = [DhcpOption::RequestedIpAddress(Ipv4Addr::new(10, 99, 0, 7))];
    let nak = run(
        Some(&mut p),
        &request(MessageType::Request, 9, &asks),
        &dynamic(),
        Port::Dhcp,
    );
    assert_eq!(kind(&nak.reply.unwrap()), MessageType::Nak);
}

#[test]
fn reservation_is_offered_and_others_cannot_request_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pool(dir.path(), 100, 101);
    let reserved = BootDecision {
        address: Some(Ipv4Addr::new(10, 99, 0, 50)),
        hostname: Some("node01".into()),
        action: BootAction::Profile("xen".into()),
        hardware: None,
    };
    let offer = run(
        Some(&mut p),
        &request(MessageType::Discover, 1, &[]),
        &reserved,
        Port::Dhcp,
    )
    .reply
    .unwrap();
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(10, 99, 0, 50));
    assert!(offer.opts().contains(OptionCode::Hostname));
    assert!(
        !offer.opts().contains(OptionCode::BootfileName),
        "not a PXE client"
    );
    let asks = [DhcpOption::RequestedIpAddress(Ipv4Addr::new(10, 99, 0, 50))];
    let nak = run(
        Some(&mut p),
        &request(MessageType::Request, 2, &asks),
        &dynamic(),
        Port::Dhcp,
    );
    assert_eq!(kind(&nak.reply.unwrap()), MessageType::Nak);
}

#[test]
fn requests_relayed_from_another_subnet_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pool(dir.path(), 100, 101);
    let mut m = request(MessageType::Discover, 1, &pxe(0));
    m.set_giaddr(Ipv4Addr::new(10, 7, 0, 1));
    assert!(
        run(Some(&mut p), &m, &dynamic(), Port::Dhcp)
            .reply
            .is_none()
    );
    m.set_giaddr(Ipv4Addr::new(10, 99, 0, 254));
    let offer = run(Some(&mut p), &m, &dynamic(), Port::Dhcp).reply.unwrap();
    assert_eq!(offer.giaddr(), Ipv4Addr::new(10, 99, 0, 254));
}

#[test]
fn request_for_another_server_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pool(dir.path(), 100, 101);
    let opts = [
        DhcpOption::RequestedIpAddress(Ipv4Addr::new(10, 99, 0, 100)),
        DhcpOption::ServerIdentifier(Ipv4Addr::new(10, 99, 0, 2)),
    ];
    let ex = run(
        Some(&mut p),
        &request(MessageType::Request, 1, &opts),
        &dynamic(),
        Port::Dhcp,
    );
    assert!(ex.reply.is_none());
}

#[test]
fn proxy_offers_boot_information_without_an_address() {
    let offer = run(
        None,
        &request(MessageType::Discover, 1, &pxe(7)),
        &dynamic(),
        Port::Dhcp,
    )
    .reply
    .unwrap();
    assert_eq!(kind(&offer), MessageType::Offer);
    assert!(offer.yiaddr().is_unspecified());
    match offer.opts().get(OptionCode::ClassIdentifier) {
        Some(DhcpOption::ClassIdentifier(c)) => assert_eq!(c, b"PXEClient"),
        other => panic!("{other:?}"),
    }
    assert!(offer.opts().contains(OptionCode::ClientMachineIdentifier));
    // Non-PXE clients and requests are the site server's.
    assert!(
        run(
            None,
            &request(MessageType::Discover, 1, &[]),
            &dynamic(),
            Port::Dhcp
        )
        .reply
        .is_none()
    );
    assert!(
        run(
            None,
            &request(MessageType::Request, 1, &pxe(7)),
            &dynamic(),
            Port::Dhcp
        )
        .reply
        .is_none()
    );
}

#[test]
fn pxe_port_request_gets_an_ack_with_the_boot_file() {
    let ack = run(
        None,
        &request(MessageType::Request, 1, &pxe(7)),
        &dynamic(),
        Port::Pxe,
    )
    .reply
    .unwrap();
    assert_eq!(kind(&ack), MessageType::Ack);
    assert!(ack.yiaddr().is_unspecified());
    assert_eq!(
        ack.fname_str().unwrap().unwrap().trim_end_matches('\0'),
        "snponly.efi"
    );
}

#[test]
fn ignored_machines_get_an_address_but_no_boot_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pool(dir.path(), 100, 101);
    let ignore = BootDecision {
        action: BootAction::Ignore,
        hardware: None,
        ..dynamic()
    };
    let offer = run(
        Some(&mut p),
        &request(MessageType::Discover, 1, &pxe(0)),
        &ignore,
        Port::Dhcp,
    )
    .reply
    .unwrap();
    assert!(!offer.yiaddr().is_unspecified());
    assert!(!offer.opts().contains(OptionCode::BootfileName));
    assert!(
        run(
            None,
            &request(MessageType::Discover, 1, &pxe(0)),
            &ignore,
            Port::Dhcp
        )
        .reply
        .is_none()
    );
}

#[test]
fn release_frees_and_decline_holds_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = pool(dir.path(), 100, 101);
    let ip = Ipv4Addr::new(10, 99, 0, 100);
    let asks = [DhcpOption::RequestedIpAddress(ip)];
    run(
        Some(&mut p),
        &request(MessageType::Request, 1, &asks),
        &dynamic(),
        Port::Dhcp,
    );
    let mut rel = request(MessageType::Release, 1, &[]);
    rel.set_ciaddr(ip);
    run(Some(&mut p), &rel, &dynamic(), Port::Dhcp);
    assert!(p.leases.get(ip).is_none());
    run(
        Some(&mut p),
        &request(MessageType::Decline, 1, &asks),
        &dynamic(),
        Port::Dhcp,
    );
    let offer = run(
        Some(&mut p),
        &request(MessageType::Discover, 1, &[]),
        &dynamic(),
        Port::Dhcp,
    );
    assert_eq!(offer.reply.unwrap().yiaddr(), Ipv4Addr::new(10, 99, 0, 101));
}

mod never_panics {
    use super::*;
    use crate::dhcp::client::parse;
    use dhcproto::Encodable;
    use proptest::prelude::*;

    fn valid_bytes() -> Vec<u8> {
        let mut opts = pxe(7);
        opts.push(DhcpOption::UserClass(b"iPXE".to_vec()));
        opts.push(DhcpOption::RequestedIpAddress(Ipv4Addr::new(
            10, 99, 0, 100,
        )));
        request(MessageType::Request, 3, &opts).to_vec().unwrap()
    }

    /// Decode, classify and answer whatever parses, in both modes and on both ports.
    fn feed(bytes: &[u8]) {
        let Ok((msg, client)) = parse(bytes) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut p = pool(dir.path(), 100, 101);
        for port in [Port::Dhcp, Port::Pxe] {
            let _ = handle(&ctx(), Some(&mut p), &msg, &client, &dynamic(), port, 1000).unwrap();
            let _ = handle(&ctx(), None, &msg, &client, &dynamic(), port, 1000).unwrap();
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1500)) {
            feed(&bytes);
        }

        #[test]
        fn mutated_and_truncated_requests(
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = valid_bytes();
            for (at, v) in flips {
                let i = at.index(bytes.len());
                bytes[i] = v;
            }
            let len = bytes.len();
            bytes.truncate(cut.index(len + 1));
            feed(&bytes);
        }
    }

    #[test]
    fn option_lengths_dhcproto_asserts_on_are_refused_not_a_panic() {
        // Found by `mutated_and_truncated_requests`: option 152 with a length other than 4.
        for (code, len) in [(152u8, 2u8), (94, 2), (81, 1), (151, 0), (80, 1)] {
            let mut bytes = valid_bytes();
            let end = bytes.iter().rposition(|b| *b == 255).unwrap();
            bytes.truncate(end);
            bytes.extend([code, len]);
            bytes.extend(std::iter::repeat_n(7, usize::from(len)));
            bytes.push(255);
            assert!(parse(&bytes).is_err(), "option {code} length {len}");
        }
        let mut twice = valid_bytes();
        let end = twice.iter().rposition(|b| *b == 255).unwrap();
        twice.truncate(end);
        twice.extend([94, 3, 1, 2, 0, 94, 3, 1, 2, 0, 255]);
        assert!(parse(&twice).is_err(), "split option 94");
    }

    #[test]
    fn oversized_hlen_is_refused_not_a_panic() {
        // dhcproto's `chaddr()` slices by `hlen`; 200 would panic there.
        let mut bytes = valid_bytes();
        bytes[2] = 200;
        assert!(parse(&bytes).is_err());
    }
}
