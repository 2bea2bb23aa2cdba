//! Simulator configuration and firmware version profiles.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::time::Duration;

use crate::control::ControlByBoard;
use crate::identity::HardwareKind;
use crate::qemu::QemuBoards;

/// The firmware generation a simulated board pretends to be.
///
/// The profile decides the version strings (`Server:` header, `CIM_SoftwareIdentity`,
/// Identify's `ProductVersion`) and a few behaviours that differ between generations
/// (amt-protocol.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// AMT 9.1 (Haswell era).
    Amt9,
    /// AMT 11.8 (Skylake/Kaby Lake).
    Amt11,
    /// AMT 12.0, the firmware of the recorded fixtures (tests/fixtures/amt-wsman).
    #[default]
    Amt12,
    /// AMT 16.1 as some OEMs ship it: TLS only (16992 closed), and an empty `<Source/>` in
    /// `ChangeBootOrder` is a schema violation (amt-protocol.md §6).
    Amt16TlsOnly,
}

impl Profile {
    /// Every profile, oldest first.
    pub const ALL: [Profile; 4] = [Self::Amt9, Self::Amt11, Self::Amt12, Self::Amt16TlsOnly];

    /// The CLI spelling (`amt-12`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Amt9 => "amt-9",
            Self::Amt11 => "amt-11",
            Self::Amt12 => "amt-12",
            Self::Amt16TlsOnly => "amt-16-tls-only",
        }
    }

    /// The full firmware version `major.minor.hotfix.build`.
    pub fn version(self) -> &'static str {
        match self {
            Self::Amt9 => "9.1.41.3024",
            Self::Amt11 => "11.8.50.3425",
            Self::Amt12 => "12.0.67.1579",
            Self::Amt16TlsOnly => "16.1.25.1917",
        }
    }

    /// `major.minor.hotfix`, as `CIM_SoftwareIdentity.VersionString` reports it.
    pub fn short_version(self) -> &'static str {
        let v = self.version();
        v.rsplit_once('.').map_or(v, |(head, _)| head)
    }

    /// The build number, as the `Build Number` software identity reports it.
    pub fn build(self) -> &'static str {
        let v = self.version();
        v.rsplit_once('.').map_or(v, |(_, build)| build)
    }

    /// `major.minor`, as Identify's `ProductVersion` carries it (amt-protocol.md §2a).
    pub fn major_minor(self) -> &'static str {
        let v = self.short_version();
        v.rsplit_once('.').map_or(v, |(head, _)| head)
    }

    /// Whether the plain-HTTP port 16992 is closed.
    pub fn tls_only(self) -> bool {
        matches!(self, Self::Amt16TlsOnly)
    }

    /// Whether an empty `<h:Source/>` in `ChangeBootOrder` is answered with a schema fault.
    pub fn rejects_empty_boot_source(self) -> bool {
        matches!(self, Self::Amt16TlsOnly)
    }

    /// The firmware `(major, minor)` in the StartRedirectionSessionReply (amt-protocol.md
    /// §2c: captured `0b 08` from AMT 11.8 and `0c 00` from AMT 12.0).
    pub fn firmware_major_minor(self) -> (u8, u8) {
        match self {
            Self::Amt9 => (9, 1),
            Self::Amt11 => (11, 8),
            Self::Amt12 => (12, 0),
            Self::Amt16TlsOnly => (16, 1),
        }
    }

    /// The redirection authentication methods offered to a query (amt-protocol.md §2c: 1
    /// plain, 4 RFC 2617 digest; "AMT 11+ offers only `04`"). Firmware before AMT 11 also
    /// takes plain user/password (issue 3).
    pub fn redirection_auth_methods(self) -> &'static [u8] {
        match self {
            Self::Amt9 => &[1, 4],
            Self::Amt11 | Self::Amt12 | Self::Amt16TlsOnly => &[4],
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown AMT profile {0:?} (expected amt-9, amt-11, amt-12 or amt-16-tls-only)")]
pub struct ProfileParseError(pub String);

impl FromStr for Profile {
    type Err = ProfileParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| ProfileParseError(s.to_string()))
    }
}

