//! A board's whole inventory report: up to ten WS-Man responses (split on NUL bytes) standing
//! for its classes (Get answers and Pull pages), read as the client reads them and taken in as
//! enrolment does; every kept string must be safe to print.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metal_amt::inventory::{Reported, intake};
use metal_types::DnsName;
use metal_types::text::{MAX_BOARD_TEXT, is_unsafe};
use metal_wsman::{Element, Response};

fn empty() -> Element {
    Element::parse("<e/>").expect("a literal element parses")
}

fn response(text: &[u8]) -> Option<Response> {
    Response::parse(std::str::from_utf8(text).ok()?).ok()
}

/// A Get answer's instance.
fn instance(text: &[u8]) -> Element {
    response(text)
        .and_then(|r| r.payload().ok().cloned())
        .unwrap_or_else(empty)
}

/// A Pull page's items.
fn items(text: &[u8]) -> Vec<Element> {
    response(text)
        .and_then(|r| r.pull_items().ok())
        .map(|(items, _)| items)
        .unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let docs: Vec<&[u8]> = data.split(|b| *b == 0).take(10).collect();
    let doc = |i: usize| docs.get(i).copied().unwrap_or_default();
    let one = |i: usize| instance(doc(i));
    let many = |i: usize| items(doc(i));
    let (package, chassis, card, bios, port, software) =
        (one(0), one(1), one(2), one(3), one(8), one(9));
    let (chips, memory, devices, packages) = (many(4), many(5), many(6), many(7));
    let reported = Reported {
        package: &package,
        chassis: &chassis,
        card: &card,
        bios: &bios,
        chips: &chips,
        memory: &memory,
        devices: &devices,
        packages: &packages,
        port: &port,
        software: Some(&software),
    };
    if let Ok(hw) = intake(&reported) {
        let texts = [
            &hw.chassis.model,
            &hw.board.manufacturer,
            &hw.bios_version,
            &hw.chassis.serial,
        ];
        for t in texts {
            assert!(
                !t.chars().any(is_unsafe) && t.chars().count() <= MAX_BOARD_TEXT,
                "{t:?}"
            );
        }
        assert_eq!(
            hw.memory_bytes,
            hw.dimms.iter().map(|d| d.bytes).sum::<u64>()
        );
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(name) = text.parse::<DnsName>()
    {
        assert!(
            name.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        );
    }
});
