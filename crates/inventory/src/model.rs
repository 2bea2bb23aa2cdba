//! The inventory's records: racks, machines (the boards, each running one Dom0), DomU guests
//! and the event log, and the machine state machine.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

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

/// A rack: a named group of machines sharing an address pool and a hostname scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rack {
    pub name: String,
    pub site: String,
    pub pool: String,
    pub hostname_scheme: String,
}

/// A board and the Dom0 it runs: the board's AMT endpoint and identity, the Dom0's hostname
/// and address, the matched hardware profile and the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    pub hostname: String,
    pub address: String,
    pub rack: String,
    pub site: String,
    pub slot: i64,
    pub amt_address: String,
    pub uuid: String,
    pub serial: String,
    pub board_maker: String,
    pub board_model: String,
    pub mac: Option<String>,
    pub memory_bytes: i64,
    pub disks: i64,
    pub ssds: i64,
    /// The matched hardware profile; `None` when none matched (see `profile_note`).
    pub profile: Option<String>,
    /// Why no profile matched.
    pub profile_note: Option<String>,
    pub storage: Option<String>,
    pub role: Option<String>,
    pub dom0_memory_mib: Option<i64>,
    /// The netboot profile this machine boots while being provisioned.
    pub netboot: Option<String>,
    /// SHA-256 of the board's TLS certificate (hex), pinned at enrolment.
    pub tls_pin: Option<String>,
    /// The name of the credential set the AMT password comes from (never the password).
    pub credential_set: String,
    pub state: MachineState,
    /// The hardware inventory as the board reported it (JSON).
    pub hardware: serde_json::Value,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A DomU guest, a child of one Dom0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guest {
    pub name: String,
    pub address: String,
    /// Hostname of the Dom0 it runs on.
    pub dom0: String,
    pub role: String,
    pub memory_mib: i64,
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

/// What a board reported at enrolment, as the inventory keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardFacts {
    pub amt_address: String,
    pub uuid: String,
    pub serial: String,
    pub board_maker: String,
    pub board_model: String,
    pub mac: Option<String>,
    pub memory_bytes: u64,
    /// One entry per disk: `true` for a solid-state disk.
    pub disks: Vec<bool>,
    pub tls_pin: Option<String>,
    /// The full hardware inventory (JSON), shown by `metal show`.
    pub hardware: serde_json::Value,
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
    fn names_round_trip() {
        for st in MachineState::ALL {
            assert_eq!(st.as_str().parse::<MachineState>().unwrap(), st);
        }
        assert!("running".parse::<MachineState>().is_err());
    }
}
