//! The wire format of a volume stream (metal's own; both ends are `metal-agent`).
//!
//! ```text
//! preamble (68 bytes, uncompressed):
//!   magic "METALVOL" | version u16 | kind u8 (1 full, 2 delta) | 0u8
//!   | volume size u64 | base digest u128 (delta: the full pass it applies to; full: 0)
//!   | token [32]
//! the receiver's answer to the preamble (uncompressed), before any frame is sent:
//!   "GO"                          send the frames
//!   "NO" | len u16 | UTF-8 reason refused (token, kind, base, size): nothing was written
//! then one zstd stream of frames, in strictly increasing, non-overlapping byte order:
//!   1 DATA  offset u64 | len u32 (1..=1 MiB) | XXH3-128 of the len bytes u128 | the bytes
//!   2 ZERO  offset u64 | len u64 (> 0): the range reads as zeros on the target
//!   3 END   frame count u64 | digest u128: XXH3-128 over every DATA and ZERO header in order
//! then the receiver's verdict (uncompressed):
//!   "OK" | digest u128            the target holds every frame, checked and synced
//!   "NO" | len u16 | UTF-8 reason the target refused or failed; nothing was verified
//! ```
//! Integers are little-endian. A full stream covers every byte of the volume (DATA or ZERO), so
//! the target ends as an exact copy whatever it held before; a delta carries only the ranges
//! that changed since the snapshot its base was sent from.

use std::io::{self, Read, Write};

use xxhash_rust::xxh3::Xxh3;

pub(crate) const MAGIC: [u8; 8] = *b"METALVOL";
pub(crate) const VERSION: u16 = 1;
pub(crate) const PREAMBLE_LEN: usize = 68;
/// The largest DATA frame; a receiver refuses longer ones (its buffer is bounded by this).
pub const MAX_DATA: u32 = 1 << 20;
/// Zero detection granularity: a full pass sends a 64 KiB block of zeros as part of a ZERO run.
pub const BLOCK: u64 = 64 * 1024;

const TAG_DATA: u8 = 1;
const TAG_ZERO: u8 = 2;
const TAG_END: u8 = 3;

/// What a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The whole volume (from a snapshot while the guest runs).
    Full,
    /// Only what changed since the full pass's snapshot (the guest stopped).
    Delta,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Full => 1,
            Kind::Delta => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Full => "full",
            Kind::Delta => "delta",
        }
    }
}

/// A one-time secret the orchestrator gives both ends; the receiver refuses any other.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub [u8; 32]);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Preamble {
    pub version: u16,
    pub kind: Option<Kind>,
    pub size: u64,
    pub base: u128,
    pub token: [u8; 32],
    pub magic_ok: bool,
}

pub(crate) fn write_preamble(
    w: &mut impl Write,
    kind: Kind,
    size: u64,
    base: u128,
    token: &Token,
) -> io::Result<()> {
    let mut b = Vec::with_capacity(PREAMBLE_LEN);
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.push(kind.byte());
    b.push(0);
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&base.to_le_bytes());
    b.extend_from_slice(&token.0);
    w.write_all(&b)
}

pub(crate) fn read_preamble(r: &mut impl Read) -> io::Result<Preamble> {
    let mut b = [0u8; PREAMBLE_LEN];
    r.read_exact(&mut b)?;
    let kind = match b[10] {
        1 => Some(Kind::Full),
        2 => Some(Kind::Delta),
        _ => None,
    };
    Ok(Preamble {
        magic_ok: b[..8] == MAGIC,
        version: u16::from_le_bytes([b[8], b[9]]),
        kind,
        size: u64::from_le_bytes(b[12..20].try_into().expect("8 bytes")),
        base: u128::from_le_bytes(b[20..36].try_into().expect("16 bytes")),
        token: b[36..68].try_into().expect("32 bytes"),
    })
}

/// One frame's header as read (DATA's bytes follow it on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    Data { offset: u64, len: u32, hash: u128 },
    Zero { offset: u64, len: u64 },
    End { frames: u64, digest: u128 },
}

