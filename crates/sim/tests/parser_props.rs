//! The request parser never panics, whatever the bytes.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = metal_sim::parse_request(&body);
    }

    #[test]
    fn xmlish_soup(parts in proptest::collection::vec(prop_oneof![
        Just("<Envelope>"), Just("</Envelope>"), Just("<s:Header>"), Just("</s:Header>"),
        Just("<Body>"), Just("</Body>"), Just("<a:Action>"), Just("</a:Action>"),
        Just("<w:Selector Name=\"x\">"), Just("</w:Selector>"), Just("<Identify/>"),
        Just("&amp;"), Just("&#0;"), Just("&#x110000;"), Just("&bogus;"), Just("<![CDATA["),
        Just("]]>"), Just("<?xml version=\"1.0\"?>"), Just("<!--"), Just("-->"), Just("x"),
        Just("\u{0}"), Just("<a b='"), Just("'>"), Just("<!DOCTYPE x>"),
    ], 0..64)) {
        let doc: String = parts.concat();
        let _ = metal_sim::parse_request(doc.as_bytes());
    }

    #[test]
    fn valid_envelopes_keep_their_selectors(name in "[A-Za-z]{1,12}", value in "[ -~]{0,40}") {
        let escaped = value.replace('&', "&amp;").replace('<', "&lt;");
        let doc = format!(
            "<Envelope><Header><Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</Action><SelectorSet><Selector Name=\"{name}\">{escaped}</Selector></SelectorSet></Header><Body/></Envelope>"
        );
        let req = metal_sim::parse_request(doc.as_bytes()).unwrap();
        prop_assert_eq!(&req.operation, &metal_sim::Operation::Get);
        prop_assert_eq!(req.selector(&name), Some(value.trim()));
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
    assert!(metal_sim::parse_request(deep.as_bytes()).is_err());
}
