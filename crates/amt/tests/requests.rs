//! AMT request bodies compared byte for byte with golden files written by hand from
//! amt-protocol.md §2a (RequestPowerStateChange is the body go-wsman-messages and the
//! wsman-messages test suite send; SetBootConfigRole is amtc's `wsman_bootconfig`).

use metal_amt::{boot, power};
use metal_types::BootDevice;
use metal_wsman::Response;

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn body(xml: &str) -> &str {
    let start = xml.find("<Body>").expect("Body") + "<Body>".len();
    let end = xml.rfind("</Body>").expect("/Body");
    &xml[start..end]
}

#[test]
fn request_power_state_change() {
    let r = power::power_change_request(8);
    assert_eq!(
        r.action.as_deref(),
        Some(
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_PowerManagementService/RequestPowerStateChange"
        )
    );
    assert_eq!(
        body(&r.to_xml(1)),
        golden("request_power_state_change_off.xml")
    );
}

#[test]
fn one_shot_boot_sequence_bodies() {
    assert_eq!(
        body(&boot::clear_boot_order_request().to_xml(1)),
        golden("change_boot_order_clear.xml")
    );
    assert_eq!(
        body(&boot::set_boot_config_role_request().to_xml(1)),
        golden("set_boot_config_role.xml")
    );
    assert_eq!(
        body(&boot::change_boot_order_request(BootDevice::Pxe).to_xml(1)),
        golden("change_boot_order_pxe.xml")
    );
}

#[test]
fn boot_settings_put_from_recorded_get() {
    let path = format!(
        "{}/../../tests/fixtures/amt-wsman/amt/boot/settingdata/get.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let recorded = Response::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let put = boot::boot_settings_put_request(recorded.payload().unwrap());
    assert_eq!(body(&put.to_xml(1)), golden("put_boot_setting_data.xml"));
    assert!(
        put.to_xml(1).contains(
            "<w:Selector Name=\"InstanceID\">Intel(r) AMT:BootSettingData 0</w:Selector>"
        )
    );
}
