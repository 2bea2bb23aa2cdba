//! Which chunks of an origin changed since its snapshot was taken, from the snapshot's
//! persistent exception store (the `-cow` device of an LVM snapshot).
//!
//! Linux `drivers/md/dm-snap-persistent.c` (format version 1), all little-endian:
//! - chunk 0 is the header `struct disk_header { __le32 magic; __le32 valid; __le32 version;
//!   __le32 chunk_size; }`, magic `SNAP_MAGIC` = 0x70416e53, `chunk_size` in 512-byte sectors;
//!   `valid` is 0 once the snapshot overflowed (it no longer says what changed).
//! - metadata areas follow: area `i` is at chunk `1 + (exceptions_per_area + 1) * i`
//!   (`area_location`), one chunk of `struct disk_exception { __le64 old_chunk; __le64 new_chunk; }`
//!   with `exceptions_per_area = chunk_size * 512 / 16`, each area followed by the data chunks of
//!   its exceptions.
//! - the table ends at the first exception whose `new_chunk` is 0 (`insert_exceptions`: chunk 0
//!   is the header, so no exception can point there).
//!
//! Every origin chunk written after the snapshot was taken has an exception whose `old_chunk` is
//! its chunk number. Read the device with `O_DIRECT`: the kernel writes the table below the
//! page cache of the `-cow` device node.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use super::aligned::Aligned;

const SNAP_MAGIC: u32 = 0x7041_6e53;
const SECTOR: u64 = 512;
const EXCEPTION: u64 = 16;
/// LVM's snapshot chunk sizes are 4 KiB to 512 KiB; anything outside 512 B to 1 MiB is corrupt.
const MAX_CHUNK_SECTORS: u32 = 2048;

#[derive(Debug, thiserror::Error)]
pub enum CowError {
    #[error("reading the snapshot's exception store at byte {offset}: {source}")]
    Read { offset: u64, source: std::io::Error },
    #[error("not a persistent snapshot exception store (magic {0:#010x})")]
    Magic(u32),
    #[error(
        "the snapshot overflowed (its exception store is marked invalid): it no longer records every change"
    )]
    Invalid,
    #[error("exception store version {0} is not supported (version 1 is)")]
    Version(u32),
    #[error("exception store chunk size of {0} sectors is not a power of two up to 1 MiB")]
    ChunkSize(u32),
    #[error("exception for origin chunk {chunk} lies beyond the origin's {origin_bytes} bytes")]
    Beyond { chunk: u64, origin_bytes: u64 },
}

/// The origin chunks changed since the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceptions {
    pub chunk_bytes: u64,
    /// Sorted, without repeats.
    pub chunks: Vec<u64>,
}

impl Exceptions {
    /// Read the table from `cow` (`cow_bytes` long) of a snapshot of an origin of `origin_bytes`.
    pub fn read(cow: &File, cow_bytes: u64, origin_bytes: u64) -> Result<Self, CowError> {
        // 4 KiB: the smallest chunk LVM makes, and a whole logical block on any disk.
        let mut head = Aligned::new(4096);
        read_at(cow, head.as_mut_slice(), 0)?;
        let word =
            |i: usize| u32::from_le_bytes(head.as_slice()[i * 4..i * 4 + 4].try_into().expect("4"));
        let (magic, valid, version, chunk_sectors) = (word(0), word(1), word(2), word(3));
        if magic != SNAP_MAGIC {
            return Err(CowError::Magic(magic));
        }
        if version != 1 {
            return Err(CowError::Version(version));
        }
        if valid == 0 {
            return Err(CowError::Invalid);
        }
        if chunk_sectors == 0
            || !chunk_sectors.is_power_of_two()
            || chunk_sectors > MAX_CHUNK_SECTORS
        {
            return Err(CowError::ChunkSize(chunk_sectors));
        }
        let chunk_bytes = chunk_sectors as u64 * SECTOR;
        let per_area = chunk_bytes / EXCEPTION;
        let mut area = Aligned::new(chunk_bytes as usize);
        let mut chunks = Vec::new();
        'areas: for i in 0u64.. {
            let location = 1 + (per_area + 1) * i;
            let offset = location * chunk_bytes;
            if offset + chunk_bytes > cow_bytes {
                break;
            }
            read_at(cow, area.as_mut_slice(), offset)?;
            for e in area.as_slice().chunks_exact(EXCEPTION as usize) {
                let old = u64::from_le_bytes(e[..8].try_into().expect("8"));
                let new = u64::from_le_bytes(e[8..].try_into().expect("8"));
                if new == 0 {
                    break 'areas;
                }
                if old
                    .checked_mul(chunk_bytes)
                    .is_none_or(|b| b >= origin_bytes)
                {
                    return Err(CowError::Beyond {
                        chunk: old,
                        origin_bytes,
                    });
                }
                chunks.push(old);
            }
        }
        chunks.sort_unstable();
        chunks.dedup();
        Ok(Self {
            chunk_bytes,
            chunks,
        })
    }

    /// The changed chunks as byte ranges, neighbours joined, the last clipped to the origin.
    pub fn changed_ranges(&self, origin_bytes: u64) -> Vec<Range<u64>> {
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for &c in &self.chunks {
            let start = c * self.chunk_bytes;
            let end = (start + self.chunk_bytes).min(origin_bytes);
            match ranges.last_mut() {
                Some(r) if r.end == start => r.end = end,
                _ => ranges.push(start..end),
            }
        }
        ranges
    }

    /// Bytes the delta will carry.
    pub fn changed_bytes(&self, origin_bytes: u64) -> u64 {
        self.changed_ranges(origin_bytes)
            .iter()
            .map(|r| r.end - r.start)
            .sum()
    }
}

fn read_at(cow: &File, buf: &mut [u8], offset: u64) -> Result<(), CowError> {
    cow.read_exact_at(buf, offset)
        .map_err(|source| CowError::Read { offset, source })
}

#[cfg(test)]
#[path = "cow_tests.rs"]
mod tests;
