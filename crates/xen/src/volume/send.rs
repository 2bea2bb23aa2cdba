//! The sending end: read the volume, skip zeros, hash, compress on every core, stream.
//!
//! A reader thread reads 4 MiB windows with `pread`, classifies each 64 KiB block as zeros or
//! data and hashes each run of data (XXH3-128); the calling thread writes the frames into a
//! multithreaded zstd encoder whose workers compress while the next window is read.

use std::fs::File;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::thread;

use xxhash_rust::xxh3::xxh3_128;

use super::StreamError;
use super::aligned::Aligned;
use super::format::{self, Answer, BLOCK, Digest, Header, Kind, MAX_DATA, Token, write_preamble};

const WINDOW: u64 = 4 << 20;

/// How to compress: zstd's level and worker threads (0: compress on the calling thread).
#[derive(Debug, Clone, Copy)]
pub struct Compression {
    pub level: i32,
    pub workers: u32,
}

impl Default for Compression {
    /// zstd's fast level -3 on every core. On two cores both ends of a move share the CPUs and
    /// compression is what limits the stream: level -3 moves the benchmark's 2 GiB volume
    /// (BENCHMARKS.md, "Volume streams") in ≈ 2.1–2.3 s against ≈ 2.8 s at level 1, for 29 % more
    /// bytes on the wire (311 MB instead of 241 MB). On a slow link with idle CPUs a higher
    /// level pays (`metal-agent volume send --level`).
    fn default() -> Self {
        let cores = thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        Self {
            level: -3,
            workers: cores.max(1),
        }
    }
}

/// What a sender sent, as the receiver confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub kind: Kind,
    /// The volume's size in bytes (the logical size of the stream).
    pub size: u64,
    /// Bytes sent as DATA (read, hashed, compressed).
    pub data_bytes: u64,
    /// Bytes sent as ZERO runs (never read twice, never compressed).
    pub zero_bytes: u64,
    /// Bytes on the wire after the preamble, compressed.
    pub wire_bytes: u64,
    pub frames: u64,
    /// The digest both ends agree on; a delta names it as its base.
    pub digest: u128,
}

/// Send the whole of `source` (`size` bytes, normally a snapshot of the guest's volume).
/// `source` may be opened with `O_DIRECT` (every read is 4 KiB-aligned in memory, and at
/// 512-byte multiples on the device when the ranges and the size are).
pub fn send_full<S: Read + Write>(
    stream: &mut S,
    source: &File,
    size: u64,
    token: &Token,
    compression: Compression,
) -> Result<Sent, StreamError> {
    send(
        stream,
        source,
        size,
        Kind::Full,
        0,
        std::iter::once(0..size).collect(),
        token,
        compression,
    )
}

/// Send the `changed` byte ranges of `origin` (sorted, non-overlapping: what
/// [`super::cow::Exceptions::changed_ranges`] gives) as a delta on the full pass `base`.
pub fn send_delta<S: Read + Write>(
    stream: &mut S,
    origin: &File,
    size: u64,
    base: u128,
    changed: Vec<Range<u64>>,
    token: &Token,
    compression: Compression,
) -> Result<Sent, StreamError> {
    send(
        stream,
        origin,
        size,
        Kind::Delta,
        base,
        changed,
        token,
        compression,
    )
}

/// One window the reader has read and classified.
struct Window {
    buf: Aligned,
    /// Byte offset of `buf[0]` in the volume.
    offset: u64,
    /// (start within buf, len, Some(hash) for data | None for zeros)
    runs: Vec<(usize, usize, Option<u128>)>,
}

