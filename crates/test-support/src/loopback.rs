//! Loopback address blocks: [`Block::allocate`] hands out a 127.X.Y.0/24 that no other test
//! holds at the same time, in this process or in any other.
//!
//! # The rule
//!
//! A test that binds, or points a client at, loopback addresses of its own (simulated boards
//! on the fixed AMT ports, a board that must not answer, a `--first-ip`, a CIDR to sweep) takes
//! them from a [`Block`] and keeps the `Block` alive for as long as anything may use them: the
//! simplest way is to allocate it first in the test, so it is dropped last. No test writes a
//! 127.x.y.z of its own for that. What needs no block: sockets on 127.0.0.1 port 0 (the kernel
//! picks a free port) and addresses that are only data (a DHCP range handed out in packets, an
//! inventory row).
//!
//! # Why it is safe when test processes run at once
//!
//! `cargo test` runs test binaries one after another but the tests inside one binary
//! concurrently; cargo-nextest runs every test in a process of its own. So the lease must hold
//! across processes, and it is the kernel's: block 127.X.Y.0/24 is held by a TCP listener on
//! 127.X.Y.254 port [`LEASE_PORT`] for the life of the `Block`. Linux refuses a second listener
//! on the same address and port (`EADDRINUSE`), whatever process asks, and closes a listener
//! when its process ends, so a crashed test never leaks a block. On `EADDRINUSE` the search
//! moves to the next block. It starts at an offset derived from the process id and a
//! per-process counter, so concurrent processes rarely probe the same blocks first.
//!
//! Blocks come from 127.100.0.0 – 127.199.255.0, a range no test, default or command uses for
//! anything else (the simulator's and `metal demo`'s defaults are in 127.0.x.y). A test may use
//! every address of its block on any port but [`LEASE_PORT`]; [`Block::ip`] stops short of the
//! lease address anyway.
//!
//! Any 127.x.y.z is a local address on Linux without configuration: the kernel routes all of
//! 127.0.0.0/8 to `lo`.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};

/// The port whose listener at 127.X.Y.254 leases block 127.X.Y.0/24. Below the kernel's
/// ephemeral range (32768–60999), so no outgoing connection is ever given it, and far from the
/// AMT ports (16992–16995).
pub const LEASE_PORT: u16 = 28254;

/// The first block of the range, 127.100.0.0, as a block number (the address shifted by 8).
const FIRST_BLOCK: u32 = u32::from_be_bytes([127, 100, 0, 0]) >> 8;
/// 127.100.0.0 – 127.199.255.0.
const BLOCKS: u32 = 100 * 256;
/// How many blocks one process steps over per allocation from its starting point; odd and not
/// a multiple of 5, so it and `BLOCKS` (2^10 · 5^2) share no factor and processes with
/// consecutive ids start far apart.
const SPREAD: u32 = 15_823;

static ALLOCATED: AtomicU32 = AtomicU32::new(0);

/// Consecutive 127.X.Y.0/24 blocks held by this test until it is dropped.
#[derive(Debug)]
pub struct Block {
    /// 127.X.Y.0 of the first block.
    base: u32,
    /// How many consecutive /24 blocks.
    count: u32,
    _leases: Vec<TcpListener>,
}

impl Block {
    /// One free 127.X.Y.0/24: addresses `ip(1)` to `ip(253)`.
    pub fn allocate() -> Block {
        Block::allocate_span(1)
    }

    /// `count` consecutive free /24 blocks, for a test with more boards than one block holds:
    /// `ip(n)` then counts on across the block boundaries.
    pub fn allocate_span(count: u32) -> Block {
        assert!(
            (1..=64).contains(&count),
            "a span of 1 to 64 blocks, not {count}"
        );
        let calls = ALLOCATED.fetch_add(1, Ordering::Relaxed);
        let start = std::process::id()
            .wrapping_mul(SPREAD)
            .wrapping_add(calls.wrapping_mul(count))
            % BLOCKS;
        for attempt in 0..BLOCKS {
            let first = (start + attempt) % BLOCKS;
            if first + count > BLOCKS {
                continue;
            }
            if let Some(leases) = lease(first, count) {
                return Block {
                    base: (FIRST_BLOCK + first) << 8,
                    count,
                    _leases: leases,
                };
            }
        }
        panic!("every loopback block in 127.100.0.0 – 127.199.255.0 is leased");
    }

