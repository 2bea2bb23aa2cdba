//! Resource URIs and well-known instance names of the AMT, CIM and IPS classes `metal` uses.
//!
//! Prefixes from MeshCommander `amt-0.2.0.js` (`obj.pfx`); instance names from the recorded
//! AMT 12 responses and go-wsman-messages `pkg/wsman/cim/boot/decoder.go` (amt-protocol.md §2a).

pub const AMT: &str = "http://intel.com/wbem/wscim/1/amt-schema/1/";
pub const CIM: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";

/// The full resource URI of a class, from its name's schema prefix.
pub fn uri(class: &str) -> String {
    let base = if class.starts_with("AMT_") {
        AMT
    } else if class.starts_with("IPS_") {
        "http://intel.com/wbem/wscim/1/ips-schema/1/"
    } else {
        CIM
    };
    format!("{base}{class}")
}

pub const ASSOCIATED_POWER_MANAGEMENT_SERVICE: &str = "CIM_AssociatedPowerManagementService";
pub const POWER_MANAGEMENT_SERVICE: &str = "CIM_PowerManagementService";
pub const COMPUTER_SYSTEM: &str = "CIM_ComputerSystem";
pub const BOOT_SETTING_DATA: &str = "AMT_BootSettingData";
pub const BOOT_CONFIG_SETTING: &str = "CIM_BootConfigSetting";
pub const BOOT_SERVICE: &str = "CIM_BootService";
pub const BOOT_SOURCE_SETTING: &str = "CIM_BootSourceSetting";
pub const ORDERED_COMPONENT: &str = "CIM_OrderedComponent";
pub const COMPUTER_SYSTEM_PACKAGE: &str = "CIM_ComputerSystemPackage";
pub const CHASSIS: &str = "CIM_Chassis";
pub const CARD: &str = "CIM_Card";
pub const BIOS_ELEMENT: &str = "CIM_BIOSElement";
pub const PROCESSOR: &str = "CIM_Processor";
pub const CHIP: &str = "CIM_Chip";
pub const PHYSICAL_MEMORY: &str = "CIM_PhysicalMemory";
pub const MEDIA_ACCESS_DEVICE: &str = "CIM_MediaAccessDevice";
pub const PHYSICAL_PACKAGE: &str = "CIM_PhysicalPackage";
pub const ETHERNET_PORT_SETTINGS: &str = "AMT_EthernetPortSettings";
pub const SOFTWARE_IDENTITY: &str = "CIM_SoftwareIdentity";

/// `AMT_BootSettingData` InstanceID.
pub const BOOT_SETTING_DATA_ID: &str = "Intel(r) AMT:BootSettingData 0";
/// `CIM_BootConfigSetting` InstanceID.
pub const BOOT_CONFIG_ID: &str = "Intel(r) AMT: Boot Configuration 0";
/// `CIM_BootSourceSetting` InstanceIDs of the one-shot sources `metal` uses.
pub const SOURCE_PXE: &str = "Intel(r) AMT: Force PXE Boot";
pub const SOURCE_DISK: &str = "Intel(r) AMT: Force Hard-drive Boot";
/// `AMT_EthernetPortSettings` InstanceID of the wired port (1 is wireless).
pub const WIRED_PORT_ID: &str = "Intel(r) AMT Ethernet Port Settings 0";
pub const BOOT_CAPABILITIES: &str = "AMT_BootCapabilities";
pub const REDIRECTION_SERVICE: &str = "AMT_RedirectionService";
pub const SETUP_AND_CONFIGURATION_SERVICE: &str = "AMT_SetupAndConfigurationService";
pub const OPT_IN_SERVICE: &str = "IPS_OptInService";
