//! One-shot boot override: the next boot (only) from PXE or disk.
//!
//! The sequence is the one MeshCommander (`index.html`, `powerActionResponse1…4`) and Intel's
//! Console (`SetBootOptions`) use, amt-protocol.md §2a "Forcing PXE on the next boot":
//! 1. Get `AMT_BootSettingData`;
//! 2. `ChangeBootOrder` with no `Source` (clears a stale order; some firmware does not clear
//!    it by itself, and AMT 16.1 rejects an empty `<Source/>` element, so none is sent);
//! 3. Put `AMT_BootSettingData` with every boot option off (no BIOS pause/setup, no IDE-R/SOL
//!    redirection, no locks) and the read-only fields MeshCommander drops removed;
//! 4. `SetBootConfigRole` Role=1 (IsNext: the configuration applies to the next boot only);
//! 5. `ChangeBootOrder` with `Source` = the `CIM_BootSourceSetting` to boot;
//! 6. optionally power on (2) if the board is off, or reset (10) if it is on.
//!
//! A forced boot lasts one boot: it has to be set again before every boot it should affect.

use metal_types::{BootDevice, PowerAction, PowerState};
use metal_wsman::{Element, Input, Instance, Request, Selector};
use serde::Serialize;

use crate::classes::{
    self, BOOT_CONFIG_ID, BOOT_CONFIG_SETTING, BOOT_SERVICE, BOOT_SETTING_DATA,
    BOOT_SETTING_DATA_ID, BOOT_SOURCE_SETTING, ORDERED_COMPONENT, SOURCE_DISK, SOURCE_PXE,
};
use crate::{Amt, Error};

/// Boolean options forced to false in step 3 (BIOS pause/setup, redirection, locks ...).
const CLEARED_FLAGS: &[&str] = &[
    "BIOSPause",
    "BIOSSetup",
    "UseIDER",
    "UseSOL",
    "ReflashBIOS",
    "LockKeyboard",
    "LockPowerButton",
    "LockResetButton",
    "LockSleepButton",
    "UseSafeMode",
    "UserPasswordBypass",
    "ConfigurationDataReset",
];

/// Read-only or version-specific fields removed before the Put (MeshCommander's list).
const DROPPED_FIELDS: &[&str] = &[
    "WinREBootEnabled",
    "UEFILocalPBABootEnabled",
    "UEFIHTTPSBootEnabled",
    "SecureBootControlEnabled",
    "BootguardStatus",
    "OptionsCleared",
    "BIOSLastStatus",
    "UefiBootParametersArray",
    "RPEEnabled",
];

/// What `boot` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootOutcome {
    pub device: BootDevice,
    /// `reset` or `on` when `--now` was given, else `None`.
    pub power_action: Option<PowerAction>,
    pub power: PowerState,
}

/// The `CIM_BootSourceSetting` InstanceID for a device.
pub fn source_id(device: BootDevice) -> &'static str {
    match device {
        BootDevice::Pxe => SOURCE_PXE,
        BootDevice::Disk => SOURCE_DISK,
    }
}

fn config_selector() -> Vec<Selector> {
    vec![Selector::new("InstanceID", BOOT_CONFIG_ID)]
}

/// Step 2: `ChangeBootOrder` without a `Source` element.
pub fn clear_boot_order_request() -> Request {
    Request::invoke(
        &classes::uri(BOOT_CONFIG_SETTING),
        "ChangeBootOrder",
        config_selector(),
        "",
    )
}

/// Step 3: the Put of the boot settings read in step 1, with every option off.
pub fn boot_settings_put_request(current: &Element) -> Request {
    let properties: Vec<(String, String)> = current
        .children
        .iter()
        .filter(|p| !DROPPED_FIELDS.contains(&p.name.as_str()))
        .map(|p| {
            let value = if CLEARED_FLAGS.contains(&p.name.as_str()) {
                "false".to_string()
            } else if p.name == "BootMediaIndex" {
                "0".to_string()
            } else {
                p.text.clone()
            };
            (p.name.clone(), value)
        })
        .collect();
    Request::put(
        &classes::uri(BOOT_SETTING_DATA),
        BOOT_SETTING_DATA,
        vec![Selector::new("InstanceID", BOOT_SETTING_DATA_ID)],
        &properties,
    )
}

