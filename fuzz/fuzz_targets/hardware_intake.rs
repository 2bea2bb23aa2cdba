//! A board's whole inventory report: up to ten XML documents (split on NUL bytes) standing
//! for its classes, taken in as enrolment does; every kept string must be safe to print.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metal_amt::inventory::{Reported, intake};
use metal_types::text::{MAX_BOARD_TEXT, is_unsafe};
use metal_types::DnsName;
use metal_wsman::Element;

fn element(text: &[u8]) -> Element {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| Element::parse(t).ok())
        .unwrap_or_else(|| Element::parse("<e/>").expect("a literal element parses"))
}

fuzz_target!(|data: &[u8]| {
    let docs: Vec<Element> = data.split(|b| *b == 0).take(10).map(element).collect();
    let one = |i: usize| docs.get(i).cloned().unwrap_or_else(|| element(b""));
    let many = |i: usize| one(i).children;
    let (package, chassis, card, bios, port, software) = (one(0), one(1), one(2), one(3), one(8), one(9));
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
        let texts = [&hw.chassis.model, &hw.board.manufacturer, &hw.bios_version, &hw.chassis.serial];
        for t in texts {
            assert!(!t.chars().any(is_unsafe) && t.chars().count() <= MAX_BOARD_TEXT, "{t:?}");
        }
        assert_eq!(hw.memory_bytes, hw.dimms.iter().map(|d| d.bytes).sum::<u64>());
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(name) = text.parse::<DnsName>()
    {
        assert!(name.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    }
});
