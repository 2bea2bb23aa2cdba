//! How much of the process one board's answers may hold.
//!
//! Each response is capped ([`crate::TransportOptions::max_response_bytes`]) and each
//! enumeration too ([`crate::client::MAX_ENUMERATION_BYTES`], [`crate::client::MAX_PULLS`]),
//! but a fleet run talks to hundreds of boards at once, and hundreds of hostile boards each
//! sending just under those caps would still add up. So beyond [`FREE_BYTES`] per response
//! or enumeration (real AMT answers are under 8 KB; the largest recorded one is 7.3 KB), bytes
//! are taken from one [`MemoryPool`] shared by every session of the run. When the pool is dry
//! the response fails at once (never waits: waiting while holding bytes could deadlock), with
//! an error naming the board; honest boards never draw on it.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes of one response, or of one enumeration, that need nothing from the pool.
pub const FREE_BYTES: usize = 64 * 1024;

/// The default pool: what all boards together may hold beyond their free bytes.
pub const DEFAULT_POOL_BYTES: usize = 128 * 1024 * 1024;

/// Bytes shared by the sessions of one run.
#[derive(Debug, Clone)]
pub struct MemoryPool {
    bytes: usize,
    permits: Arc<Semaphore>,
}

impl Default for MemoryPool {
    fn default() -> Self {
        MemoryPool::new(DEFAULT_POOL_BYTES)
    }
}

impl MemoryPool {
    /// A pool of `bytes` (at most `u32::MAX`).
    pub fn new(bytes: usize) -> MemoryPool {
        let bytes = bytes.min(u32::MAX as usize);
        MemoryPool {
            bytes,
            permits: Arc::new(Semaphore::new(bytes)),
        }
    }

    /// Its size.
    pub fn size(&self) -> usize {
        self.bytes
    }

    /// Bytes not held now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// What one response or enumeration holds: free bytes first, then bytes from the pool.
#[derive(Debug)]
pub struct Held {
    pool: MemoryPool,
    bytes: usize,
    permit: Option<OwnedSemaphorePermit>,
}

impl Held {
    /// Nothing yet.
    pub fn new(pool: &MemoryPool) -> Held {
        Held {
            pool: pool.clone(),
            bytes: 0,
            permit: None,
        }
    }

    /// Accounts for `more` bytes; `Err` when they would need more than the pool has left.
    pub fn grow(&mut self, more: usize) -> Result<(), PoolDry> {
        let before = self.bytes.saturating_sub(FREE_BYTES);
        let after = (self.bytes + more).saturating_sub(FREE_BYTES);
        let needed = u32::try_from(after - before).map_err(|_| PoolDry(self.pool.bytes))?;
        if needed > 0 {
            let permit = self
                .pool
                .permits
                .clone()
                .try_acquire_many_owned(needed)
                .map_err(|_| PoolDry(self.pool.bytes))?;
            match &mut self.permit {
                Some(p) => p.merge(permit),
                None => self.permit = Some(permit),
            }
        }
        self.bytes += more;
        Ok(())
    }

    /// Adds what `other` holds to this.
    pub fn absorb(&mut self, mut other: Held) {
        self.bytes += other.bytes;
        if let Some(permit) = other.permit.take() {
            match &mut self.permit {
                Some(p) => p.merge(permit),
                None => self.permit = Some(permit),
            }
        }
    }

    /// Bytes accounted for.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The shared pool had not enough bytes left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the run's shared response memory ({0} bytes) is exhausted by large answers")]
pub struct PoolDry(pub usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_answers_are_free_and_large_ones_draw_until_the_pool_is_dry() {
        let pool = MemoryPool::new(100_000);
        let mut small = Held::new(&pool);
        small.grow(FREE_BYTES).unwrap();
        assert_eq!(pool.available(), 100_000);
        let mut large = Held::new(&pool);
        large.grow(FREE_BYTES + 60_000).unwrap();
        assert_eq!(pool.available(), 40_000);
        let mut another = Held::new(&pool);
        assert_eq!(another.grow(FREE_BYTES + 50_000), Err(PoolDry(100_000)));
        drop(large);
        assert_eq!(pool.available(), 100_000, "given back on drop");
        another.grow(FREE_BYTES + 50_000).unwrap();
        let mut total = Held::new(&pool);
        total.absorb(another);
        assert_eq!(total.bytes(), FREE_BYTES + 50_000);
        assert_eq!(pool.available(), 50_000);
    }
}
