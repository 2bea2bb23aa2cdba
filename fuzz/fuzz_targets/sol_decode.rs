//! Bytes from a board's redirection port, decoded frame by frame as a SOL session does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metal_amt::sol::protocol::{decode, parse_challenge};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((_, used))) = decode(rest) {
        assert!(
            used > 0 && used <= rest.len(),
            "a frame consumes what it read"
        );
        rest = &rest[used..];
    }
    let _ = parse_challenge(data);
});
