//! The host's power and boot state machine, free of I/O so it can be tested directly.
//!
//! Power values are DMTF DSP1027 `PowerState` values as AMT uses them (amt-protocol.md §2a,
//! "PowerState values"). The one-shot boot override follows amt-protocol.md §2a "Forcing PXE
//! on the next boot".

use std::time::{Duration, Instant, SystemTime};

use metal_types::BootDevice;

use crate::events::BootRecord;

/// `AvailableRequestedPowerStates` while on, as the AMT 12 fixture advertises them
/// (cim/associatedpower/managementservice/get.xml). No source shows AMT 9 advertising
/// fewer, so every profile uses this list.
pub(crate) const AVAILABLE_WHEN_ON: [u16; 8] = [10, 8, 5, 11, 4, 7, 14, 12];
/// `AvailableRequestedPowerStates` while off, asleep or hibernating: only power on.
pub(crate) const AVAILABLE_WHEN_OFF: [u16; 1] = [2];

/// DSP1027 RequestPowerStateChange ReturnValue: Completed with No Error.
pub(crate) const RV_OK: u32 = 0;
/// DSP1027 / DSP1012 ReturnValue: Not Supported.
pub(crate) const RV_NOT_SUPPORTED: u32 = 1;
/// DSP1012 ReturnValue: Invalid Reference.
pub(crate) const RV_INVALID_REFERENCE: u32 = 4;
/// DSP1012 / DSP1027 ReturnValue: Invalid Parameter.
pub(crate) const RV_INVALID_PARAMETER: u32 = 5;
/// DMTF ReturnValue 6 "In Use": a power off or cycle while a SOL session is open
/// (amt-protocol.md §2a, Intel's caveat; see `Board::request_power`).
pub(crate) const RV_IN_USE: u32 = 6;
/// DSP1027 RequestPowerStateChange ReturnValue 4099 "Busy": a change requested while the
/// previous one is still in progress. Intel's guide says not to send a second change until
/// the first has completed (amt-protocol.md §2a); the DMTF value map's "Busy" is the
/// closest code for that refusal.
pub(crate) const RV_BUSY: u32 = 4099;

/// The boot source InstanceIDs (go-wsman-messages cim/boot decoder, amt-protocol.md §2a).
pub(crate) const SOURCE_PXE: &str = "Intel(r) AMT: Force PXE Boot";
pub(crate) const SOURCE_DISK: &str = "Intel(r) AMT: Force Hard-drive Boot";
pub(crate) const SOURCE_CD: &str = "Intel(r) AMT: Force CD/DVD Boot";
/// The only boot configuration setting.
pub(crate) const BOOT_CONFIG_ID: &str = "Intel(r) AMT: Boot Configuration 0";

/// A power change in progress.
#[derive(Debug, Clone, Copy)]
struct Transition {
    target: u16,
    boots: bool,
    /// The boot follows power off (power on, power cycle) rather than a reset.
    cold: bool,
    until: Instant,
    until_wall: SystemTime,
}

/// What settling a transition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Power { from: u16, to: u16 },
    Boot { record: BootRecord, cold: bool },
}

/// Power and boot state of one host.
#[derive(Debug)]
pub(crate) struct Machine {
    power: u16,
    transition: Option<Transition>,
    /// `SetBootConfigRole` Role=1 (IsNext) since the last boot.
    role_next: bool,
    /// Source set by `ChangeBootOrder` since the last boot.
    source: Option<BootDevice>,
    boots: Vec<BootRecord>,
}

impl Machine {
    /// A host in DMTF power state `power`, with no override pending.
    pub(crate) fn with_power(power: u16) -> Self {
        Self {
            power,
            transition: None,
            role_next: false,
            source: None,
            boots: Vec::new(),
        }
    }

    /// The visible power state (the old one while a change is in progress).
    pub(crate) fn power(&self) -> u16 {
        self.power
    }

