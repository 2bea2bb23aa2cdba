//! A datagram on the TFTP port or a transfer port: a request, or a reply to our DATA.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metal_netboot::tftp::packet::{parse_reply, parse_request};

fuzz_target!(|data: &[u8]| {
    let _ = parse_request(data);
    let _ = parse_reply(data);
});
