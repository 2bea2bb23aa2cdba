//! The body of a `POST /events` from anyone on the provisioning network.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metal_netboot::http::{MAX_MESSAGE, MAX_STAGE, parse_event};
use metal_types::text::escaped;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = parse_event(data) {
        assert!(event.stage.len() <= MAX_STAGE && event.message.len() <= MAX_MESSAGE);
        assert!(!escaped(&event.message).contains('\n'), "shown on one line");
    }
});