    /// The first address, .1.
    pub fn first(&self) -> Ipv4Addr {
        self.ip(1)
    }

    /// The `n`-th address after 127.X.Y.0 (1 is the first); in a span it counts on into the
    /// next blocks. Panics at the last block's lease address (.254) or beyond.
    pub fn ip(&self, n: u32) -> Ipv4Addr {
        assert!(
            (1..self.count * 256 - 2).contains(&n),
            "address {n} is outside the block"
        );
        Ipv4Addr::from(self.base + n)
    }

    /// The first `n` addresses, `ip(1)` to `ip(n)`.
    pub fn range(&self, n: u32) -> impl Iterator<Item = Ipv4Addr> + '_ {
        (1..=n).map(|i| self.ip(i))
    }

    /// The first `n` addresses as a comma-separated target list.
    pub fn list(&self, n: u32) -> String {
        self.range(n)
            .map(|ip| ip.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The network of the first block with this prefix length (24 to 32), e.g. `127.X.Y.0/29`.
    pub fn cidr(&self, prefix: u8) -> String {
        assert!(
            (24..=32).contains(&prefix),
            "/{prefix} is not inside the block"
        );
        format!("{}/{prefix}", Ipv4Addr::from(self.base))
    }
}

/// Listens on .254 of each block from `first` on; `None` when one of them is held already.
fn lease(first: u32, count: u32) -> Option<Vec<TcpListener>> {
    let mut leases = Vec::new();
    for block in first..first + count {
        let address = Ipv4Addr::from(((FIRST_BLOCK + block) << 8) + 254);
        match TcpListener::bind((address, LEASE_PORT)) {
            Ok(listener) => leases.push(listener),
            Err(e) if e.kind() == ErrorKind::AddrInUse => return None,
            Err(e) => panic!("cannot lease {address}:{LEASE_PORT}: {e}"),
        }
    }
    Some(leases)
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test, not two: tests in one binary run concurrently, and a second allocator in this
    // process may lease the block `a` frees before this test binds it again.
    #[test]
    fn blocks_are_distinct_spans_count_across_boundaries_and_drop_frees() {
        let a = Block::allocate();
        let b = Block::allocate();
        assert_ne!(a.first(), b.first());
        assert_eq!(a.first().octets()[3], 1);
        let [x, y, ..] = a.first().octets()[1..] else {
            unreachable!()
        };
        assert!((100..=199).contains(&x), "{}", a.first());
        assert_eq!(a.cidr(29), format!("127.{x}.{y}.0/29"));
        assert_eq!(
            a.list(3),
            format!("127.{x}.{y}.1,127.{x}.{y}.2,127.{x}.{y}.3")
        );
        // A lease held elsewhere (here: by hand, as another process would) is skipped.
        let held = TcpListener::bind((Ipv4Addr::new(127, x, y, 254), LEASE_PORT));
        assert!(held.is_err(), "the block's lease is taken while it lives");

        let span = Block::allocate_span(4);
        let first = u32::from(span.first());
        assert_eq!(u32::from(span.ip(1000)), first + 999);
        assert_eq!(span.ip(256).octets()[3], 0);
        assert!(std::panic::catch_unwind(|| span.ip(4 * 256 - 2)).is_err());

        let first = a.first();
        drop(a);
        let again = TcpListener::bind((Ipv4Addr::new(127, x, y, 254), LEASE_PORT));
        assert!(again.is_ok(), "{first}'s lease is free after drop");
        drop((b, span));
    }
}
