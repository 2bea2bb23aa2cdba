//! Building BOOTREPLY messages: the fixed fields of RFC 2131 §4.3.1 table 3, the options of
//! RFC 2132, and the PXE/iPXE options that make netboot work.

use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode, OptionCode, UnknownOption};

use super::client::{BootTarget, ClientRequest};

/// PXE specification 2.1 §2.2.5 option 43 sub-option 6, PXE_DISCOVERY_CONTROL, bit 3: "if set,
/// and a boot file name is present in the initial DHCP or ProxyDHCP offer packet, download the
/// boot file (do not prompt/menu/discover)". Followed by the end sub-option 255.
const PXE_VENDOR_OPTIONS: [u8; 4] = [6, 1, 8, 255];

/// iPXE's encapsulated option 175 carrying sub-option 176 `no-pxedhcp` = 1: "do not wait for
/// ProxyDHCP offers", which otherwise costs every boot 2–3 s.
const IPXE_NO_PROXYDHCP: [u8; 3] = [176, 1, 1];

/// Address options of a reply from our own pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressing {
    /// `yiaddr`.
    pub ip: Ipv4Addr,
    /// Option 1.
    pub mask: Ipv4Addr,
    /// Option 3.
    pub router: Option<Ipv4Addr>,
    /// Option 6.
    pub dns: Vec<Ipv4Addr>,
    /// Option 51; T1 (58) and T2 (59) follow RFC 2131 §4.4.5's defaults, 0.5 and 0.875 of it.
    pub lease_secs: u32,
    /// Option 12.
    pub hostname: Option<String>,
}

/// Starts a reply to `req` (RFC 2131 §4.3.1 table 3): `op` BOOTREPLY, `xid`, `flags`, `giaddr`
/// and `chaddr` copied; `ciaddr` copied for ACKs of INFORM/renewals, else 0; option 53 and
/// option 54 (server identifier).
pub fn start(
    req: &Message,
    client: &ClientRequest,
    kind: MessageType,
    server: Ipv4Addr,
) -> Message {
    let mut m = Message::default();
    m.set_opcode(Opcode::BootReply)
        .set_xid(req.xid())
        .set_flags(req.flags())
        .set_giaddr(req.giaddr())
        .set_chaddr(&client.mac.0);
    if kind == MessageType::Ack {
        m.set_ciaddr(req.ciaddr());
    }
    m.opts_mut().insert(DhcpOption::MessageType(kind));
    m.opts_mut().insert(DhcpOption::ServerIdentifier(server));
    m
}

/// Adds an address from our pool.
pub fn add_address(m: &mut Message, a: &Addressing) {
    m.set_yiaddr(a.ip);
    let o = m.opts_mut();
    o.insert(DhcpOption::SubnetMask(a.mask));
    if let Some(r) = a.router {
        o.insert(DhcpOption::Router(vec![r]));
    }
    if !a.dns.is_empty() {
        o.insert(DhcpOption::DomainNameServer(a.dns.clone()));
    }
    o.insert(DhcpOption::AddressLeaseTime(a.lease_secs));
    o.insert(DhcpOption::Renewal(a.lease_secs / 2));
    o.insert(DhcpOption::Rebinding((a.lease_secs as u64 * 7 / 8) as u32));
    if let Some(h) = &a.hostname {
        o.insert(DhcpOption::Hostname(h.clone()));
    }
}

/// Adds boot information: `siaddr` (RFC 2131 §2: "IP address of next server to use in
/// bootstrap"), `file` and option 67, option 60 (PXE 2.1 §2.2.5: a server answering a PXE
/// client sends `PXEClient`; UEFI HTTP boot expects `HTTPClient`), option 97 echoed, option 43
/// for firmware PXE and option 175.176 for iPXE. Returns false when there is nothing to add.
pub fn add_boot(
    m: &mut Message,
    client: &ClientRequest,
    target: &BootTarget,
    server: Ipv4Addr,
) -> bool {
    let file = match target {
        BootTarget::Tftp(f) | BootTarget::Url(f) => f,
        BootTarget::None | BootTarget::Unsupported(_) => return false,
    };
    m.set_siaddr(server);
    if file.len() < 128 {
        m.set_fname_str(file);
    }
    let o = m.opts_mut();
    o.insert(DhcpOption::BootfileName(file.as_bytes().to_vec()));
    if client.http_boot {
        o.insert(DhcpOption::ClassIdentifier(b"HTTPClient".to_vec()));
    } else if client.pxe {
        o.insert(DhcpOption::ClassIdentifier(b"PXEClient".to_vec()));
    }
    if let Some(guid) = &client.guid {
        o.insert(DhcpOption::ClientMachineIdentifier(guid.clone()));
    }
    if client.ipxe {
        o.insert(DhcpOption::Unknown(UnknownOption::new(
            OptionCode::Unknown(175),
            IPXE_NO_PROXYDHCP.to_vec(),
        )));
    } else if client.pxe {
        o.insert(DhcpOption::VendorExtensions(PXE_VENDOR_OPTIONS.to_vec()));
    }
    true
}

/// Display form of a reply's file for log lines.
pub fn describe(target: &BootTarget) -> String {
    match target {
        BootTarget::None => "no boot".into(),
        BootTarget::Tftp(f) => format!("tftp {f}"),
        BootTarget::Url(u) => u.clone(),
        BootTarget::Unsupported(why) => format!("unsupported: {why}"),
    }
}
