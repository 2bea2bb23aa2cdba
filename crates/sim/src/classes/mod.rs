//! The CIM/AMT classes a board serves: which exist, and how their instances look.
//!
//! Property names, order (alphabetical, as firmware returns them) and constant values come
//! from the recorded AMT 12 responses in tests/fixtures/amt-wsman; per-board values come
//! from the board's identity and state.

pub(crate) mod boot;
mod build;
pub(crate) mod inventory;
pub(crate) mod power;
pub(crate) mod settings;

pub(crate) use build::uri;

use crate::board::{Board, BoardState};
use crate::render::Instance;

/// One class the board knows.
pub(crate) struct ClassDef {
    pub name: &'static str,
    /// Whether its responses declare the common schema namespace (the fixtures of this
    /// class do).
    pub common: bool,
    /// Its instances on this board, first one answered by a selector-less Get.
    pub instances: fn(&Board, &BoardState) -> Vec<Instance>,
}

const fn def(
    name: &'static str,
    common: bool,
    instances: fn(&Board, &BoardState) -> Vec<Instance>,
) -> ClassDef {
    ClassDef {
        name,
        common,
        instances,
    }
}

static CLASSES: &[ClassDef] = &[
    def(
        "CIM_AssociatedPowerManagementService",
        true,
        power::associated,
    ),
    def("CIM_ServiceAvailableToElement", true, power::associated),
    def("CIM_PowerManagementService", true, power::service),
    def("AMT_BootSettingData", false, boot::setting_data),
    def("AMT_BootCapabilities", false, boot::capabilities),
    def("CIM_BootConfigSetting", false, boot::config_setting),
    def("CIM_BootService", true, boot::service),
    def("CIM_BootSourceSetting", false, boot::source_settings),
    def("CIM_OrderedComponent", false, boot::ordered_components),
    def(
        "CIM_ComputerSystemPackage",
        false,
        inventory::system_package,
    ),
    def("CIM_SystemPackaging", false, inventory::system_package),
    def("CIM_Chassis", true, inventory::chassis),
    def("CIM_Card", true, inventory::card),
    def("CIM_PhysicalPackage", true, inventory::physical_packages),
    def("CIM_BIOSElement", true, inventory::bios),
    def("CIM_Processor", true, inventory::processor),
    def("CIM_Chip", true, inventory::chip),
    def("CIM_PhysicalMemory", true, inventory::memory),
    def("CIM_MediaAccessDevice", true, inventory::media),
    def("CIM_SoftwareIdentity", true, inventory::software),
    def("AMT_GeneralSettings", false, settings::general),
    def("AMT_EthernetPortSettings", false, settings::ethernet),
    def("AMT_RedirectionService", true, settings::redirection),
    def(
        "AMT_SetupAndConfigurationService",
        true,
        settings::setup_and_configuration,
    ),
    def("IPS_OptInService", true, settings::opt_in),
];

/// The class a resource URI names, if the board has it. The URI must be exactly the
/// class's, prefix included.
pub(crate) fn lookup(resource_uri: &str) -> Option<&'static ClassDef> {
    let name = resource_uri.rsplit('/').next()?;
    CLASSES
        .iter()
        .find(|c| c.name == name && uri(c.name) == resource_uri)
}

/// Whether an instance matches every selector: each selector names a text property with
/// that exact value.
pub(crate) fn matches(instance: &Instance, selectors: &[(String, String)]) -> bool {
    selectors
        .iter()
        .all(|(k, v)| instance.text(k) == Some(v.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_needs_the_exact_uri() {
        assert!(lookup(&uri("CIM_Chassis")).is_some());
        assert!(lookup(&uri("AMT_GeneralSettings")).is_some());
        assert!(lookup("http://example.com/CIM_Chassis").is_none());
        assert!(lookup(&uri("CIM_Nothing")).is_none());
        assert!(lookup("").is_none());
    }
}
