//! Hand-made streams a hostile sender could write: each is refused with its reason.

use std::io::{Cursor, Read, Write};

use super::*;
use crate::volume::format::{Digest, Header, header_bytes, write_preamble};

/// A connection that reads a prepared stream and keeps what the receiver answers.
struct Wire {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A full stream of `size` bytes with these frames; `end` adds a correct END frame.
fn stream(size: u64, frames: &[(Header, Vec<u8>)], end: bool) -> Wire {
    let mut raw = Vec::new();
    let mut digest = Digest::new();
    for (h, bytes) in frames {
        let hb = header_bytes(h);
        digest.add(&hb);
        raw.extend_from_slice(&hb);
        raw.extend_from_slice(bytes);
    }
    if end {
        raw.extend_from_slice(&header_bytes(&Header::End {
            frames: digest.frames,
            digest: digest.value(),
        }));
    }
    let mut input = Vec::new();
    write_preamble(&mut input, Kind::Full, size, 0, &Token([5; 32])).unwrap();
    input.extend_from_slice(&zstd::encode_all(&raw[..], 1).unwrap());
    Wire {
        input: Cursor::new(input),
        output: Vec::new(),
    }
}

fn data(offset: u64, bytes: &[u8]) -> (Header, Vec<u8>) {
    let h = Header::Data {
        offset,
        len: bytes.len() as u32,
        hash: xxh3_128(bytes),
    };
    (h, bytes.to_vec())
}

fn run(mut wire: Wire, size: u64) -> (Result<Received, StreamError>, Vec<u8>) {
    let target = tempfile::tempfile().unwrap();
    target.set_len(size).unwrap();
    let expect = Expect {
        token: Token([5; 32]),
        kind: Kind::Full,
        base: None,
    };
    let r = receive(&mut wire, &target, size, &expect);
    (r, wire.output)
}

#[test]
fn a_well_formed_stream_is_accepted_and_answered_ok() {
    let frames = [
        data(0, b"hello"),
        (
            Header::Zero {
                offset: 5,
                len: 4091,
            },
            vec![],
        ),
    ];
    let (r, answer) = run(stream(4096, &frames, true), 4096);
    let r = r.unwrap();
    assert_eq!(&answer[..2], b"GO", "the preamble is accepted first");
    let answer = &answer[2..];
    assert_eq!(&answer[..2], b"OK");
    assert_eq!(
        u128::from_le_bytes(answer[2..18].try_into().unwrap()),
        r.digest
    );
}

/// Frames, whether an END follows, and what the refusal must say.
type Case = (Vec<(Header, Vec<u8>)>, bool, &'static str);

#[test]
fn hostile_frames_are_refused_with_their_reason() {
    let over = vec![7u8; MAX_DATA as usize + 1];
    let mut lying = data(0, b"abcd");
    lying.1 = b"abce".to_vec();
    let cases: Vec<Case> = vec![
        (vec![data(0, b"ab"), data(1, b"cd")], true, "overlaps"),
        (vec![data(4094, b"abcd")], true, "past the end"),
        (
            vec![(
                Header::Zero {
                    offset: 0,
                    len: u64::MAX,
                },
                vec![],
            )],
            true,
            "past the end",
        ),
        (
            vec![(Header::Zero { offset: 0, len: 0 }, vec![])],
            true,
            "empty ZERO",
        ),
        (vec![data(0, &over)], true, "1..=1 MiB"),
        (vec![lying], true, "checksum mismatch"),
        (vec![data(0, b"ab")], true, "covers 2 of"),
        (vec![data(0, b"ab")], false, "ended before"),
    ];
    for (frames, end, why) in cases {
        let (r, answer) = run(stream(4096, &frames, end), 4096);
        let err = r.unwrap_err().to_string();
        assert!(err.contains(why), "{why}: {err}");
        assert_eq!(&answer[..2], b"GO", "{why}: the preamble was fine");
        let answer = &answer[2..];
        assert_eq!(&answer[..2], b"NO", "{why}");
        assert!(String::from_utf8_lossy(&answer[4..]).contains(why), "{why}");
    }
}

#[test]
fn an_end_frame_that_does_not_match_what_arrived_is_refused() {
    let mut wire = stream(4, &[], false);
    // Replace the (empty) compressed part with frames plus an END claiming another digest.
    let mut raw = header_bytes(&data(0, b"abcd").0);
    raw.extend_from_slice(b"abcd");
    raw.extend_from_slice(&header_bytes(&Header::End {
        frames: 1,
        digest: 42,
    }));
    let mut input = wire.input.into_inner()[..68].to_vec();
    input.extend_from_slice(&zstd::encode_all(&raw[..], 1).unwrap());
    wire.input = Cursor::new(input);
    let (r, _) = run(wire, 4);
    assert!(matches!(r, Err(StreamError::Digest)), "{r:?}");
}

#[test]
fn garbage_instead_of_a_stream_is_refused() {
    let wire = Wire {
        input: Cursor::new(vec![b'G'; 200]),
        output: Vec::new(),
    };
    let (r, answer) = run(wire, 4096);
    assert!(matches!(r, Err(StreamError::Magic)), "{r:?}");
    assert_eq!(
        &answer[..2],
        b"NO",
        "refused in place of GO: no frame is read"
    );
}