    /// The states a client may request now.
    pub(crate) fn available(&self) -> &'static [u16] {
        if self.power == 2 {
            &AVAILABLE_WHEN_ON
        } else {
            &AVAILABLE_WHEN_OFF
        }
    }

    /// Every boot so far.
    pub(crate) fn boots(&self) -> &[BootRecord] {
        &self.boots
    }

    /// The device the next boot will use because of a one-shot override: only when both
    /// the role (IsNext) and a source were set since the last boot.
    pub(crate) fn next_boot(&self) -> Option<BootDevice> {
        self.source.filter(|_| self.role_next)
    }

    /// Forces a state (tests): cancels any change in progress, performs no boot.
    pub(crate) fn set_power(&mut self, value: u16) -> Option<Effect> {
        self.transition = None;
        let from = std::mem::replace(&mut self.power, value);
        (from != value).then_some(Effect::Power { from, to: value })
    }

    /// Completes a change whose window has passed.
    pub(crate) fn settle(&mut self, now: Instant) -> Vec<Effect> {
        let Some(t) = self.transition.filter(|t| now >= t.until) else {
            return Vec::new();
        };
        self.transition = None;
        let mut effects = Vec::new();
        let from = std::mem::replace(&mut self.power, t.target);
        if from != t.target {
            effects.push(Effect::Power { from, to: t.target });
        }
        if t.boots {
            effects.push(Effect::Boot {
                record: self.boot(t.until_wall),
                cold: t.cold,
            });
        }
        effects
    }

    /// A boot the host started itself (its OS rebooted): like any boot, it uses the override.
    pub(crate) fn host_boot(&mut self, time: SystemTime) -> BootRecord {
        self.boot(time)
    }

    /// The host comes up: use the override if complete, then forget it either way.
    fn boot(&mut self, time: SystemTime) -> BootRecord {
        let record = match self.next_boot() {
            Some(device) => BootRecord {
                time,
                device,
                one_shot: true,
            },
            None => BootRecord {
                time,
                device: BootDevice::Disk,
                one_shot: false,
            },
        };
        self.role_next = false;
        self.source = None;
        self.boots.push(record);
        record
    }

    /// `RequestPowerStateChange(PowerState=value)`. Returns the ReturnValue and, when a
    /// change started, the instant it completes.
    ///
    /// 8 (off) and 12 (soft-off) end in 8; 2 (on), 5 (cycle), 10 (reset) and 14 (soft-reset)
    /// end in 2 with a boot; 4 and 7 put the host to sleep/hibernation; waking from sleep (4)
    /// resumes without a boot. 11 (NMI) is accepted and changes nothing.
    pub(crate) fn request(
        &mut self,
        value: u16,
        now: Instant,
        window: Duration,
    ) -> (u32, Option<Instant>) {
        self.settle(now);
        if self.transition.is_some() {
            return (RV_BUSY, None);
        }
        if !self.available().contains(&value) {
            return (RV_NOT_SUPPORTED, None);
        }
        let target = match value {
            8 | 12 => 8,
            2 | 5 | 10 | 14 => 2,
            4 | 7 => value,
            _ => return (RV_OK, None),
        };
        let boots = target == 2 && self.power != 4;
        let cold = value == 5 || self.power != 2;
        let until = now + window;
        self.transition = Some(Transition {
            target,
            boots,
            cold,
            until,
            until_wall: SystemTime::now() + window,
        });
        (RV_OK, Some(until))
    }

    /// `CIM_BootConfigSetting.ChangeBootOrder`. `None` = no Source: clears the order.
    pub(crate) fn change_boot_order(&mut self, source: Option<&str>) -> u32 {
        match source {
            None => {
                self.source = None;
                RV_OK
            }
            Some(SOURCE_PXE) => {
                self.source = Some(BootDevice::Pxe);
                RV_OK
            }
            Some(SOURCE_DISK) => {
                self.source = Some(BootDevice::Disk);
                RV_OK
            }
            Some(s) if s.starts_with("Intel(r) AMT: Force ") => RV_NOT_SUPPORTED,
            Some(_) => RV_INVALID_REFERENCE,
        }
    }

    /// `CIM_BootService.SetBootConfigRole`: Role 1 (IsNext) arms the override for the next
    /// boot; Role 0 (IsDefault) is accepted and changes nothing (AMT has a single config).
    pub(crate) fn set_boot_config_role(&mut self, config: Option<&str>, role: &str) -> u32 {
        if config.is_some_and(|c| c != BOOT_CONFIG_ID) {
            return RV_INVALID_REFERENCE;
        }
        match role {
            "1" => {
                self.role_next = true;
                RV_OK
            }
            "0" => RV_OK,
            _ => RV_INVALID_PARAMETER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_millis(100);

    #[test]
    fn off_waits_for_the_window_and_refuses_a_second_change() {
        let t0 = Instant::now();
        let mut m = Machine::with_power(2);
        assert_eq!(m.request(8, t0, W), (RV_OK, Some(t0 + W)));
        assert_eq!(m.power(), 2);
        assert_eq!(m.request(2, t0, W).0, RV_BUSY);
        assert_eq!(m.settle(t0 + W), vec![Effect::Power { from: 2, to: 8 }]);
        assert_eq!(m.request(8, t0 + W, W).0, RV_NOT_SUPPORTED);
        assert_eq!(m.available(), &[2]);
    }

    #[test]
    fn override_needs_role_and_source_and_lasts_one_boot() {
        let t0 = Instant::now();
        let mut m = Machine::with_power(2);
        assert_eq!(m.change_boot_order(Some(SOURCE_PXE)), RV_OK);
        assert_eq!(m.next_boot(), None);
        assert_eq!(m.set_boot_config_role(Some(BOOT_CONFIG_ID), "1"), RV_OK);
        assert_eq!(m.next_boot(), Some(BootDevice::Pxe));
        m.request(10, t0, W);
        m.settle(t0 + W);
        m.request(10, t0 + W, W);
        m.settle(t0 + 2 * W);
        let b: Vec<_> = m.boots().iter().map(|b| (b.device, b.one_shot)).collect();
        assert_eq!(b, vec![(BootDevice::Pxe, true), (BootDevice::Disk, false)]);
        assert_eq!(m.change_boot_order(Some(SOURCE_CD)), RV_NOT_SUPPORTED);
        assert_eq!(m.change_boot_order(Some("bogus")), RV_INVALID_REFERENCE);
    }
}
