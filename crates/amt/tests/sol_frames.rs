//! Malformed or truncated redirection frames from a board never panic the decoder, and a
//! stream of valid frames cut at arbitrary points decodes to the same messages.

use metal_amt::sol::protocol::{Incoming, decode};
use proptest::prelude::*;

fn data_frame(sequence: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x2A, 0, 0, 0];
    f.extend_from_slice(&sequence.to_le_bytes());
    f.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    f.extend_from_slice(payload);
    f
}

/// Decodes everything decodable from `buf`, the way the session does.
fn drain(buf: &mut Vec<u8>) -> Result<Vec<Incoming>, ()> {
    let mut out = Vec::new();
    loop {
        match decode(buf) {
            Ok(Some((m, used))) => {
                assert!(used > 0 && used <= buf.len());
                buf.drain(..used);
                out.push(m);
            }
            Ok(None) => return Ok(out),
            Err(_) => return Err(()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut buf = bytes;
        let _ = drain(&mut buf);
    }

    #[test]
    fn frames_split_anywhere_decode_identically(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 1..20),
        cuts in proptest::collection::vec(1usize..97, 1..40),
    ) {
        let mut wire = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            wire.extend(data_frame(i as u32, p));
            if i % 3 == 0 {
                wire.extend([0x2B, 0, 0, 0, i as u8, 0, 0, 0]);
            }
        }
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= wire.len() { break; }
            let end = (at + cut).min(wire.len());
            buf.extend_from_slice(&wire[at..end]);
            at = end;
            got.extend(drain(&mut buf).expect("valid frames"));
        }
        prop_assert!(buf.is_empty());
        let data: Vec<Vec<u8>> = got.into_iter().filter_map(|m| match m { Incoming::Data { payload, .. } => Some(payload), _ => None }).collect();
        prop_assert_eq!(data, payloads);
    }
}

#[test]
fn oversized_auth_reply_is_refused_not_awaited() {
    let frame = [0x14, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0x7f];
    assert!(decode(&frame).is_err());
}
