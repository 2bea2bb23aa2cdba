use std::io::Write;

use super::*;

const CHUNK: u64 = 4096;

/// An exception store as dm-snapshot writes it: header, then areas of (old, new) pairs.
fn store(valid: u32, areas: &[Vec<(u64, u64)>]) -> tempfile::NamedTempFile {
    let per_area = CHUNK / EXCEPTION;
    let mut image = vec![0u8; (CHUNK * (1 + (per_area + 1) * areas.len() as u64)) as usize];
    for (i, w) in [SNAP_MAGIC, valid, 1, (CHUNK / SECTOR) as u32]
        .iter()
        .enumerate()
    {
        image[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    for (a, entries) in areas.iter().enumerate() {
        let at = (CHUNK * (1 + (per_area + 1) * a as u64)) as usize;
        for (j, (old, new)) in entries.iter().enumerate() {
            let e = at + j * 16;
            image[e..e + 8].copy_from_slice(&old.to_le_bytes());
            image[e + 8..e + 16].copy_from_slice(&new.to_le_bytes());
        }
    }
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&image).unwrap();
    f
}

fn read(f: &tempfile::NamedTempFile, origin: u64) -> Result<Exceptions, CowError> {
    let len = f.as_file().metadata().unwrap().len();
    Exceptions::read(f.as_file(), len, origin)
}

#[test]
fn changed_chunks_come_sorted_and_joined_into_ranges() {
    let f = store(1, &[vec![(5, 2), (3, 3), (4, 4), (9, 5)]]);
    let e = read(&f, 10 * CHUNK - 100).unwrap();
    assert_eq!(e.chunks, vec![3, 4, 5, 9]);
    assert_eq!(
        e.changed_ranges(10 * CHUNK - 100),
        vec![3 * CHUNK..6 * CHUNK, 9 * CHUNK..10 * CHUNK - 100]
    );
    assert_eq!(e.changed_bytes(10 * CHUNK - 100), 4 * CHUNK - 100);
}

#[test]
fn a_full_area_continues_in_the_next_one() {
    let per_area = (CHUNK / EXCEPTION) as usize;
    let first: Vec<(u64, u64)> = (0..per_area as u64).map(|i| (i * 2, i + 2)).collect();
    let f = store(1, &[first, vec![(1, 300)]]);
    let e = read(&f, 1 << 30).unwrap();
    assert_eq!(e.chunks.len(), per_area + 1);
    assert_eq!(e.chunks[..3], [0, 1, 2]);
}

#[test]
fn an_empty_table_has_no_changes() {
    let f = store(1, &[vec![]]);
    assert!(read(&f, 1 << 20).unwrap().chunks.is_empty());
}

#[test]
fn an_overflowed_or_foreign_or_lying_store_is_refused() {
    let f = store(0, &[vec![(1, 2)]]);
    assert!(matches!(read(&f, 1 << 20), Err(CowError::Invalid)));
    let f = store(1, &[vec![(1 << 40, 2)]]);
    let err = read(&f, 1 << 20).unwrap_err();
    assert!(matches!(err, CowError::Beyond { .. }), "{err}");
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&[0x55u8; 8192]).unwrap();
    assert!(matches!(
        read(&f, 1 << 20),
        Err(CowError::Magic(0x5555_5555))
    ));
}
