//! Hardware inventory classes (fixtures cim/chassis, cim/card, cim/bios/element,
//! cim/physical/{processor,memory,package}, cim/chip, cim/mediaaccess, cim/software/identity,
//! cim/computer/systempackage). Constant values are the recorded NUC9V7QNX's (its maker,
//! models, BIOS version and CPU are the model in `identity` that every board shares); serials,
//! UUID, memory and disks come from the board's identity.

use super::build::{epr, inst, t};
use crate::board::{Board, BoardState};
use crate::identity::{BIOS_VERSION, BOARD_MODEL, CPU, SYSTEM_MAKER, SYSTEM_MODEL};
use crate::render::{Instance, Value};

/// CIM_ComputerSystemPackage: chassis -> computer system, with the PlatformGUID.
pub(crate) fn system_package(b: &Board, _: &BoardState) -> Vec<Instance> {
    vec![inst(
        "CIM_ComputerSystemPackage",
        vec![
            (
                "Antecedent",
                epr(
                    "CIM_Chassis",
                    &[("CreationClassName", "CIM_Chassis"), ("Tag", "CIM_Chassis")],
                ),
            ),
            (
                "Dependent",
                epr(
                    "CIM_ComputerSystem",
                    &[
                        ("CreationClassName", "CIM_ComputerSystem"),
                        ("Name", "ManagedSystem"),
                    ],
                ),
            ),
            ("PlatformGUID", t(b.id.platform_guid())),
        ],
    )]
}

/// CIM_Chassis.
pub(crate) fn chassis(b: &Board, _: &BoardState) -> Vec<Instance> {
    vec![inst(
        "CIM_Chassis",
        vec![
            ("ChassisPackageType", t("0")),
            ("CreationClassName", t("CIM_Chassis")),
            ("ElementName", t("Managed System Chassis")),
            ("Manufacturer", t(SYSTEM_MAKER)),
            ("Model", t(SYSTEM_MODEL)),
            ("OperationalStatus", t("0")),
            ("PackageType", t("3")),
            ("SerialNumber", t(b.id.serial.as_str())),
            ("Tag", t("CIM_Chassis")),
            ("Version", t("K47174-402")),
        ],
    )]
}

/// CIM_Card: the base board.
pub(crate) fn card(b: &Board, _: &BoardState) -> Vec<Instance> {
    vec![inst(
        "CIM_Card",
        vec![
            ("CanBeFRUed", t("true")),
            ("CreationClassName", t("CIM_Card")),
            ("ElementName", t("Managed System Base Board")),
            ("Manufacturer", t("Intel Corporation")),
            ("Model", t(BOARD_MODEL)),
            ("OperationalStatus", t("0")),
            ("PackageType", t("9")),
            ("SerialNumber", t(b.id.board_serial.as_str())),
            ("Tag", t("CIM_Card")),
            ("Version", t("K47180-402")),
        ],
    )]
}

/// CIM_PhysicalPackage: the base board (as CIM_Card, like the fixture) and one package per
/// disk carrying the drive's manufacturer, model and serial number.
pub(crate) fn physical_packages(b: &Board, st: &BoardState) -> Vec<Instance> {
    let mut out = card(b, st);
    for (i, disk) in b.id.hardware.disks.iter().enumerate() {
        let maker = disk.maker;
        out.push(inst(
            "CIM_PhysicalPackage",
            vec![
                ("CanBeFRUed", t("true")),
                ("CreationClassName", t("CIM_PhysicalPackage")),
                ("ElementName", t("Managed System Media Package")),
                ("Manufacturer", t(maker)),
                ("Model", t(disk.model)),
                ("OperationalStatus", t("0")),
                ("PackageType", t("0")),
                ("SerialNumber", t(disk.serial.as_str())),
                ("Tag", t(format!("MEDIA DEV {i}"))),
            ],
        ));
    }
    out
}

/// CIM_BIOSElement.
pub(crate) fn bios(_: &Board, _: &BoardState) -> Vec<Instance> {
    let version = BIOS_VERSION;
    vec![inst(
        "CIM_BIOSElement",
        vec![
            ("ElementName", t("Primary BIOS")),
            ("Manufacturer", t("Intel Corp.")),
            ("Name", t("Primary BIOS")),
            ("OperationalStatus", t("0")),
            ("PrimaryBIOS", t("true")),
            (
                "ReleaseDate",
                Value::Datetime("2020-08-10T00:00:00Z".into()),
            ),
            ("SoftwareElementID", t(version)),
            ("SoftwareElementState", t("2")),
            ("TargetOperatingSystem", t("66")),
            ("Version", t(version)),
        ],
    )]
}

