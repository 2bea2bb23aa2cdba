//! How a board was activated and what its user consent covers: the one fact that decides
//! whether a board can be run unattended.
//!
//! `AMT_SetupAndConfigurationService` (Intel AMT SDK; go-wsman-messages
//! `amt/setupandconfiguration/decoder.go`): `ProvisioningState` 0 pre-provisioning, 1 in
//! provisioning, 2 post-provisioning; `ProvisioningMode` 1 Admin Control Mode, 4 Client
//! Control Mode. `IPS_OptInService.OptInRequired`: 0 none, 1 KVM only, 4294967295 all
//! (KVM, SOL, IDE-R and boot source changes). In CCM consent is always required, and the
//! boot-options call still answers success when the user never enters the code
//! (bringup.md "Factory acceptance and AMT control modes").

use metal_wsman::Instance;
use serde::Serialize;

use crate::classes::{self, OPT_IN_SERVICE, SETUP_AND_CONFIGURATION_SERVICE};
use crate::{Amt, Error};

/// The control mode AMT was activated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlMode {
    /// Admin Control Mode.
    Acm,
    /// Client Control Mode.
    Ccm,
    /// Not activated (ProvisioningState 0 or 1).
    Unprovisioned,
}

/// What the user must consent to with a code shown on the board's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    None,
    Kvm,
    All,
}

/// A board's activation as AMT reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Activation {
    pub mode: ControlMode,
    pub consent: Consent,
    /// Whether the consent policy can be changed (`CanModifyOptInPolicy`; ACM only).
    pub consent_changeable: bool,
}

impl Activation {
    /// From the two classes' values.
    pub fn from_values(
        provisioning_state: u32,
        provisioning_mode: u32,
        opt_in_required: u32,
        can_modify: u32,
    ) -> Result<Self, String> {
        let mode = match (provisioning_state, provisioning_mode) {
            (0 | 1, _) => ControlMode::Unprovisioned,
            (2, 1) => ControlMode::Acm,
            (2, 4) => ControlMode::Ccm,
            (2, other) => return Err(format!("ProvisioningMode {other} is not a known value")),
            (other, _) => return Err(format!("ProvisioningState {other} is not a known value")),
        };
        let consent = match opt_in_required {
            0 => Consent::None,
            1 => Consent::Kvm,
            u32::MAX => Consent::All,
            other => return Err(format!("OptInRequired {other} is not a known value")),
        };
        Ok(Self {
            mode,
            consent,
            consent_changeable: can_modify == 1,
        })
    }

    /// Why this board cannot be run unattended (PXE and SOL without anyone at its screen),
    /// or `None` when it can.
    pub fn unattended_blocker(&self) -> Option<String> {
        match (self.mode, self.consent) {
            (ControlMode::Unprovisioned, _) => Some(
                "AMT is not activated: activate it in admin control mode (MEBx or a USB setup.bin)"
                    .into(),
            ),
            (ControlMode::Ccm, _) => Some(
                "client control mode: user consent would block PXE and SOL (activate in admin control mode with consent none)"
                    .into(),
            ),
            (ControlMode::Acm, Consent::All) => Some(
                "user consent would block PXE and SOL: set user opt-in to none in MEBx".into(),
            ),
            (ControlMode::Acm, Consent::None | Consent::Kvm) => None,
        }
    }
}

impl Amt {
    /// Reads the control mode and the user-consent policy.
    pub async fn activation(&mut self) -> Result<Activation, Error> {
        let setup = self
            .client
            .get(&classes::uri(SETUP_AND_CONFIGURATION_SERVICE), Vec::new())
            .await?;
        let opt_in = self
            .client
            .get(&classes::uri(OPT_IN_SERVICE), Vec::new())
            .await?;
        let read = || -> Result<Activation, String> {
            let num = |e: &metal_wsman::Element, name: &str| -> Result<u32, String> {
                e.prop_num(name).map_err(|err| err.to_string())
            };
            let state = num(&setup, "ProvisioningState")?;
            // An unprovisioned board may leave the mode out.
            let mode = if state == 2 {
                num(&setup, "ProvisioningMode")?
            } else {
                0
            };
            let required = num(&opt_in, "OptInRequired")?;
            let can_modify = num(&opt_in, "CanModifyOptInPolicy").unwrap_or(0);
            Activation::from_values(state, mode, required, can_modify)
        };
        read().map_err(|e| self.data(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_acm_without_consent_for_redirection_runs_unattended() {
        let acm = Activation::from_values(2, 1, 0, 1).unwrap();
        assert_eq!(acm.mode, ControlMode::Acm);
        assert_eq!(acm.unattended_blocker(), None);
        assert_eq!(
            Activation::from_values(2, 1, 1, 1)
                .unwrap()
                .unattended_blocker(),
            None
        );
        let all = Activation::from_values(2, 1, u32::MAX, 1).unwrap();
        assert!(
            all.unattended_blocker()
                .unwrap()
                .contains("user consent would block PXE and SOL")
        );
        let ccm = Activation::from_values(2, 4, u32::MAX, 0).unwrap();
        assert_eq!(ccm.mode, ControlMode::Ccm);
        assert!(
            ccm.unattended_blocker()
                .unwrap()
                .contains("user consent would block PXE and SOL")
        );
        assert_eq!(
            Activation::from_values(0, 0, 0, 0).unwrap().mode,
            ControlMode::Unprovisioned
        );
        assert!(Activation::from_values(2, 3, 0, 0).is_err());
        assert!(Activation::from_values(2, 1, 7, 0).is_err());
    }
}
