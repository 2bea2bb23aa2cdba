//! The receiving end: check who is sending and what, decompress, verify every frame, write,
//! sync, and only then answer "OK" with the digest.
//!
//! Everything on the wire is hostile until checked: the token before any decompression, every
//! frame's range against the volume (strictly increasing, never past its end, DATA at most
//! 1 MiB so memory stays bounded), every DATA frame's XXH3-128 after decompression, the END
//! frame's count and digest against what arrived, and a full stream's coverage of the volume.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::thread;

use rustix::fs::{FallocateFlags, fallocate};
use subtle::ConstantTimeEq;
use xxhash_rust::xxh3::xxh3_128;

use super::StreamError;
use super::format::{self, Digest, Header, Kind, MAX_DATA, Token};

/// What the receiver accepts.
#[derive(Debug, Clone)]
pub struct Expect {
    pub token: Token,
    pub kind: Kind,
    /// For a delta: the digest of the full pass this target verified.
    pub base: Option<u128>,
}

/// What a receiver wrote and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub kind: Kind,
    pub size: u64,
    pub data_bytes: u64,
    pub zero_bytes: u64,
    pub frames: u64,
    pub digest: u128,
}

/// Receive one stream into `target` (a block device or file of at least the stream's size).
/// On any failure the sender is told why (best effort) and the error is returned; the target
/// then holds a partial copy that must not be used.
pub fn receive<S: Read + Write>(
    stream: &mut S,
    target: &File,
    target_size: u64,
    expect: &Expect,
) -> Result<Received, StreamError> {
    let result = receive_frames(stream, target, target_size, expect);
    match &result {
        Ok(r) => format::write_verdict_ok(stream, r.digest).map_err(StreamError::Io)?,
        // A sender that is gone cannot be told; the caller still gets the first error.
        Err(e) => {
            let _ = format::write_verdict_refused(stream, &e.to_string());
        }
    }
    result
}