#[allow(clippy::too_many_arguments)]
fn send<S: Read + Write>(
    stream: &mut S,
    source: &File,
    size: u64,
    kind: Kind,
    base: u128,
    ranges: Vec<Range<u64>>,
    token: &Token,
    compression: Compression,
) -> Result<Sent, StreamError> {
    for r in &ranges {
        if r.start >= r.end || r.end > size {
            return Err(StreamError::Range {
                start: r.start,
                end: r.end,
                size,
            });
        }
    }
    write_preamble(stream, kind, size, base, token).map_err(StreamError::Io)?;
    stream.flush().map_err(StreamError::Io)?;
    match format::read_answer(stream) {
        Ok(Answer::Go) => {}
        Ok(Answer::Refused(reason)) => return Err(StreamError::Refused(reason)),
        Ok(Answer::Verified(_) | Answer::Garbage) => {
            return Err(StreamError::Refused(
                "an answer to the preamble that is not GO or NO".into(),
            ));
        }
        Err(e) => return Err(StreamError::NoVerdict(e)),
    }

    let source = source.try_clone().map_err(|e| StreamError::Read {
        offset: 0,
        source: e,
    })?;
    let (tx, rx) = mpsc::sync_channel::<Result<Window, StreamError>>(2);
    let (back_tx, back_rx) = mpsc::channel::<Aligned>();
    let reader = thread::spawn(move || read_windows(&source, ranges, &tx, &back_rx));

    let mut counting = Counting {
        inner: &mut *stream,
        bytes: 0,
    };
    let result = (|| {
        let mut enc = zstd::stream::write::Encoder::new(&mut counting, compression.level)
            .map_err(StreamError::Io)?;
        if compression.workers > 0 {
            enc.multithread(compression.workers)
                .map_err(StreamError::Io)?;
        }
        let mut digest = Digest::new();
        let (mut data_bytes, mut zero_bytes) = (0u64, 0u64);
        // A ZERO run is held back until the next data (or the end), so runs join across windows.
        let mut zero_run: Option<(u64, u64)> = None;
        for window in rx.iter() {
            let window = window?;
            for &(start, len, hash) in &window.runs {
                let offset = window.offset + start as u64;
                match hash {
                    None => {
                        zero_run = match zero_run {
                            Some((o, l)) if o + l == offset => Some((o, l + len as u64)),
                            Some((o, l)) => {
                                emit(
                                    &mut enc,
                                    &mut digest,
                                    Header::Zero { offset: o, len: l },
                                    &[],
                                )?;
                                zero_bytes += l;
                                Some((offset, len as u64))
                            }
                            None => Some((offset, len as u64)),
                        };
                    }
                    Some(hash) => {
                        if let Some((o, l)) = zero_run.take() {
                            emit(
                                &mut enc,
                                &mut digest,
                                Header::Zero { offset: o, len: l },
                                &[],
                            )?;
                            zero_bytes += l;
                        }
                        let bytes = &window.buf.as_slice()[start..start + len];
                        emit(
                            &mut enc,
                            &mut digest,
                            Header::Data {
                                offset,
                                len: len as u32,
                                hash,
                            },
                            bytes,
                        )?;
                        data_bytes += len as u64;
                    }
                }
            }
            // The reader reuses the buffer; if it has stopped, the buffer is simply dropped.
            let _ = back_tx.send(window.buf);
        }
        if let Some((o, l)) = zero_run.take() {
            emit(
                &mut enc,
                &mut digest,
                Header::Zero { offset: o, len: l },
                &[],
            )?;
            zero_bytes += l;
        }
        let end = Header::End {
            frames: digest.frames,
            digest: digest.value(),
        };
        enc.write_all(&format::header_bytes(&end))
            .map_err(StreamError::Io)?;
        enc.finish().map_err(StreamError::Io)?;
        Ok((digest, data_bytes, zero_bytes))
    })();
    drop(back_tx);
    // A failed write ends the loop above early; the reader then stops on its closed channel.
    drop(rx);
    let read_result = reader.join().unwrap_or(Ok(()));
    let (digest, data_bytes, zero_bytes) = match result {
        Ok(r) => r,
        // The receiver stopped reading: it may have said why before it closed.
        Err(StreamError::Io(e)) => {
            return Err(match format::read_answer(stream) {
                Ok(Answer::Refused(reason)) => StreamError::Refused(reason),
                _ => StreamError::Io(e),
            });
        }
        Err(e) => return Err(e),
    };
    read_result?;
    let wire_bytes = counting.bytes;
    stream.flush().map_err(StreamError::Io)?;

    match format::read_answer(stream) {
        Ok(Answer::Verified(theirs)) if theirs == digest.value() => Ok(Sent {
            kind,
            size,
            data_bytes,
            zero_bytes,
            wire_bytes,
            frames: digest.frames,
            digest: theirs,
        }),
        Ok(Answer::Verified(_)) => Err(StreamError::VerdictDigest),
        Ok(Answer::Refused(reason)) => Err(StreamError::Refused(reason)),
        Ok(Answer::Go | Answer::Garbage) => Err(StreamError::Refused(
            "an answer that is not a verdict".into(),
        )),
        Err(e) => Err(StreamError::NoVerdict(e)),
    }
}

fn emit(
    enc: &mut impl Write,
    digest: &mut Digest,
    header: Header,
    bytes: &[u8],
) -> Result<(), StreamError> {
    let h = format::header_bytes(&header);
    digest.add(&h);
    enc.write_all(&h).map_err(StreamError::Io)?;
    enc.write_all(bytes).map_err(StreamError::Io)
}

/// The reader thread: every range in windows, classified; stops when the consumer hangs up.
fn read_windows(
    source: &File,
    ranges: Vec<Range<u64>>,
    tx: &mpsc::SyncSender<Result<Window, StreamError>>,
    back: &mpsc::Receiver<Aligned>,
) -> Result<(), StreamError> {
    for range in ranges {
        let mut offset = range.start;
        while offset < range.end {
            let len = (range.end - offset).min(WINDOW) as usize;
            let mut buf = back.try_recv().unwrap_or_else(|_| Aligned::new(len));
            buf.set_len(len);
            if let Err(e) = source.read_exact_at(buf.as_mut_slice(), offset) {
                let err = StreamError::Read { offset, source: e };
                let _ = tx.send(Err(err));
                return Ok(());
            }
            let runs = classify(buf.as_slice(), offset);
            if tx.send(Ok(Window { buf, offset, runs })).is_err() {
                return Ok(());
            }
            offset += len as u64;
        }
    }
    Ok(())
}

/// Split a window at the volume's 64 KiB boundaries into runs of zeros and runs of data (each
/// data run at most [`MAX_DATA`] bytes), hashing the data runs.
fn classify(buf: &[u8], offset: u64) -> Vec<(usize, usize, Option<u128>)> {
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    let mut at = 0usize;
    while at < buf.len() {
        let absolute = offset + at as u64;
        let to_boundary = (BLOCK - absolute % BLOCK) as usize;
        let len = to_boundary.min(buf.len() - at);
        let zero = is_zero(&buf[at..at + len]);
        match runs.last_mut() {
            Some((_, l, z)) if *z == zero && (zero || *l + len <= MAX_DATA as usize) => *l += len,
            _ => runs.push((at, len, zero)),
        }
        at += len;
    }
    runs.into_iter()
        .map(|(s, l, zero)| (s, l, (!zero).then(|| xxh3_128(&buf[s..s + l]))))
        .collect()
}

/// Whether every byte is zero: OR-folds of 64 bytes, which the compiler vectorises.
pub(crate) fn is_zero(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(64);
    let blocks = chunks
        .by_ref()
        .all(|c| c.iter().fold(0u8, |acc, &x| acc | x) == 0);
    blocks && chunks.remainder().iter().all(|&x| x == 0)
}

/// Counts the compressed bytes that reach the connection.
struct Counting<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
