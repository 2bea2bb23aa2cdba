//! What a DHCP request tells us about its sender: MAC, message type, PXE firmware or iPXE,
//! client architecture, and which boot file that calls for.

use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, HType, Message, MessageType, Opcode, OptionCode};
use metal_types::MacAddr;

use crate::config::BootFiles;

/// RFC 4578 §2.1 option 93, the values we serve.
pub mod arch {
    /// Intel x86PC: BIOS PXE.
    pub const BIOS: u16 = 0;
    /// EFI IA32: no iPXE binary is shipped for it.
    pub const EFI_IA32: u16 = 6;
    /// EFI x86-64 (RFC 4578 §2.1 lists 7 as "EFI BC" and 9 as "EFI x86-64"; firmware sends 7
    /// for x64 since the IANA registry corrected the swap, and old ROMs still send 9).
    pub const EFI_X64: u16 = 7;
    /// See [`EFI_X64`].
    pub const EFI_X64_OLD: u16 = 9;
    /// x64 UEFI HTTP boot (IANA "Processor Architecture Types", UEFI 2.5 §24.7).
    pub const EFI_X64_HTTP: u16 = 16;
}

/// A request we can answer: a BOOTREQUEST from an Ethernet client with a message type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// `chaddr`.
    pub mac: MacAddr,
    /// Option 53.
    pub kind: MessageType,
    /// Option 60 begins with `PXEClient` (PXE specification 2.1 §2.2.5).
    pub pxe: bool,
    /// Option 60 begins with `HTTPClient` (UEFI HTTP boot).
    pub http_boot: bool,
    /// iPXE: option 77 user class `iPXE`, or option 175 (iPXE's encapsulated options) present.
    pub ipxe: bool,
    /// Option 93, the first architecture listed.
    pub arch: Option<u16>,
    /// Option 97, echoed in proxy replies (PXE specification 2.1 §2.2.5).
    pub guid: Option<Vec<u8>>,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
}

/// Why a datagram is not a request we answer. Never a panic: anything can arrive on port 67.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not a DHCP message at all (too short, no magic cookie, malformed options).
    #[error("undecodable: {0}")]
    Decode(String),
    /// A BOOTREPLY (another server's answer) or not Ethernet.
    #[error("not an Ethernet BOOTREQUEST")]
    NotRequest,
    /// BOOTP without option 53.
    #[error("no DHCP message type")]
    NoMessageType,
}

/// RFC 2131 §3: "the first four octets of the 'options' field of the DHCP message contain the
/// (decimal) values 99, 130, 83 and 99", after the 236-octet fixed header.
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// Decodes a datagram into a message and what it says about its sender.
pub fn parse(bytes: &[u8]) -> Result<(Message, ClientRequest), RequestError> {
    use dhcproto::Decodable;
    if bytes.get(236..240) != Some(&MAGIC_COOKIE[..]) {
        return Err(RequestError::Decode("no DHCP magic cookie".into()));
    }
    check_option_lengths(bytes.get(240..).unwrap_or_default())?;
    let msg = Message::from_bytes(bytes).map_err(|e| RequestError::Decode(e.to_string()))?;
    let req = classify(&msg)?;
    Ok((msg, req))
}