/// CIM_Processor: one CPU.
pub(crate) fn processor(_: &Board, _: &BoardState) -> Vec<Instance> {
    let props = [
        ("CPUStatus", "1"),
        ("CreationClassName", "CIM_Processor"),
        ("CurrentClockSpeed", "2400"),
        ("DeviceID", "CPU 0"),
        ("ElementName", "Managed System CPU"),
        ("EnabledState", "2"),
        ("ExternalBusClockSpeed", "100"),
        ("Family", "198"),
        ("HealthState", "0"),
        ("MaxClockSpeed", "8300"),
        ("OperationalStatus", "0"),
        ("OtherFamilyDescription", ""),
        ("RequestedState", "12"),
        ("Role", "Central"),
        ("Stepping", "13"),
        ("SystemCreationClassName", "CIM_ComputerSystem"),
        ("SystemName", "ManagedSystem"),
        ("UpgradeMethod", "52"),
    ];
    vec![inst(
        "CIM_Processor",
        props.into_iter().map(|(k, v)| (k, t(v))).collect(),
    )]
}

/// CIM_Chip: the CPU package.
pub(crate) fn chip(_: &Board, _: &BoardState) -> Vec<Instance> {
    vec![inst(
        "CIM_Chip",
        vec![
            ("CanBeFRUed", t("true")),
            ("CreationClassName", t("CIM_Chip")),
            ("ElementName", t("Managed System Processor Chip")),
            ("Manufacturer", t("Intel(R) Corporation")),
            ("OperationalStatus", t("0")),
            ("Tag", t("CPU 0")),
            ("Version", t(CPU)),
        ],
    )]
}

/// CIM_PhysicalMemory: one instance per DIMM, Capacity in bytes.
pub(crate) fn memory(b: &Board, _: &BoardState) -> Vec<Instance> {
    b.id.hardware
        .dimms
        .iter()
        .enumerate()
        .map(|(i, capacity)| {
            let tag = if i == 0 {
                "9876543210".to_string()
            } else {
                format!("9876543210 (#{i})")
            };
            inst(
                "CIM_PhysicalMemory",
                vec![
                    ("BankLabel", t(format!("BANK {}", 2 * i))),
                    ("Capacity", t(capacity.to_string())),
                    ("ConfiguredMemoryClockSpeed", t("2400")),
                    ("CreationClassName", t("CIM_PhysicalMemory")),
                    ("ElementName", t("Managed System Memory Chip")),
                    ("FormFactor", t("13")),
                    ("IsSpeedInMhz", t("true")),
                    ("Manufacturer", t("859B")),
                    ("MaxMemorySpeed", t("2400")),
                    ("MemoryType", t("26")),
                    ("PartNumber", t("CT4G4SFS824A.C8FE ")),
                    (
                        "SerialNumber",
                        t(format!("E0E8{:04X}", b.index as u16 ^ i as u16)),
                    ),
                    ("Speed", t("0")),
                    ("Tag", t(tag)),
                ],
            )
        })
        .collect()
}

/// CIM_MediaAccessDevice: one per disk, shaped like the fixture (MaxMediaSize in kilobytes),
/// plus `Name` carrying the drive model so a client can tell SSDs from HDDs.
pub(crate) fn media(b: &Board, _: &BoardState) -> Vec<Instance> {
    b.id.hardware
        .disks
        .iter()
        .enumerate()
        .map(|(i, disk)| {
            inst(
                "CIM_MediaAccessDevice",
                vec![
                    ("Capabilities", t("4")),
                    ("CreationClassName", t("CIM_MediaAccessDevice")),
                    ("DeviceID", t(format!("MEDIA DEV {i}"))),
                    ("ElementName", t("Managed System Media Access Device")),
                    ("EnabledDefault", t("2")),
                    ("EnabledState", t("0")),
                    ("MaxMediaSize", t(disk.size_kb.to_string())),
                    ("Name", t(disk.model)),
                    ("OperationalStatus", t("0")),
                    ("RequestedState", t("12")),
                    ("Security", t("2")),
                    ("SystemCreationClassName", t("CIM_ComputerSystem")),
                    ("SystemName", t("ManagedSystem")),
                ],
            )
        })
        .collect()
}

/// CIM_SoftwareIdentity: the firmware components, versions from the profile
/// (fixture cim/software/identity/pull.xml).
pub(crate) fn software(b: &Board, _: &BoardState) -> Vec<Instance> {
    let p = b.cfg.profile;
    let v = p.short_version();
    let entries = [
        ("Flash", v),
        ("Netstack", v),
        ("AMTApps", v),
        ("AMT", v),
        ("Sku", "16392"),
        ("VendorID", "8086"),
        ("Build Number", p.build()),
        ("Recovery Version", v),
        ("Recovery Build Num", p.build()),
        ("Legacy Mode", "False"),
        ("AMT FW Core Version", v),
    ];
    entries
        .into_iter()
        .map(|(id, version)| {
            inst(
                "CIM_SoftwareIdentity",
                vec![
                    ("InstanceID", t(id)),
                    ("IsEntity", t("true")),
                    ("VersionString", t(version)),
                ],
            )
        })
        .collect()
}