/// Step 4: `SetBootConfigRole` Role=1 (IsNext).
pub fn set_boot_config_role_request() -> Request {
    let input = Input::new()
        .reference(
            "BootConfigSetting",
            &classes::uri(BOOT_CONFIG_SETTING),
            &config_selector(),
        )
        .param("Role", 1)
        .into_xml();
    Request::invoke(
        &classes::uri(BOOT_SERVICE),
        "SetBootConfigRole",
        Vec::new(),
        &input,
    )
}

/// Step 5: `ChangeBootOrder` with the source to boot.
pub fn change_boot_order_request(device: BootDevice) -> Request {
    let input = Input::new()
        .reference(
            "Source",
            &classes::uri(BOOT_SOURCE_SETTING),
            &[Selector::new("InstanceID", source_id(device))],
        )
        .into_xml();
    Request::invoke(
        &classes::uri(BOOT_CONFIG_SETTING),
        "ChangeBootOrder",
        config_selector(),
        &input,
    )
}

impl Amt {
    /// Steps 1–5: the next boot (only) comes from `device`.
    pub async fn set_next_boot(&mut self, device: BootDevice) -> Result<(), Error> {
        let settings = self
            .client
            .get(
                &classes::uri(BOOT_SETTING_DATA),
                vec![Selector::new("InstanceID", BOOT_SETTING_DATA_ID)],
            )
            .await?;
        self.invoke_ok(&clear_boot_order_request()).await?;
        self.client
            .call(&boot_settings_put_request(&settings))
            .await?;
        self.invoke_ok(&set_boot_config_role_request()).await?;
        self.invoke_ok(&change_boot_order_request(device)).await?;
        Ok(())
    }

    /// Sets the one-shot boot device and, with `now`, boots into it: power on a board that is
    /// off, reset one that is on. The board must end up on.
    pub async fn boot(&mut self, device: BootDevice, now: bool) -> Result<BootOutcome, Error> {
        let status = self.power_status().await?;
        self.set_next_boot(device).await?;
        if !now {
            return Ok(BootOutcome {
                device,
                power_action: None,
                power: status.power,
            });
        }
        let action = if status.power == PowerState::On {
            PowerAction::Reset
        } else {
            PowerAction::On
        };
        self.request_power_change(action, &status).await?;
        let power = self.wait_for(action).await?;
        Ok(BootOutcome {
            device,
            power_action: Some(action),
            power,
        })
    }

    /// The pending one-shot boot device, read from `CIM_OrderedComponent` (the association of
    /// the boot configuration with its sources; `AssignedSequence` > 0 marks the ones in use).
    /// `None` means the board boots its default order.
    pub async fn next_boot(&mut self) -> Result<Option<BootDevice>, Error> {
        let items = self
            .client
            .enumerate(&classes::uri(ORDERED_COMPONENT))
            .await?;
        let mut pending = None;
        for item in &items {
            let sequence: u32 = item
                .prop("AssignedSequence")
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            if sequence == 0 {
                continue;
            }
            let source = item
                .child("PartComponent")
                .and_then(|p| p.find("SelectorSet"))
                .and_then(|s| {
                    s.children
                        .iter()
                        .find(|sel| sel.attribute("Name") == Some("InstanceID"))
                })
                .map(|sel| sel.text.as_str());
            pending = match source {
                Some(SOURCE_PXE) => Some(BootDevice::Pxe),
                Some(SOURCE_DISK) => Some(BootDevice::Disk),
                _ => pending,
            };
        }
        Ok(pending)
    }
}