fn receive_frames<S: Read + Write>(
    stream: &mut S,
    target: &File,
    target_size: u64,
    expect: &Expect,
) -> Result<Received, StreamError> {
    let pre = format::read_preamble(stream).map_err(StreamError::Io)?;
    if !pre.magic_ok {
        return Err(StreamError::Magic);
    }
    if pre.version != format::VERSION {
        return Err(StreamError::Version(pre.version));
    }
    if !bool::from(pre.token.ct_eq(&expect.token.0)) {
        return Err(StreamError::Token);
    }
    let kind = pre.kind.ok_or(StreamError::Frame {
        offset: 0,
        reason: "unknown stream kind",
    })?;
    if kind != expect.kind {
        return Err(StreamError::Kind {
            expected: expect.kind.as_str(),
            got: kind.as_str(),
        });
    }
    if let Some(base) = expect.base
        && base != pre.base
    {
        return Err(StreamError::Base {
            expected: base,
            got: pre.base,
        });
    }
    if pre.size > target_size {
        return Err(StreamError::TooSmall {
            have: target_size,
            need: pre.size,
        });
    }
    let size = pre.size;
    format::write_go(stream).map_err(StreamError::Io)?;

    let mut dec =
        zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(256 << 10, &mut *stream))
            .map_err(StreamError::Io)?;
    let mut digest = Digest::new();
    let mut next = 0u64;
    let (mut data_bytes, mut zero_bytes) = (0u64, 0u64);
    let writer = Writer::start(target)?;
    let decoded = (|| -> Result<(), StreamError> {
        loop {
            let header = match format::read_header(&mut dec) {
                Ok(Some(h)) => h,
                Ok(None) => {
                    return Err(StreamError::Frame {
                        offset: next,
                        reason: "unknown frame tag",
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(StreamError::Truncated);
                }
                Err(e) => return Err(StreamError::Io(e)),
            };
            match header {
                Header::Data { offset, len, hash } => {
                    if len == 0 || len > MAX_DATA {
                        return Err(StreamError::Frame {
                            offset,
                            reason: "DATA length outside 1..=1 MiB",
                        });
                    }
                    check_range(offset, len as u64, next, size)?;
                    let mut buf = writer.buffer();
                    buf.resize(len as usize, 0);
                    dec.read_exact(&mut buf).map_err(|e| match e.kind() {
                        io::ErrorKind::UnexpectedEof => StreamError::Truncated,
                        _ => StreamError::Io(e),
                    })?;
                    if xxh3_128(&buf) != hash {
                        return Err(StreamError::Checksum {
                            offset,
                            len: len as u64,
                        });
                    }
                    writer.send(Job::Data { offset, buf })?;
                    digest.add(&format::header_bytes(&header));
                    data_bytes += len as u64;
                    next = offset + len as u64;
                }
                Header::Zero { offset, len } => {
                    if len == 0 {
                        return Err(StreamError::Frame {
                            offset,
                            reason: "empty ZERO run",
                        });
                    }
                    check_range(offset, len, next, size)?;
                    writer.send(Job::Zero { offset, len })?;
                    digest.add(&format::header_bytes(&header));
                    zero_bytes += len;
                    next = offset + len;
                }
                Header::End {
                    frames,
                    digest: theirs,
                } => {
                    if frames != digest.frames || theirs != digest.value() {
                        return Err(StreamError::Digest);
                    }
                    if kind == Kind::Full && next != size {
                        return Err(StreamError::Incomplete {
                            covered: next,
                            size,
                        });
                    }
                    return Ok(());
                }
            }
        }
    })();
    // The writer's own failure comes first: a decode error after it is only its consequence.
    writer.finish()?;
    decoded?;
    target.sync_data().map_err(|e| StreamError::Write {
        offset: size,
        source: e,
    })?;
    Ok(Received {
        kind,
        size,
        data_bytes,
        zero_bytes,
        frames: digest.frames,
        digest: digest.value(),
    })
}

/// One write for the writer thread.
enum Job {
    Data { offset: u64, buf: Vec<u8> },
    Zero { offset: u64, len: u64 },
}

/// A thread that writes while the next frames are decompressed and checked; it hands its
/// buffers back for reuse, so at most a few MiB are in flight.
struct Writer {
    tx: Option<mpsc::SyncSender<Job>>,
    back: mpsc::Receiver<Vec<u8>>,
    thread: thread::JoinHandle<Result<(), StreamError>>,
}

impl Writer {
    fn start(target: &File) -> Result<Self, StreamError> {
        let target = target.try_clone().map_err(|e| StreamError::Write {
            offset: 0,
            source: e,
        })?;
        let (tx, rx) = mpsc::sync_channel::<Job>(4);
        let (back_tx, back) = mpsc::channel();
        let thread = thread::spawn(move || {
            for w in rx {
                match w {
                    Job::Data { offset, buf } => {
                        target
                            .write_all_at(&buf, offset)
                            .map_err(|e| StreamError::Write { offset, source: e })?;
                        let _ = back_tx.send(buf);
                    }
                    Job::Zero { offset, len } => zero_range(&target, offset, len)?,
                }
            }
            Ok(())
        });
        Ok(Self {
            tx: Some(tx),
            back,
            thread,
        })
    }

    fn buffer(&self) -> Vec<u8> {
        self.back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(MAX_DATA as usize))
    }

    /// A closed channel means the writer stopped on an error, which `finish` returns.
    fn send(&self, w: Job) -> Result<(), StreamError> {
        let tx = self.tx.as_ref().expect("until finish");
        tx.send(w).map_err(|_| StreamError::Write {
            offset: 0,
            source: io::Error::other("the writer stopped"),
        })
    }

    fn finish(mut self) -> Result<(), StreamError> {
        drop(self.tx.take());
        self.thread.join().unwrap_or_else(|_| {
            Err(StreamError::Write {
                offset: 0,
                source: io::Error::other("the writer panicked"),
            })
        })
    }
}

/// Frames arrive in strictly increasing order and stay inside the volume.
fn check_range(offset: u64, len: u64, next: u64, size: u64) -> Result<(), StreamError> {
    if offset < next {
        return Err(StreamError::Frame {
            offset,
            reason: "frame overlaps or precedes the previous one",
        });
    }
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(StreamError::Frame {
            offset,
            reason: "frame runs past the end of the volume",
        }),
    }
}

/// Make `len` bytes at `offset` read as zeros: punch them out (a block device zeroes and may
/// unmap, a file gets a hole), else zero them in place, else write zeros.
/// fallocate(2): FALLOC_FL_PUNCH_HOLE and FALLOC_FL_ZERO_RANGE, both with KEEP_SIZE, are
/// accepted by block devices since Linux 4.9.
fn zero_range(target: &File, offset: u64, len: u64) -> Result<(), StreamError> {
    let punch = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
    let zero = FallocateFlags::ZERO_RANGE | FallocateFlags::KEEP_SIZE;
    if fallocate(target, punch, offset, len).is_ok() || fallocate(target, zero, offset, len).is_ok()
    {
        return Ok(());
    }
    let zeros = vec![0u8; (len.min(MAX_DATA as u64)) as usize];
    let mut at = offset;
    while at < offset + len {
        let n = (offset + len - at).min(zeros.len() as u64) as usize;
        target
            .write_all_at(&zeros[..n], at)
            .map_err(|e| StreamError::Write {
                offset: at,
                source: e,
            })?;
        at += n as u64;
    }
    Ok(())
}

#[cfg(test)]
#[path = "receive_tests.rs"]
mod tests;