/// How to run a rack of simulated boards.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of boards.
    pub boards: usize,
    /// Address of board 0; board `i` listens on `first_ip + i`.
    pub first_ip: Ipv4Addr,
    /// The AMT admin user (digest username).
    pub user: String,
    /// The AMT admin password.
    pub password: String,
    /// Delay added before every response, 401s included.
    pub latency: Duration,
    /// Firmware generation.
    pub profile: Profile,
    /// Also serve WS-Man over TLS on `tls_port` (always on for [`Profile::Amt16TlsOnly`]).
    pub tls: bool,
    /// Plain HTTP port (16992 on real firmware).
    pub http_port: u16,
    /// TLS port (16993 on real firmware).
    pub tls_port: u16,
    /// How long a power change keeps the board busy before the new state shows.
    pub transition: Duration,
    /// Consecutive failed digest logins before the account locks; 0 disables the lockout.
    pub lockout_threshold: u32,
    /// How long the account stays locked.
    pub lockout: Duration,
    /// Maximum number of items in one Pull response, whatever MaxElements says.
    pub page_size: usize,
    /// Seed of the board identities (UUID, serial, MAC, digest realm).
    pub seed: u64,
    /// Serial-over-LAN (redirection protocol) port (16994 on real firmware); served when
    /// `http_port` is, i.e. not by [`Profile::Amt16TlsOnly`].
    pub sol_port: u16,
    /// Serial-over-LAN over TLS (16995 on real firmware), with the board's certificate;
    /// served whenever `tls_port` is.
    pub sol_tls_port: u16,
    /// Interval of the `0x2B` heartbeats a board sends in a SOL session (MeshCommander uses
    /// 2 s, amt-protocol.md §2c). A session whose client stays silent for five intervals is
    /// closed. Zero disables both.
    pub sol_heartbeat: Duration,
    /// How long the host takes to print its boot sequence (BIOS banner to `login:`), spread
    /// over the lines.
    pub boot_output_delay: Duration,
    /// Whether SOL starts enabled (`AMT_RedirectionService.EnabledState` 32771) or
    /// disabled (32768, SOL and IDE-R off). `ListenerEnabled` starts true either way.
    pub sol_enabled: bool,
    /// What some boards report instead of their identity's values.
    pub reports: ReportsByBoard,
    /// Each board's control mode and user-consent policy.
    pub control: ControlByBoard,
    /// Every board of this model; `None`: the models by turns (board index % 3).
    pub hardware: Option<HardwareKind>,
    /// Back every board's host with a QEMU VM (see [`QemuBoards`]) instead of the simulated
    /// console; such boards start powered off.
    pub qemu: Option<QemuBoards>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            boards: 1,
            first_ip: Ipv4Addr::new(127, 0, 10, 1),
            user: "admin".to_string(),
            password: "P@ssw0rd".to_string(),
            latency: Duration::ZERO,
            profile: Profile::Amt12,
            tls: false,
            http_port: 16992,
            tls_port: 16993,
            transition: Duration::from_secs(1),
            lockout_threshold: 5,
            lockout: Duration::from_secs(60),
            page_size: 999,
            seed: 0,
            sol_port: 16994,
            sol_tls_port: 16995,
            sol_heartbeat: Duration::from_secs(2),
            boot_output_delay: Duration::from_millis(1500),
            sol_enabled: true,
            reports: Default::default(),
            control: Default::default(),
            hardware: None,
            qemu: None,
        }
    }
}

impl SimConfig {
    /// Whether boards listen on `http_port`.
    pub fn serves_http(&self) -> bool {
        !self.profile.tls_only()
    }

    /// Whether boards listen on `tls_port`.
    pub fn serves_tls(&self) -> bool {
        self.tls || self.profile.tls_only()
    }
}

/// One board's replacements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reports {
    /// `(class, property, value)`: every instance of `class` (or of a subclass it enumerates)
    /// reports `value` for `property`, which it must already have.
    pub properties: Vec<(String, String, String)>,
    /// `(class, n)`: `class` has `n` instances, copies of its first.
    pub copies: Vec<(String, usize)>,
}

/// Replacements by board address.
pub type ReportsByBoard = HashMap<Ipv4Addr, Reports>;

impl Reports {
    /// Parses `CLASS.PROPERTY=VALUE` (the value may hold anything, `=` and newlines too).
    pub fn add_property(&mut self, spec: &str) -> Result<(), String> {
        let (target, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected CLASS.PROPERTY=VALUE"))?;
        let (class, property) = target
            .split_once('.')
            .ok_or_else(|| format!("{target:?}: expected CLASS.PROPERTY"))?;
        self.properties
            .push((class.to_string(), property.to_string(), value.to_string()));
        Ok(())
    }

    /// Parses `CLASS=N`.
    pub fn add_copies(&mut self, spec: &str) -> Result<(), String> {
        let (class, n) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected CLASS=N"))?;
        let n = n
            .parse()
            .map_err(|_| format!("{spec:?}: N must be a count"))?;
        self.copies.push((class.to_string(), n));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_round_trip_and_split_versions() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>().unwrap(), p);
        }
        assert!("amt-13".parse::<Profile>().is_err());
        assert_eq!(Profile::Amt12.short_version(), "12.0.67");
        assert_eq!(Profile::Amt12.build(), "1579");
        assert_eq!(Profile::Amt11.major_minor(), "11.8");
        for p in Profile::ALL {
            let (major, minor) = p.firmware_major_minor();
            assert_eq!(format!("{major}.{minor}"), p.major_minor());
        }
    }
}
