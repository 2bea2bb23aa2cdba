//! The inventory's records: racks, machines (the boards, each running one Dom0), DomU guests
//! and the event log, and the machine state machine.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use metal_types::MacAddr;
use metal_types::hardware::Hardware;
use serde::Serialize;

use crate::Error;
use crate::naming;

/// Where a machine is in its life.
///
/// ```text
///   new ──► enrolled ──► provisioning ──► deployed
///    │         ▲  │            │  ▲          │
///    │         │  └────────────┼──┼──────────┤
///    ▼         │               ▼  │          ▼
///  retired ◄── broken ◄──────────────────────┘
/// ```
/// `new`: recorded, but no hardware profile matches (the reason is kept) so it is never
/// provisioned. `enrolled`: matched and addressed, waiting to be netbooted. `provisioning`:
/// netbooting or installing. `deployed`: running its Dom0. `broken`: taken out of service
/// until repaired (back to `enrolled`). `retired`: gone for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MachineState {
    New,
    Enrolled,
    Provisioning,
    Deployed,
    Broken,
    Retired,
}

impl MachineState {
    pub const ALL: [MachineState; 6] = [
        Self::New,
        Self::Enrolled,
        Self::Provisioning,
        Self::Deployed,
        Self::Broken,
        Self::Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Enrolled => "enrolled",
            Self::Provisioning => "provisioning",
            Self::Deployed => "deployed",
            Self::Broken => "broken",
            Self::Retired => "retired",
        }
    }

    /// Whether a machine may go from `self` to `to`.
    pub fn allows(self, to: MachineState) -> bool {
        use MachineState::*;
        matches!(
            (self, to),
            (New, Enrolled | Broken | Retired)
                | (Enrolled, Provisioning | Broken | Retired)
                | (Provisioning, Deployed | Enrolled | Broken)
                | (Deployed, Provisioning | Broken | Retired)
                | (Broken, Enrolled | Retired)
        )
    }
}

impl fmt::Display for MachineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no machine state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown machine state {0:?} (new, enrolled, provisioning, deployed, broken, retired)")]
pub struct StateParseError(pub String);

impl FromStr for MachineState {
    type Err = StateParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| StateParseError(s.to_string()))
    }
}

/// How a Dom0's disks are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Storage {
    /// No local disks: the Dom0 image runs from RAM, netbooted every time.
    Diskless,
    /// Four (or more, an even number) disks in RAID-10.
    Raid10,
    /// Two or more SSDs striped in RAID-0.
    SsdRaid0,
}

impl Storage {
    pub const ALL: [Storage; 3] = [Self::Diskless, Self::Raid10, Self::SsdRaid0];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Diskless => "diskless",
            Self::Raid10 => "raid10",
            Self::SsdRaid0 => "ssd-raid0",
        }
    }
}

impl std::fmt::Display for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Storage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "storage layout {s:?}: expected diskless, raid10 or ssd-raid0"
                ))
            })
    }
}

/// A rack: a named group of machines sharing an address pool and a hostname scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rack {
    pub name: String,
    pub site: String,
    pub pool: IpNet,
    pub hostname_scheme: String,
}

/// What a machine or guest is for, as hardware profiles and guests name it (`compute`,
/// `storage`, `web` …): a DNS label in lower case, since it becomes a Nagios hostgroup and a
/// Prometheus label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Role(String);

impl Role {
    /// The role named `name`, if it is a lower-case DNS label (RFC 1123 §2.1).
    pub fn new(name: &str) -> Result<Role, Error> {
        if naming::valid_label(name) && !name.bytes().any(|b| b.is_ascii_uppercase()) {
            Ok(Role(name.to_string()))
        } else {
            Err(Error::Invalid(format!(
                "role {name:?}: use lower-case letters, digits and '-' (at most 63)"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::new(s)
    }
}

/// The SHA-256 of a board's TLS certificate (DER), as pinned at enrolment. Shown and stored as
/// 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsPin(pub [u8; 32]);

impl fmt::Display for TlsPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TlsPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsPin({self})")
    }
}

impl FromStr for TlsPin {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Error::Invalid(format!("TLS pin {s:?}: expected 64 hex digits (SHA-256)"));
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad());
        }
        let mut pin = [0u8; 32];
        for (i, byte) in pin.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(TlsPin(pin))
    }
}

