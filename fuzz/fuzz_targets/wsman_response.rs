//! A WS-Man response from a board: parsed, then read every way the client reads one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metal_wsman::{Reference, Response};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(response) = Response::parse(text) else {
        return;
    };
    let _ = response.payload();
    let _ = response.return_value();
    let _ = response.enumeration_context();
    if let Ok((items, _)) = response.pull_items() {
        for item in &items {
            let _ = Reference::parse(item);
            let _ = item.children.first().map(Reference::parse);
        }
    }
});
