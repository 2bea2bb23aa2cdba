//! Hostile input to the response parser: arbitrary bytes, truncated and corrupted recorded
//! responses, and pathological nesting. The parser must return errors, never panic.

use metal_wsman::{Response, xml::Element};
use proptest::prelude::*;

fn fixture(path: &str) -> String {
    let p = format!(
        "{}/../../tests/fixtures/amt-wsman/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Runs every accessor a caller might use, so none of them can panic on odd shapes either.
fn exercise(text: &str) {
    if let Ok(r) = Response::parse(text) {
        let _ = r.action();
        let _ = r.payload();
        let _ = r.enumeration_context();
        let _ = r.return_value();
        let _ = r.pull_items();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn truncated_recorded_responses_never_panic(cut in 0usize..4000) {
        let text = fixture("cim/physical/memory/pull.xml");
        let cut = cut.min(text.len());
        if let Some(prefix) = text.get(..cut) {
            exercise(prefix);
        }
    }

    #[test]
    fn corrupted_recorded_responses_never_panic(at in 0usize..3000, byte in any::<u8>()) {
        let mut bytes = fixture("cim/associatedpower/managementservice/get.xml").into_bytes();
        let at = at % bytes.len();
        bytes[at] = byte;
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn xml_like_soup_never_panics(parts in proptest::collection::vec(
        prop_oneof![Just("<a:Envelope>"), Just("</a:Envelope>"), Just("<Body>"), Just("</Body>"),
                    Just("<g:PullResponse>"), Just("<Items>"), Just("</Items>"), Just("<EndOfSequence/>"),
                    Just("&amp;"), Just("&#0;"), Just("&#xFFFFFF;"), Just("<![CDATA[x]]>"), Just("<!--"),
                    Just("x"), Just("<Fault><Code><Value>"), Just("</Value></Code></Fault>")], 0..64)) {
        exercise(&parts.concat());
    }
}

#[test]
fn truncation_is_an_error_not_a_partial_result() {
    let text = fixture("cim/associatedpower/managementservice/get.xml");
    for cut in [10, text.len() / 2, text.len() - 15] {
        assert!(
            Response::parse(&text[..cut]).is_err(),
            "cut at {cut} parsed"
        );
    }
}

#[test]
fn deep_nesting_is_refused() {
    let deep = "<a>".repeat(100_000);
    assert!(Element::parse(&deep).is_err());
}

#[test]
fn entity_expansion_is_not_supported() {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><Envelope><Body>&b;</Body></Envelope>"#;
    assert!(
        Response::parse(bomb).is_err(),
        "custom entities must not be expanded"
    );
}
