//! Buffers aligned to 4 KiB: `O_DIRECT` reads and writes need them, and a Dom0's volumes are
//! read with `O_DIRECT` so a migration does not push its 512 MB of memory out of the page cache.

pub(crate) struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    const ALIGN: usize = 4096;

    pub fn new(len: usize) -> Self {
        let storage = vec![0u8; len + Self::ALIGN];
        let start = storage.as_ptr().align_offset(Self::ALIGN);
        Self {
            storage,
            start,
            len,
        }
    }

    /// Use the first `len` bytes (growing the buffer if it is smaller).
    pub fn set_len(&mut self, len: usize) {
        if self.start + len > self.storage.len() {
            *self = Self::new(len);
        }
        self.len = len;
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}
