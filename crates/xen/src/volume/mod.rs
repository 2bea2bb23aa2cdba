//! Moving a guest's volume between Dom0s: a full pass from a snapshot while the guest runs, then
//! a delta of what changed since, with the guest stopped ([`format`] has the wire format).
//! Only data is read twice or compressed: zeros travel as runs, and the delta is read from the
//! snapshot's exception table ([`cow`]), not by comparing the volumes.

mod aligned;
pub mod cow;
pub mod format;
mod receive;
mod send;

pub use format::{BLOCK, Kind, MAX_DATA, Token};
pub use receive::{Expect, Received, receive};
pub use send::{Compression, Sent, send_delta, send_full};

/// Why a stream failed; either end names the cause, the receiver also tells the sender.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("reading the volume at byte {offset}: {source}")]
    Read { offset: u64, source: std::io::Error },
    #[error("writing the volume at byte {offset}: {source}")]
    Write { offset: u64, source: std::io::Error },
    #[error("the stream's connection: {0}")]
    Io(std::io::Error),
    #[error("range {start}..{end} is not inside the volume's {size} bytes")]
    Range { start: u64, end: u64, size: u64 },
    #[error("not a metal volume stream (bad magic)")]
    Magic,
    #[error("volume stream version {0} is not supported (this end speaks 1)")]
    Version(u16),
    #[error("the stream's token is not the one this transfer was given")]
    Token,
    #[error("expected a {expected} stream, got a {got} one")]
    Kind {
        expected: &'static str,
        got: &'static str,
    },
    #[error("the delta applies to full pass {got:032x}, this target verified {expected:032x}")]
    Base { expected: u128, got: u128 },
    #[error("the target volume holds {have} bytes, the stream needs {need}")]
    TooSmall { have: u64, need: u64 },
    #[error("frame at byte {offset}: {reason}")]
    Frame { offset: u64, reason: &'static str },
    #[error("checksum mismatch in the {len} bytes at byte {offset}")]
    Checksum { offset: u64, len: u64 },
    #[error("the stream ended before its end frame")]
    Truncated,
    #[error("the full stream covers {covered} of the volume's {size} bytes")]
    Incomplete { covered: u64, size: u64 },
    #[error("the end frame's count or digest differs from the frames that arrived")]
    Digest,
    #[error("the receiver refused the stream: {0}")]
    Refused(String),
    #[error("the receiver confirmed a different digest than was sent")]
    VerdictDigest,
    #[error("the receiver gave no verdict: {0}")]
    NoVerdict(std::io::Error),
}
