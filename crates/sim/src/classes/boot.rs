//! Boot classes (fixtures amt/boot/settingdata/get.xml, amt/boot/capabilities/get.xml,
//! cim/boot/{configsetting,service,sourcesetting}/*.xml).

use super::build::{epr, inst, t};
use crate::board::{Board, BoardState, Fault};
use crate::machine::{BOOT_CONFIG_ID, SOURCE_CD, SOURCE_DISK, SOURCE_PXE};
use crate::render::Instance;

/// AMT_BootSettingData: the stored settings; OptionsCleared is false once a Put changed them.
pub(crate) fn setting_data(_: &Board, st: &BoardState) -> Vec<Instance> {
    let props = st
        .boot_settings
        .iter()
        .map(|(k, v)| (*k, t(v.as_str())))
        .collect();
    vec![inst("AMT_BootSettingData", props)]
}

/// AMT_BootCapabilities, as recorded.
/// `SOL` is false while SOL is locked off in MEBx ([`Fault::SolLocked`]).
pub(crate) fn capabilities(b: &Board, _: &BoardState) -> Vec<Instance> {
    let sol = if b.current_fault() == Fault::SolLocked {
        "false"
    } else {
        "true"
    };
    let flags = [
        ("BIOSPause", "false"),
        ("BIOSReflash", "true"),
        ("BIOSSecureBoot", "true"),
        ("BIOSSetup", "true"),
        ("ConfigurationDataReset", "false"),
        ("ElementName", "Intel(r) AMT: Boot Capabilities"),
        ("ForceCDorDVDBoot", "true"),
        ("ForceDiagnosticBoot", "false"),
        ("ForceHardDriveBoot", "true"),
        ("ForceHardDriveSafeModeBoot", "false"),
        ("ForcePXEBoot", "true"),
        ("ForcedProgressEvents", "true"),
        ("IDER", "true"),
        ("InstanceID", "Intel(r) AMT:BootCapabilities 0"),
        ("KeyboardLock", "true"),
        ("PowerButtonLock", "false"),
        ("ResetButtonLock", "false"),
        ("SOL", sol),
        ("SecureErase", "false"),
        ("SleepButtonLock", "false"),
        ("UserPasswordBypass", "true"),
        ("VerbosityQuiet", "false"),
        ("VerbosityScreenBlank", "false"),
        ("VerbosityVerbose", "false"),
    ];
    vec![inst(
        "AMT_BootCapabilities",
        flags.into_iter().map(|(k, v)| (k, t(v))).collect(),
    )]
}

/// CIM_BootConfigSetting: the single boot configuration.
pub(crate) fn config_setting(_: &Board, _: &BoardState) -> Vec<Instance> {
    vec![inst(
        "CIM_BootConfigSetting",
        vec![
            ("ElementName", t("Intel(r) AMT: Boot Configuration")),
            ("InstanceID", t(BOOT_CONFIG_ID)),
        ],
    )]
}

/// CIM_BootService.
pub(crate) fn service(_: &Board, _: &BoardState) -> Vec<Instance> {
    vec![inst(
        "CIM_BootService",
        vec![
            ("CreationClassName", t("CIM_BootService")),
            ("ElementName", t("Intel(r) AMT Boot Service")),
            ("EnabledState", t("2")),
            ("Name", t("Intel(r) AMT Boot Service")),
            ("OperationalStatus", t("0")),
            ("RequestedState", t("12")),
            ("SystemCreationClassName", t("CIM_ComputerSystem")),
            ("SystemName", t("Intel(r) AMT")),
        ],
    )]
}

/// The boot sources, in the fixture's order.
const SOURCES: [(&str, &str); 3] = [
    (SOURCE_DISK, "CIM:Hard-Disk:1"),
    (SOURCE_PXE, "CIM:Network:1"),
    (SOURCE_CD, "CIM:CD/DVD:1"),
];

/// CIM_BootSourceSetting: hard disk, PXE, CD/DVD.
pub(crate) fn source_settings(_: &Board, _: &BoardState) -> Vec<Instance> {
    SOURCES
        .iter()
        .map(|(id, structured)| {
            inst(
                "CIM_BootSourceSetting",
                vec![
                    ("ElementName", t("Intel(r) AMT: Boot Source")),
                    ("FailThroughSupported", t("2")),
                    ("InstanceID", t(*id)),
                    ("StructuredBootString", t(*structured)),
                ],
            )
        })
        .collect()
}

/// CIM_OrderedComponent: the boot configuration (GroupComponent) holds each source
/// (PartComponent); AssignedSequence is 1 for the source of the pending one-shot override
/// and 0 for the others, so a client reads the pending next boot here.
pub(crate) fn ordered_components(_: &Board, st: &BoardState) -> Vec<Instance> {
    let pending = st.machine.next_boot().map(|d| match d {
        metal_types::BootDevice::Pxe => SOURCE_PXE,
        metal_types::BootDevice::Disk => SOURCE_DISK,
    });
    SOURCES
        .iter()
        .map(|(id, _)| {
            let seq = if pending == Some(*id) { "1" } else { "0" };
            inst(
                "CIM_OrderedComponent",
                vec![
                    ("AssignedSequence", t(seq)),
                    (
                        "GroupComponent",
                        epr("CIM_BootConfigSetting", &[("InstanceID", BOOT_CONFIG_ID)]),
                    ),
                    (
                        "PartComponent",
                        epr("CIM_BootSourceSetting", &[("InstanceID", id)]),
                    ),
                ],
            )
        })
        .collect()
}