/// `None` is an unknown tag.
pub(crate) fn read_header(r: &mut impl Read) -> io::Result<Option<Header>> {
    let mut tag = [0u8; 1];
    r.read_exact(&mut tag)?;
    Ok(match tag[0] {
        TAG_DATA => {
            let mut b = [0u8; 28];
            r.read_exact(&mut b)?;
            Some(Header::Data {
                offset: u64::from_le_bytes(b[..8].try_into().expect("8")),
                len: u32::from_le_bytes(b[8..12].try_into().expect("4")),
                hash: u128::from_le_bytes(b[12..28].try_into().expect("16")),
            })
        }
        TAG_ZERO => {
            let mut b = [0u8; 16];
            r.read_exact(&mut b)?;
            Some(Header::Zero {
                offset: u64::from_le_bytes(b[..8].try_into().expect("8")),
                len: u64::from_le_bytes(b[8..].try_into().expect("8")),
            })
        }
        TAG_END => {
            let mut b = [0u8; 24];
            r.read_exact(&mut b)?;
            Some(Header::End {
                frames: u64::from_le_bytes(b[..8].try_into().expect("8")),
                digest: u128::from_le_bytes(b[8..].try_into().expect("16")),
            })
        }
        _ => None,
    })
}

/// The bytes of a header on the wire (what the digest covers, for DATA and ZERO).
pub(crate) fn header_bytes(h: &Header) -> Vec<u8> {
    let mut b = Vec::with_capacity(29);
    match *h {
        Header::Data { offset, len, hash } => {
            b.push(TAG_DATA);
            b.extend_from_slice(&offset.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&hash.to_le_bytes());
        }
        Header::Zero { offset, len } => {
            b.push(TAG_ZERO);
            b.extend_from_slice(&offset.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
        }
        Header::End { frames, digest } => {
            b.push(TAG_END);
            b.extend_from_slice(&frames.to_le_bytes());
            b.extend_from_slice(&digest.to_le_bytes());
        }
    }
    b
}

/// The running digest both ends keep over the frame headers.
pub(crate) struct Digest {
    hasher: Xxh3,
    pub frames: u64,
}

impl Digest {
    pub fn new() -> Self {
        Self {
            hasher: Xxh3::new(),
            frames: 0,
        }
    }

    pub fn add(&mut self, header_bytes: &[u8]) {
        self.hasher.update(header_bytes);
        self.frames += 1;
    }

    pub fn value(&self) -> u128 {
        self.hasher.digest128()
    }
}

pub(crate) fn write_verdict_ok(w: &mut impl Write, digest: u128) -> io::Result<()> {
    let mut b = Vec::with_capacity(18);
    b.extend_from_slice(b"OK");
    b.extend_from_slice(&digest.to_le_bytes());
    w.write_all(&b)?;
    w.flush()
}

pub(crate) fn write_verdict_refused(w: &mut impl Write, reason: &str) -> io::Result<()> {
    let reason = &reason.as_bytes()[..reason.len().min(4096)];
    let mut b = Vec::with_capacity(4 + reason.len());
    b.extend_from_slice(b"NO");
    b.extend_from_slice(&(reason.len() as u16).to_le_bytes());
    b.extend_from_slice(reason);
    w.write_all(&b)?;
    w.flush()
}

/// "GO": the preamble is accepted, frames may come.
pub(crate) fn write_go(w: &mut impl Write) -> io::Result<()> {
    w.write_all(b"GO")?;
    w.flush()
}

/// What a receiver can answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The preamble is accepted.
    Go,
    /// The target holds every frame, checked and synced, with this digest.
    Verified(u128),
    /// Refused or failed, with the receiver's reason.
    Refused(String),
    /// Bytes that are no answer at all.
    Garbage,
}

/// One answer from the receiver.
pub(crate) fn read_answer(r: &mut impl Read) -> io::Result<Answer> {
    let mut tag = [0u8; 2];
    r.read_exact(&mut tag)?;
    match &tag {
        b"GO" => Ok(Answer::Go),
        b"OK" => {
            let mut d = [0u8; 16];
            r.read_exact(&mut d)?;
            Ok(Answer::Verified(u128::from_le_bytes(d)))
        }
        b"NO" => {
            let mut n = [0u8; 2];
            r.read_exact(&mut n)?;
            let mut reason = vec![0u8; u16::from_le_bytes(n) as usize];
            r.read_exact(&mut reason)?;
            Ok(Answer::Refused(
                String::from_utf8_lossy(&reason).into_owned(),
            ))
        }
        _ => Ok(Answer::Garbage),
    }
}