/// Walks the options field (RFC 2132 §2: pad 0 and end 255 are one octet, every other option is
/// code, length, data) and refuses lengths that `dhcproto` 0.15 does not check before it
/// asserts on them or subtracts from them (found by the property tests: `debug_assert!(len ==
/// 4)` for option 152): rapid commit (80, RFC 4039: 0), client FQDN (81, RFC 4702: at least 3),
/// client network interface (94, RFC 4578 §2.2: 3), bulk lease query (151: at least 1;
/// 152–155: 4). Those options must also appear once, so RFC 3396 concatenation cannot change
/// their length after this check.
fn check_option_lengths(options: &[u8]) -> Result<(), RequestError> {
    let bad = |what: String| Err(RequestError::Decode(what));
    let mut seen = [false; 256];
    let mut i = 0;
    while let Some(&code) = options.get(i) {
        match code {
            0 => {
                i += 1;
                continue;
            }
            255 => return Ok(()),
            _ => {}
        }
        let Some(&len) = options.get(i + 1) else {
            return bad(format!("option {code} truncated"));
        };
        let len = usize::from(len);
        if options.len() < i + 2 + len {
            return bad(format!("option {code} runs past the packet"));
        }
        let fits = match code {
            80 => Some(len == 0),
            81 => Some(len >= 3),
            94 => Some(len == 3),
            151 => Some(len >= 1),
            152..=155 => Some(len == 4),
            _ => None,
        };
        if let Some(fits) = fits {
            if !fits || seen[usize::from(code)] {
                return bad(format!("option {code} with length {len}"));
            }
            seen[usize::from(code)] = true;
        }
        i += 2 + len;
    }
    Ok(())
}

