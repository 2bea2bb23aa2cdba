//! Request envelopes are compared byte for byte with golden files written by hand from the
//! envelope shape in amt-protocol.md §2a (the shape MeshCommander and go-wsman-messages send).

use metal_wsman::{Request, Selector};

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const CIM: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";

#[test]
fn get_without_selectors() {
    let r = Request::get(
        &format!("{CIM}CIM_AssociatedPowerManagementService"),
        vec![],
    );
    assert_eq!(r.to_xml(1), golden("get.xml"));
}

#[test]
fn get_with_selector() {
    let r = Request::get(
        "http://intel.com/wbem/wscim/1/amt-schema/1/AMT_GeneralSettings",
        vec![Selector::new(
            "InstanceID",
            "Intel(r) AMT: General Settings",
        )],
    );
    assert_eq!(r.to_xml(2), golden("get_selector.xml"));
}

#[test]
fn enumerate_and_pull() {
    let uri = format!("{CIM}CIM_PhysicalMemory");
    assert_eq!(
        Request::enumerate(&uri, None).to_xml(3),
        golden("enumerate.xml")
    );
    assert_eq!(
        Request::pull(&uri, "D6020000-0000-0000-0000-000000000000").to_xml(4),
        golden("pull.xml")
    );
}

#[test]
fn identify_has_no_addressing_header() {
    assert_eq!(Request::identify().to_xml(9), golden("identify.xml"));
}

#[test]
fn hostile_selector_values_are_escaped() {
    let r = Request::get(
        "urn:x",
        vec![Selector::new("InstanceID", "a</w:Selector><evil/>&")],
    );
    let xml = r.to_xml(1);
    assert!(
        xml.contains("a&lt;/w:Selector&gt;&lt;evil/&gt;&amp;"),
        "{xml}"
    );
    metal_wsman::Element::parse(&xml).expect("escaped request is well-formed");
}
