//! What the simulator reports: per-request and per-boot records, the event stream, counters.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::SystemTime;

use metal_types::BootDevice;

/// One HTTP request a board answered (or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// When the request was read.
    pub time: SystemTime,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Local name of the operation: `Get`, `Put`, `Enumerate`, `Pull`, `Release`, `Identify`,
    /// the method name of an invoke (`RequestPowerStateChange`), or empty when the body was
    /// not a WS-Man request.
    pub action: String,
    /// Class name from the ResourceURI (`CIM_AssociatedPowerManagementService`), or empty.
    pub class: String,
    /// HTTP status sent (0 when the connection was dropped or hung on purpose).
    pub status: u16,
    /// Whether the request carried valid digest credentials.
    pub authenticated: bool,
}

/// One boot of the simulated host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootRecord {
    /// When the host came up.
    pub time: SystemTime,
    /// What it booted from.
    pub device: BootDevice,
    /// Whether a one-shot boot override chose the device (otherwise the default, disk).
    pub one_shot: bool,
}

/// How a SOL client authenticated (amt-protocol.md §2c, auth types 1 and 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolAuth {
    /// Auth type 1, user name and password in clear (`amt-9` only).
    Plain,
    /// Auth type 4, RFC 2617 digest.
    Digest,
}

impl fmt::Display for SolAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "plain",
            Self::Digest => "digest",
        })
    }
}

/// Something that happened on a board. `Display` gives one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimEvent {
    /// A request was answered.
    Request {
        /// Board address.
        ip: Ipv4Addr,
        /// The request.
        record: RequestRecord,
    },
    /// The host booted.
    Boot {
        /// Board address.
        ip: Ipv4Addr,
        /// The boot.
        record: BootRecord,
    },
    /// The power state changed.
    Power {
        /// Board address.
        ip: Ipv4Addr,
        /// DMTF state before.
        from: u16,
        /// DMTF state after.
        to: u16,
    },
    /// Too many failed logins: the account is locked for `SimConfig::lockout`.
    Locked {
        /// Board address.
        ip: Ipv4Addr,
    },
    /// A client authenticated and started SOL redirection.
    SolOpened {
        /// Board address.
        ip: Ipv4Addr,
        /// The authentication method used.
        auth: SolAuth,
    },
    /// A redirection connection was turned away before SOL started.
    SolRefused {
        /// Board address.
        ip: Ipv4Addr,
        /// Why (`SOL disabled`, `busy`, `wrong user name or password`, ...).
        reason: String,
    },
    /// A SOL session ended.
    SolClosed {
        /// Board address.
        ip: Ipv4Addr,
        /// Bytes typed by the client (0x28 payloads).
        to_host: u64,
        /// Bytes of host output sent to the client (0x2A payloads).
        from_host: u64,
        /// Why it ended (`closed by the client`, `client silent`, `dropped (fault)`, ...).
        reason: String,
    },
    /// A power change was refused because a SOL session is open (amt-protocol.md §2a).
    PowerRefused {
        /// Board address.
        ip: Ipv4Addr,
        /// The requested DMTF power state.
        requested: u16,
    },
    /// What the VM of a QEMU board did (started, stopped by itself, could not start).
    Vm {
        /// Board address.
        ip: Ipv4Addr,
        /// What happened, in words.
        note: String,
    },
}

impl fmt::Display for SimEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request { ip, record } => {
                write!(f, "{ip} {} {}", record.method, record.path)?;
                for part in [&record.action, &record.class] {
                    if !part.is_empty() {
                        write!(f, " {part}")?;
                    }
                }
                if record.status == 0 {
                    f.write_str(" no answer")
                } else {
                    write!(f, " {}", record.status)
                }
            }
            Self::Boot { ip, record } => {
                let why = if record.one_shot {
                    "one-shot override"
                } else {
                    "default"
                };
                write!(f, "{ip} boot from {} ({why})", record.device)
            }
            Self::Power { ip, from, to } => write!(f, "{ip} power {from} -> {to}"),
            Self::Locked { ip } => write!(f, "{ip} account locked after repeated failed logins"),
            Self::SolOpened { ip, auth } => write!(f, "{ip} sol session opened ({auth})"),
            Self::SolRefused { ip, reason } => write!(f, "{ip} sol session refused: {reason}"),
            Self::SolClosed {
                ip,
                to_host,
                from_host,
                reason,
            } => write!(
                f,
                "{ip} sol session closed: {reason} ({to_host} bytes typed, {from_host} bytes printed)"
            ),
            Self::PowerRefused { ip, requested } => write!(
                f,
                "{ip} power change to {requested} refused: a SOL session is open"
            ),
            Self::Vm { ip, note } => write!(f, "{ip} {note}"),
        }
    }
}

/// Request counters over all boards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Requests answered by all boards.
    pub requests: u64,
    /// 401 answers by all boards.
    pub unauthorized: u64,
    /// The most requests any single board answered.
    pub max_requests_per_board: u64,
    /// The most 401 answers any single board sent.
    pub max_unauthorized_per_board: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines() {
        let ip = Ipv4Addr::new(127, 0, 10, 5);
        let boot = SimEvent::Boot {
            ip,
            record: BootRecord {
                time: SystemTime::UNIX_EPOCH,
                device: BootDevice::Pxe,
                one_shot: true,
            },
        };
        assert_eq!(
            boot.to_string(),
            "127.0.10.5 boot from pxe (one-shot override)"
        );
        let power = SimEvent::Power { ip, from: 2, to: 8 };
        assert_eq!(power.to_string(), "127.0.10.5 power 2 -> 8");
        let req = SimEvent::Request {
            ip,
            record: RequestRecord {
                time: SystemTime::UNIX_EPOCH,
                method: "POST".into(),
                path: "/wsman".into(),
                action: "Get".into(),
                class: "CIM_AssociatedPowerManagementService".into(),
                status: 200,
                authenticated: true,
            },
        };
        assert_eq!(
            req.to_string(),
            "127.0.10.5 POST /wsman Get CIM_AssociatedPowerManagementService 200"
        );
        let sol = SimEvent::SolOpened {
            ip,
            auth: SolAuth::Digest,
        };
        assert_eq!(sol.to_string(), "127.0.10.5 sol session opened (digest)");
        let closed = SimEvent::SolClosed {
            ip,
            to_host: 5,
            from_host: 1200,
            reason: "closed by the client".into(),
        };
        assert_eq!(
            closed.to_string(),
            "127.0.10.5 sol session closed: closed by the client (5 bytes typed, 1200 bytes printed)"
        );
        let vm = SimEvent::Vm {
            ip,
            note: "VM stopped by itself: guest-shutdown".into(),
        };
        assert_eq!(
            vm.to_string(),
            "127.0.10.5 VM stopped by itself: guest-shutdown"
        );
    }
}