/// Classifies a decoded message.
pub fn classify(msg: &Message) -> Result<ClientRequest, RequestError> {
    if msg.opcode() != Opcode::BootRequest || msg.htype() != HType::Eth || msg.hlen() != 6 {
        return Err(RequestError::NotRequest);
    }
    let chaddr = msg.chaddr();
    let mac: [u8; 6] = chaddr
        .get(..6)
        .and_then(|s| s.try_into().ok())
        .ok_or(RequestError::NotRequest)?;
    let kind = msg.opts().msg_type().ok_or(RequestError::NoMessageType)?;
    let opts = msg.opts();
    let class = match opts.get(OptionCode::ClassIdentifier) {
        Some(DhcpOption::ClassIdentifier(v)) => v.as_slice(),
        _ => &[],
    };
    let user_class_ipxe = match opts.get(OptionCode::UserClass) {
        Some(DhcpOption::UserClass(v)) => contains(v, b"iPXE"),
        _ => false,
    };
    let arch = match opts.get(OptionCode::ClientSystemArchitecture) {
        Some(DhcpOption::ClientSystemArchitecture(a)) => Some(a.0),
        _ => None,
    };
    Ok(ClientRequest {
        mac: MacAddr(mac),
        kind,
        pxe: class.starts_with(b"PXEClient"),
        http_boot: class.starts_with(b"HTTPClient"),
        ipxe: user_class_ipxe || opts.contains(OptionCode::Unknown(175)),
        arch,
        guid: match opts.get(OptionCode::ClientMachineIdentifier) {
            Some(DhcpOption::ClientMachineIdentifier(g)) => Some(g.clone()),
            _ => None,
        },
        requested_ip: match opts.get(OptionCode::RequestedIpAddress) {
            Some(DhcpOption::RequestedIpAddress(ip)) => Some(*ip),
            _ => None,
        },
        server_id: match opts.get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(ip)) => Some(*ip),
            _ => None,
        },
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The boot information a client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootTarget {
    /// Not a netbooting client (no option 60 `PXEClient`/`HTTPClient`, not iPXE): address only.
    None,
    /// A file in the TFTP root (firmware PXE).
    Tftp(String),
    /// An HTTP URL: the iPXE script for iPXE, or the EFI binary for UEFI HTTP boot.
    Url(String),
    /// A netbooting client we have nothing for (say, IA32 EFI); logged and not answered with boot
    /// information.
    Unsupported(String),
}

impl ClientRequest {
    /// Which boot file this client gets (the option 93 table of docs/netboot.md). iPXE is
    /// recognised first, whatever its architecture: it gets its script, which is what breaks the
    /// firmware → iPXE → firmware loop.
    pub fn boot_target(&self, files: &BootFiles, http_base: &str) -> BootTarget {
        if self.ipxe {
            return BootTarget::Url(format!("{http_base}/boot/{}.ipxe", self.mac));
        }
        if !self.pxe && !self.http_boot {
            return BootTarget::None;
        }
        match self.arch {
            Some(arch::BIOS) if !self.http_boot => BootTarget::Tftp(files.bios.clone()),
            Some(arch::EFI_X64 | arch::EFI_X64_OLD) if !self.http_boot => {
                BootTarget::Tftp(files.efi64.clone())
            }
            Some(arch::EFI_X64_HTTP) => {
                BootTarget::Url(format!("{http_base}/tftp/{}", files.efi64_http))
            }
            Some(arch::EFI_IA32) => {
                BootTarget::Unsupported("IA32 EFI (arch 6): no iPXE binary for it".into())
            }
            Some(other) => BootTarget::Unsupported(format!("client architecture {other}")),
            None => BootTarget::Unsupported("PXE client without option 93".into()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use dhcproto::v4::{Architecture, UnknownOption};
    use dhcproto::{Encodable, v4};

    pub(crate) fn request(kind: MessageType, mac: u8, extra: &[DhcpOption]) -> Message {
        let mut m = Message::new(
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            &[0x52, 0x54, 0, 0, 0, mac],
        );
        m.opts_mut().insert(DhcpOption::MessageType(kind));
        for o in extra {
            m.opts_mut().insert(o.clone());
        }
        m
    }

    pub(crate) fn pxe(arch: u16) -> Vec<DhcpOption> {
        vec![
            DhcpOption::ClassIdentifier(format!("PXEClient:Arch:{arch:05}:UNDI:003016").into()),
            DhcpOption::ClientSystemArchitecture(Architecture(arch)),
            DhcpOption::ClientMachineIdentifier(vec![0; 17]),
        ]
    }

    fn files() -> BootFiles {
        BootFiles::default()
    }

    fn target(opts: &[DhcpOption]) -> BootTarget {
        let m = request(MessageType::Discover, 1, opts);
        let bytes = m.to_vec().unwrap();
        let (_, req) = parse(&bytes).unwrap();
        req.boot_target(&files(), "http://10.99.0.1:8080")
    }

    #[test]
    fn boot_file_by_architecture() {
        assert_eq!(target(&pxe(0)), BootTarget::Tftp("undionly.kpxe".into()));
        assert_eq!(target(&pxe(7)), BootTarget::Tftp("snponly.efi".into()));
        assert_eq!(target(&pxe(9)), BootTarget::Tftp("snponly.efi".into()));
        assert!(matches!(target(&pxe(6)), BootTarget::Unsupported(_)));
        assert!(matches!(target(&pxe(11)), BootTarget::Unsupported(_)));
        assert_eq!(target(&[]), BootTarget::None);
        let http = [
            DhcpOption::ClassIdentifier(b"HTTPClient:Arch:00016".to_vec()),
            DhcpOption::ClientSystemArchitecture(Architecture(16)),
        ];
        assert_eq!(
            target(&http),
            BootTarget::Url("http://10.99.0.1:8080/tftp/ipxe.efi".into())
        );
    }

    #[test]
    fn ipxe_is_recognised_by_user_class_or_option_175() {
        let script = BootTarget::Url("http://10.99.0.1:8080/boot/52:54:00:00:00:01.ipxe".into());
        let mut opts = pxe(0);
        opts.push(DhcpOption::UserClass(b"iPXE".to_vec()));
        assert_eq!(target(&opts), script);
        let mut opts = pxe(7);
        opts.push(DhcpOption::Unknown(UnknownOption::new(
            v4::OptionCode::Unknown(175),
            vec![177, 5, 1, 0x10, 0xec, 0x81, 0x39],
        )));
        assert_eq!(target(&opts), script);
    }

    #[test]
    fn replies_and_garbage_are_not_requests() {
        let mut m = request(MessageType::Offer, 1, &[]);
        m.set_opcode(Opcode::BootReply);
        assert_eq!(classify(&m), Err(RequestError::NotRequest));
        let mut m = request(MessageType::Discover, 1, &[]);
        m.opts_mut().remove(OptionCode::MessageType);
        assert_eq!(classify(&m), Err(RequestError::NoMessageType));
        assert!(matches!(parse(&[1, 2, 3]), Err(RequestError::Decode(_))));
    }
}