impl Serialize for TlsPin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A board and the Dom0 it runs: the board's AMT endpoint and identity, the Dom0's hostname
/// and address, the matched hardware profile and the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    pub hostname: String,
    /// The Dom0's address, from the rack's pool.
    pub address: IpAddr,
    pub rack: String,
    pub site: String,
    pub slot: u32,
    /// Where the board's AMT answers.
    pub amt_address: IpAddr,
    /// SMBIOS system UUID, canonical lower-case form.
    pub uuid: String,
    pub serial: String,
    pub board_maker: String,
    pub board_model: String,
    /// The wired NIC's MAC, which netboots.
    pub mac: Option<MacAddr>,
    pub memory_bytes: u64,
    pub disks: u32,
    pub ssds: u32,
    /// The matched hardware profile; `None` when none matched (see `profile_note`).
    pub profile: Option<String>,
    /// Why no profile matched.
    pub profile_note: Option<String>,
    pub storage: Option<Storage>,
    pub role: Option<Role>,
    pub dom0_memory_mib: Option<u32>,
    /// The root volume its profile asks for (GiB); `None`: the plan's default.
    pub root_gib: Option<u32>,
    /// The netboot profile this machine boots while being provisioned.
    pub netboot: Option<String>,
    /// The board's TLS certificate, pinned at enrolment.
    pub tls_pin: Option<TlsPin>,
    /// The name of the credential set the AMT password comes from (never the password).
    pub credential_set: String,
    pub state: MachineState,
    /// The hardware inventory as the board reported it.
    pub hardware: Hardware,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What a list of machines shows of each (the dashboard's racks and pages): a [`Machine`]
/// without its hardware record, pin and provisioning details, read without parsing them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineSummary {
    pub hostname: String,
    pub address: IpAddr,
    pub rack: String,
    pub site: String,
    pub slot: u32,
    pub amt_address: IpAddr,
    pub uuid: String,
    pub serial: String,
    pub board_maker: String,
    pub board_model: String,
    pub mac: Option<MacAddr>,
    pub memory_bytes: u64,
    pub profile: Option<String>,
    pub state: MachineState,
}

impl From<&Machine> for MachineSummary {
    fn from(m: &Machine) -> Self {
        MachineSummary {
            hostname: m.hostname.clone(),
            address: m.address,
            rack: m.rack.clone(),
            site: m.site.clone(),
            slot: m.slot,
            amt_address: m.amt_address,
            uuid: m.uuid.clone(),
            serial: m.serial.clone(),
            board_maker: m.board_maker.clone(),
            board_model: m.board_model.clone(),
            mac: m.mac,
            memory_bytes: m.memory_bytes,
            profile: m.profile.clone(),
            state: m.state,
        }
    }
}

/// A DomU guest, a child of one Dom0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guest {
    pub name: String,
    pub address: IpAddr,
    /// Hostname of the Dom0 it runs on.
    pub dom0: String,
    pub role: Role,
    pub memory_mib: u32,
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub at_ms: i64,
    /// The machine's hostname (or the guest's name).
    pub subject: String,
    pub actor: String,
    pub from: Option<MachineState>,
    pub to: Option<MachineState>,
    pub reason: String,
}

/// What a board reported at enrolment, as the inventory keeps it: where it answered, the TLS
/// certificate it showed (if it serves TLS) and its hardware record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardFacts {
    pub amt_address: IpAddr,
    pub tls_pin: Option<TlsPin>,
    pub hardware: Hardware,
}

impl BoardFacts {
    pub fn uuid(&self) -> &str {
        &self.hardware.uuid
    }

    /// The chassis serial number.
    pub fn serial(&self) -> &str {
        &self.hardware.chassis.serial
    }

    /// Number of disks, and of those solid-state.
    pub fn disk_counts(&self) -> (u32, u32) {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let disks = &self.hardware.disks;
        (
            count(disks.len()),
            count(disks.iter().filter(|d| d.ssd).count()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use MachineState::*;
        assert!(New.allows(Enrolled));
        assert!(Enrolled.allows(Provisioning));
        assert!(Provisioning.allows(Deployed));
        assert!(Deployed.allows(Broken));
        assert!(Broken.allows(Enrolled));
        for to in MachineState::ALL {
            assert!(!Retired.allows(to), "retired is final");
            assert!(!to.allows(to), "{to} to itself");
        }
        assert!(!New.allows(Deployed));
        assert!(!Enrolled.allows(Deployed));
        assert!(!New.allows(Provisioning));
    }

    #[test]
    fn pins_and_roles_parse_and_refuse() {
        let hex = "ab".repeat(32);
        let pin: TlsPin = hex.parse().unwrap();
        assert_eq!(pin.0, [0xab; 32]);
        assert_eq!(pin.to_string(), hex);
        assert!("ab".parse::<TlsPin>().is_err());
        assert!("zz".repeat(32).parse::<TlsPin>().is_err());
        assert_eq!(Role::new("web-1").unwrap().as_str(), "web-1");
        for bad in ["", "Web", "a b", "x\ndefine", "-a"] {
            assert!(Role::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for st in MachineState::ALL {
            assert_eq!(st.as_str().parse::<MachineState>().unwrap(), st);
        }
        assert!("running".parse::<MachineState>().is_err());
    }
}
