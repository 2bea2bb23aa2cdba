//! Power state and power changes (DMTF DSP1027 Power State Management Profile as AMT
//! implements it; amt-protocol.md §2a "PowerState values").
//!
//! A change is checked against `AvailableRequestedPowerStates` first, sent with
//! `CIM_PowerManagementService.RequestPowerStateChange`, and then `PowerState` is polled until
//! the board reports the expected state or the deadline passes. A change is never resent
//! automatically: AMT rejects a second change while the first is in progress (~10 s), and a
//! timed-out request may still have been carried out.

use std::time::Instant;

use metal_types::{PowerAction, PowerState};
use metal_wsman::{Input, Instance, Request, Selector};
use serde::Serialize;

use crate::classes::{
    self, ASSOCIATED_POWER_MANAGEMENT_SERVICE, COMPUTER_SYSTEM, POWER_MANAGEMENT_SERVICE,
};
use crate::{Amt, Error};

/// What the board reports about its power.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PowerStatus {
    pub power: PowerState,
    /// DMTF values of the changes the board accepts now.
    pub available: Vec<u16>,
}

/// The outcome of a power change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PowerChange {
    pub action: PowerAction,
    pub before: PowerState,
    pub power: PowerState,
    /// False when the board already was in the requested state and nothing was sent.
    pub changed: bool,
}

/// Get of the power association, the cheapest read of the power state (one request).
pub fn power_state_request() -> Request {
    Request::get(
        &classes::uri(ASSOCIATED_POWER_MANAGEMENT_SERVICE),
        Vec::new(),
    )
}

/// `RequestPowerStateChange` with `ManagedElement` referring to the managed host
/// (go-wsman-messages `cim/power/managementservice.go`; amt-protocol.md §2a).
pub fn power_change_request(value: u16) -> Request {
    let input = Input::new()
        .param("PowerState", value)
        .reference(
            "ManagedElement",
            &classes::uri(COMPUTER_SYSTEM),
            &[
                Selector::new("CreationClassName", COMPUTER_SYSTEM),
                Selector::new("Name", "ManagedSystem"),
            ],
        )
        .into_xml();
    Request::invoke(
        &classes::uri(POWER_MANAGEMENT_SERVICE),
        "RequestPowerStateChange",
        Vec::new(),
        &input,
    )
}

impl Amt {
    /// Reads `PowerState` and `AvailableRequestedPowerStates`.
    pub async fn power_status(&mut self) -> Result<PowerStatus, Error> {
        let response = self.client.call(&power_state_request()).await?;
        let instance = response.payload().map_err(|e| self.data(e.to_string()))?;
        let value: u16 = instance
            .prop_num("PowerState")
            .map_err(|e| self.data(e.to_string()))?;
        let available = instance
            .props("AvailableRequestedPowerStates")
            .into_iter()
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        Ok(PowerStatus {
            power: PowerState::from_cim(value),
            available,
        })
    }

    /// Requests a power change and waits until the board reports the resulting state.
    pub async fn power(&mut self, action: PowerAction) -> Result<PowerChange, Error> {
        let status = self.power_status().await?;
        let idempotent = matches!(
            action,
            PowerAction::On | PowerAction::Off | PowerAction::SoftOff
        );
        if idempotent && status.power == action.target_state() {
            return Ok(PowerChange {
                action,
                before: status.power,
                power: status.power,
                changed: false,
            });
        }
        self.request_power_change(action, &status).await?;
        let power = self.wait_for(action).await?;
        Ok(PowerChange {
            action,
            before: status.power,
            power,
            changed: true,
        })
    }

    /// Sends the change if the board offers it in `status`.
    pub(crate) async fn request_power_change(
        &mut self,
        action: PowerAction,
        status: &PowerStatus,
    ) -> Result<(), Error> {
        let value = action.to_cim();
        if !status.available.contains(&value) {
            let offered = if status.available.is_empty() {
                "nothing".to_string()
            } else {
                status
                    .available
                    .iter()
                    .map(|v| format!("{} ({v})", describe_value(*v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(Error::Unsupported {
                host: self.host(),
                action,
                value,
                state: status.power,
                offered,
            });
        }
        match self.invoke_ok(&power_change_request(value)).await {
            Err(Error::Wsman(metal_wsman::Error {
                kind: metal_wsman::ErrorKind::MethodFailed { code, .. },
                ..
            })) => Err(Error::PowerRefused {
                host: self.host(),
                action,
                code,
            }),
            other => other,
        }
    }

    /// Polls until the board reports the state `action` ends in.
    pub(crate) async fn wait_for(&mut self, action: PowerAction) -> Result<PowerState, Error> {
        let start = Instant::now();
        let want = action.target_state();
        loop {
            let status = self.power_status().await?;
            if status.power == want {
                return Ok(status.power);
            }
            if start.elapsed() >= self.policy.timeout {
                return Err(Error::PowerTimeout {
                    host: self.host(),
                    action,
                    last: status.power,
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(self.policy.interval).await;
        }
    }
}

/// A name for a DMTF RequestPowerStateChange value, for messages.
pub fn describe_value(v: u16) -> &'static str {
    match v {
        2 => "on",
        4 => "sleep",
        5 => "cycle",
        7 => "hibernate",
        8 => "off",
        10 => "reset",
        11 => "NMI",
        12 => "soft-off",
        14 => "soft-reset",
        _ => "other",
    }
}
