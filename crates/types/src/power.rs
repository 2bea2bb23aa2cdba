//! Power states and power actions, with the DMTF CIM_PowerManagementService values AMT uses.
//!
//! Values: DMTF DSP1027 (Power State Management Profile) `PowerState` value map, as AMT
//! implements it (Intel AMT Implementation and Reference Guide, "Change System Power State").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A power state as read back from `CIM_AssociatedPowerManagementService.PowerState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PowerState {
    /// 2: S0, running.
    On,
    /// 3 (light) or 4 (deep, S3): sleeping.
    Sleep,
    /// 7: S4, hibernated.
    Hibernate,
    /// 6 or 8 (S5): off.
    Off,
    /// Any other value the firmware reports, kept as is.
    Other(u16),
}

impl PowerState {
    /// Interprets a DMTF `PowerState` value.
    pub fn from_cim(v: u16) -> Self {
        match v {
            2 => Self::On,
            3 | 4 => Self::Sleep,
            7 => Self::Hibernate,
            6 | 8 | 13 => Self::Off,
            other => Self::Other(other),
        }
    }

    /// The canonical DMTF value for this state.
    pub fn to_cim(self) -> u16 {
        match self {
            Self::On => 2,
            Self::Sleep => 4,
            Self::Hibernate => 7,
            Self::Off => 8,
            Self::Other(v) => v,
        }
    }
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::On => f.write_str("on"),
            Self::Sleep => f.write_str("sleep"),
            Self::Hibernate => f.write_str("hibernate"),
            Self::Off => f.write_str("off"),
            Self::Other(v) => write!(f, "state-{v}"),
        }
    }
}

/// A power change `metal` can request, i.e. the `PowerState` argument of
/// `CIM_PowerManagementService.RequestPowerStateChange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PowerAction {
    /// 2: Power On.
    On,
    /// 5: Power Cycle (Off Soft) — AMT performs a hard power cycle.
    Cycle,
    /// 8: Power Off - Soft — AMT powers off immediately.
    Off,
    /// 10: Master Bus Reset — a hardware reset.
    Reset,
    /// 12: Power Off - Soft Graceful — an OS shutdown, needs the OS agent.
    SoftOff,
    /// 14: Master Bus Reset Graceful — an OS reboot, needs the OS agent.
    SoftReset,
}

impl PowerAction {
    /// Every action, in CLI order.
    pub const ALL: [PowerAction; 6] = [
        Self::On,
        Self::Off,
        Self::Cycle,
        Self::Reset,
        Self::SoftOff,
        Self::SoftReset,
    ];

    /// The DMTF value sent in RequestPowerStateChange.
    pub fn to_cim(self) -> u16 {
        match self {
            Self::On => 2,
            Self::Cycle => 5,
            Self::Off => 8,
            Self::Reset => 10,
            Self::SoftOff => 12,
            Self::SoftReset => 14,
        }
    }

    /// The state the board settles in once the action has completed.
    pub fn target_state(self) -> PowerState {
        match self {
            Self::Off | Self::SoftOff => PowerState::Off,
            Self::On | Self::Cycle | Self::Reset | Self::SoftReset => PowerState::On,
        }
    }

    /// The CLI spelling (`soft-off`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Cycle => "cycle",
            Self::Off => "off",
            Self::Reset => "reset",
            Self::SoftOff => "soft-off",
            Self::SoftReset => "soft-reset",
        }
    }
}

impl fmt::Display for PowerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PowerAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("unknown power action {s:?}"))
    }
}

/// A one-shot boot device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootDevice {
    /// Network boot (`Intel(r) AMT: Force PXE Boot`).
    Pxe,
    /// Local disk (`Intel(r) AMT: Force Hard-drive Boot`).
    Disk,
}

impl BootDevice {
    /// The CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pxe => "pxe",
            Self::Disk => "disk",
        }
    }
}

impl fmt::Display for BootDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_values_match_dmtf() {
        let values: Vec<u16> = PowerAction::ALL.iter().map(|a| a.to_cim()).collect();
        assert_eq!(values, vec![2, 8, 5, 10, 12, 14]);
        assert_eq!(
            "soft-reset".parse::<PowerAction>().unwrap(),
            PowerAction::SoftReset
        );
        assert!("halt".parse::<PowerAction>().is_err());
    }

    #[test]
    fn states_round_trip() {
        for v in [2u16, 4, 7, 8] {
            assert_eq!(PowerState::from_cim(v).to_cim(), v);
        }
        assert_eq!(PowerState::from_cim(99), PowerState::Other(99));
        assert_eq!(PowerState::from_cim(8).to_string(), "off");
    }
}
