//! How a board was activated (its AMT control mode) and when it asks the user for consent:
//! what `AMT_SetupAndConfigurationService` and `IPS_OptInService` report, and what consent
//! blocks.
//!
//! Facts (bringup.md "Factory acceptance and AMT control modes"; Intel's AMT SDK class
//! reference; go-wsman-messages `amt/setupandconfiguration/decoder.go`):
//! - `ProvisioningMode` 1 is Admin Control Mode, 4 Client Control Mode;
//!   `ProvisioningState` 2 is post-provisioning (activated).
//! - `IPS_OptInService.OptInRequired` 0 asks for no consent, 1 for KVM only, 4294967295
//!   for every redirection (KVM, SOL, IDE-R) and for changing the boot source.
//! - A board in CCM always requires consent for all of them; only ACM may turn it off.
//! - Without the six-digit code shown on the board's screen, a SOL session does not start
//!   and a one-shot boot source is ignored, although `ChangeBootOrder` answers success.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The AMT control mode a board was activated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ControlMode {
    /// Admin Control Mode: MEBx, a USB setup.bin, or a provisioning certificate.
    #[default]
    Acm,
    /// Client Control Mode: activated from the host OS, with less trust.
    Ccm,
}

impl ControlMode {
    /// `AMT_SetupAndConfigurationService.ProvisioningMode`.
    pub(crate) fn provisioning_mode(self) -> u32 {
        match self {
            Self::Acm => 1,
            Self::Ccm => 4,
        }
    }
}

/// What user consent (`IPS_OptInService.OptInRequired`) covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// No consent asked for anything (ACM only).
    None,
    /// Consent for KVM sessions only.
    Kvm,
    /// Consent for every redirection and for boot source changes.
    All,
}

impl Consent {
    /// `IPS_OptInService.OptInRequired`.
    pub(crate) fn opt_in_required(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Kvm => 1,
            Self::All => u32::MAX,
        }
    }
}

/// A board's mode and consent policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    pub mode: ControlMode,
    pub consent: Consent,
}

impl Default for Control {
    fn default() -> Self {
        Self {
            mode: ControlMode::Acm,
            consent: Consent::None,
        }
    }
}

impl Control {
    /// A mode with its consent policy; CCM cannot turn consent for redirection off.
    pub fn new(mode: ControlMode, consent: Option<Consent>) -> Result<Self, ControlError> {
        let consent = match (mode, consent) {
            (ControlMode::Ccm, Some(Consent::None | Consent::Kvm)) => {
                return Err(ControlError(
                    "a board in client control mode always asks consent for SOL and boot changes"
                        .into(),
                ));
            }
            (ControlMode::Ccm, _) => Consent::All,
            (ControlMode::Acm, c) => c.unwrap_or(Consent::None),
        };
        Ok(Self { mode, consent })
    }

    /// Whether SOL sessions and boot source changes wait for a code nobody types.
    pub(crate) fn blocks_redirection(self) -> bool {
        self.consent == Consent::All
    }
}

/// Mode and consent of every board: one default, and exceptions by address.
#[derive(Debug, Clone, Default)]
pub struct ControlByBoard {
    pub default: Control,
    pub boards: HashMap<Ipv4Addr, Control>,
}

impl ControlByBoard {
    /// The board at `ip`.
    pub(crate) fn of(&self, ip: Ipv4Addr) -> Control {
        self.boards.get(&ip).copied().unwrap_or(self.default)
    }
}

/// A mode or consent setting that cannot be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ControlError(pub String);

impl FromStr for ControlMode {
    type Err = ControlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "acm" => Ok(Self::Acm),
            "ccm" => Ok(Self::Ccm),
            other => Err(ControlError(format!(
                "unknown control mode {other:?} (expected acm or ccm)"
            ))),
        }
    }
}

impl FromStr for Consent {
    type Err = ControlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "kvm" => Ok(Self::Kvm),
            "all" => Ok(Self::All),
            other => Err(ControlError(format!(
                "unknown consent {other:?} (expected none, kvm or all)"
            ))),
        }
    }
}

impl fmt::Display for ControlMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Acm => "acm",
            Self::Ccm => "ccm",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ccm_always_asks_consent_and_acm_defaults_to_none() {
        let ccm = Control::new(ControlMode::Ccm, None).unwrap();
        assert_eq!(ccm.consent, Consent::All);
        assert!(ccm.blocks_redirection());
        assert!(Control::new(ControlMode::Ccm, Some(Consent::None)).is_err());
        let acm = Control::new(ControlMode::Acm, None).unwrap();
        assert_eq!(acm.consent, Consent::None);
        assert!(!acm.blocks_redirection());
        let kvm = Control::new(ControlMode::Acm, Some(Consent::Kvm)).unwrap();
        assert!(!kvm.blocks_redirection());
        assert_eq!(kvm.consent.opt_in_required(), 1);
        assert_eq!(Consent::All.opt_in_required(), 4_294_967_295);
        assert_eq!("ccm".parse::<ControlMode>().unwrap().provisioning_mode(), 4);
        assert!("admin".parse::<ControlMode>().is_err());
    }
}
