//! AMT settings classes (fixtures amt/general/get.xml, amt/ethernetport/pull.xml,
//! amt/redirectionservice/get.xml, amt/setupandconfiguration/get.xml, ips/optin/get.xml).

use super::build::{inst, t};
use crate::board::{Board, BoardState, ENABLED_SOL_BIT, Fault};
use crate::render::Instance;

/// AMT_GeneralSettings, with the board's digest realm.
pub(crate) fn general(b: &Board, _: &BoardState) -> Vec<Instance> {
    let host = format!("amt-sim-{}", b.index);
    let props = vec![
        ("AMTNetworkEnabled", t("1")),
        ("DDNSPeriodicUpdateInterval", t("1440")),
        ("DDNSTTL", t("900")),
        ("DDNSUpdateByDHCPServerEnabled", t("true")),
        ("DDNSUpdateEnabled", t("false")),
        ("DHCPSyncRequiresHostname", t("1")),
        ("DHCPv6ConfigurationTimeout", t("0")),
        ("DigestRealm", t(b.id.realm.as_str())),
        ("DomainName", t("sim.invalid")),
        ("ElementName", t("Intel(r) AMT: General Settings")),
        ("HostName", t(host.as_str())),
        ("HostOSFQDN", t(format!("{host}.sim.invalid"))),
        ("IdleWakeTimeout", t("1")),
        ("InstanceID", t("Intel(r) AMT: General Settings")),
        ("NetworkInterfaceEnabled", t("true")),
        ("PingResponseEnabled", t("true")),
        ("PowerSource", t("0")),
        ("PreferredAddressFamily", t("0")),
        ("PresenceNotificationInterval", t("0")),
        ("PrivacyLevel", t("0")),
        ("RmcpPingResponseEnabled", t("true")),
        ("SharedFQDN", t("true")),
        ("ThunderboltDockEnabled", t("0")),
        ("WsmanOnlyMode", t("false")),
    ];
    vec![inst("AMT_GeneralSettings", props)]
}

/// AMT_EthernetPortSettings: instance 0 wired (the board's MAC, dash-separated lowercase),
/// instance 1 wireless without a link.
pub(crate) fn ethernet(b: &Board, _: &BoardState) -> Vec<Instance> {
    let mac = b.id.mac.to_string().replace(':', "-");
    let ip = b.ip.octets();
    let gateway = format!("{}.{}.{}.254", ip[0], ip[1], ip[2]);
    let wired = vec![
        ("DHCPEnabled", t("true")),
        ("DefaultGateway", t(gateway.as_str())),
        ("ElementName", t("Intel(r) AMT Ethernet Port Settings")),
        ("IPAddress", t(b.ip.to_string())),
        ("InstanceID", t("Intel(r) AMT Ethernet Port Settings 0")),
        ("IpSyncEnabled", t("true")),
        ("LinkIsUp", t("true")),
        ("LinkPolicy", t("1")),
        ("LinkPolicy", t("14")),
        ("MACAddress", t(mac)),
        ("PhysicalConnectionType", t("0")),
        ("PrimaryDNS", t(gateway.as_str())),
        ("SharedDynamicIP", t("true")),
        ("SharedMAC", t("true")),
        ("SharedStaticIp", t("false")),
        ("SubnetMask", t("255.255.255.0")),
    ];
    let wireless = vec![
        ("ConsoleTcpMaxRetransmissions", t("5")),
        ("DHCPEnabled", t("true")),
        ("ElementName", t("Intel(r) AMT Ethernet Port Settings")),
        ("InstanceID", t("Intel(r) AMT Ethernet Port Settings 1")),
        ("LinkControl", t("2")),
        ("LinkIsUp", t("false")),
        ("LinkPreference", t("2")),
        ("MACAddress", t("00-00-00-00-00-00")),
        ("PhysicalConnectionType", t("3")),
        ("SharedMAC", t("true")),
        ("WLANLinkProtectionLevel", t("1")),
    ];
    vec![
        inst("AMT_EthernetPortSettings", wired),
        inst("AMT_EthernetPortSettings", wireless),
    ]
}

/// AMT_RedirectionService: EnabledState 32768..=32771 (IDER/SOL bits) and ListenerEnabled.
/// SOL shows off while it is locked off in MEBx.
pub(crate) fn redirection(b: &Board, st: &BoardState) -> Vec<Instance> {
    let (mut state, listener) = st.redirection;
    if b.current_fault() == Fault::SolLocked {
        state &= !ENABLED_SOL_BIT;
    }
    vec![inst(
        "AMT_RedirectionService",
        vec![
            ("CreationClassName", t("AMT_RedirectionService")),
            ("ElementName", t("Intel(r) AMT Redirection Service")),
            ("EnabledState", t(state.to_string())),
            ("ListenerEnabled", t(listener.to_string())),
            ("Name", t("Intel(r) AMT Redirection Service")),
            ("SystemCreationClassName", t("CIM_ComputerSystem")),
            ("SystemName", t("Intel(r) AMT")),
        ],
    )]
}

/// AMT_SetupAndConfigurationService: activated (ProvisioningState 2) in the board's control
/// mode (`crate::control`).
pub(crate) fn setup_and_configuration(b: &Board, _: &BoardState) -> Vec<Instance> {
    let mode = b.control().mode.provisioning_mode().to_string();
    vec![inst(
        "AMT_SetupAndConfigurationService",
        vec![
            ("CreationClassName", t("AMT_SetupAndConfigurationService")),
            (
                "ElementName",
                t("Intel(r) AMT Setup and Configuration Service"),
            ),
            ("EnabledState", t("5")),
            ("Name", t("Intel(r) AMT Setup and Configuration Service")),
            ("PasswordModel", t("1")),
            ("ProvisioningMode", t(mode)),
            (
                "ProvisioningServerOTP",
                t("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ),
            ("ProvisioningState", t("2")),
            ("RequestedState", t("12")),
            ("SystemCreationClassName", t("CIM_ComputerSystem")),
            ("SystemName", t("Intel(r) AMT")),
            ("ZeroTouchConfigurationEnabled", t("true")),
        ],
    )]
}

/// IPS_OptInService: what user consent covers; no consent session is ever in progress
/// (OptInState 0), since nobody reads a code off a simulated screen.
pub(crate) fn opt_in(b: &Board, _: &BoardState) -> Vec<Instance> {
    let control = b.control();
    let can_modify = if control.mode == crate::ControlMode::Acm {
        "1"
    } else {
        "0"
    };
    vec![inst(
        "IPS_OptInService",
        vec![
            ("CanModifyOptInPolicy", t(can_modify)),
            ("CreationClassName", t("IPS_OptInService")),
            ("ElementName", t("Intel(r) AMT OptIn Service")),
            ("Name", t("Intel(r) AMT OptIn Service")),
            ("OptInCodeTimeout", t("120")),
            ("OptInDisplayTimeout", t("300")),
            (
                "OptInRequired",
                t(control.consent.opt_in_required().to_string()),
            ),
            ("OptInState", t("0")),
            ("SystemCreationClassName", t("CIM_ComputerSystem")),
            ("SystemName", t("Intel(r) AMT")),
        ],
    )]
}
