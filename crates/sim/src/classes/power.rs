//! Power classes (fixtures cim/associatedpower/managementservice/get.xml,
//! cim/power/managementservice/get.xml).

use super::build::{epr, inst, t};
use crate::board::{Board, BoardState};
use crate::render::Instance;

/// The power service's key selectors (amt-protocol.md §2a, "Power change").
pub(crate) const SERVICE_SELECTORS: [(&str, &str); 4] = [
    ("CreationClassName", "CIM_PowerManagementService"),
    ("Name", "Intel(r) AMT Power Management Service"),
    ("SystemCreationClassName", "CIM_ComputerSystem"),
    ("SystemName", "Intel(r) AMT"),
];

/// CIM_AssociatedPowerManagementService: PowerState and AvailableRequestedPowerStates.
pub(crate) fn associated(_: &Board, st: &BoardState) -> Vec<Instance> {
    let mut props: Vec<_> = st
        .machine
        .available()
        .iter()
        .map(|v| ("AvailableRequestedPowerStates", t(v.to_string())))
        .collect();
    props.push(("PowerState", t(st.machine.power().to_string())));
    props.push((
        "ServiceProvided",
        epr("CIM_PowerManagementService", &SERVICE_SELECTORS),
    ));
    props.push((
        "UserOfService",
        epr(
            "CIM_ComputerSystem",
            &[
                ("CreationClassName", "CIM_ComputerSystem"),
                ("Name", "ManagedSystem"),
            ],
        ),
    ));
    vec![inst("CIM_AssociatedPowerManagementService", props)]
}

/// CIM_PowerManagementService.
pub(crate) fn service(_: &Board, _: &BoardState) -> Vec<Instance> {
    vec![inst(
        "CIM_PowerManagementService",
        vec![
            ("CreationClassName", t("CIM_PowerManagementService")),
            ("ElementName", t("Intel(r) AMT Power Management Service")),
            ("EnabledState", t("5")),
            ("Name", t("Intel(r) AMT Power Management Service")),
            ("RequestedState", t("12")),
            ("SystemCreationClassName", t("CIM_ComputerSystem")),
            ("SystemName", t("Intel(r) AMT")),
        ],
    )]
}
