//! The sessions of logged-in operators and the recent login failures, in memory: a session
//! is a random 256-bit id, its operator, its CSRF token and its last use.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// Sessions kept at once; the least recently used goes first.
const MAX_SESSIONS: usize = 4096;
/// Login attempts allowed per address per minute (a successful one clears the count).
pub const FAILURES_PER_MINUTE: u32 = 10;
/// Addresses whose attempts are remembered at once.
const MAX_FAILING: usize = 4096;

/// One operator's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub operator: String,
    pub csrf: String,
    last: Instant,
    flash: Option<String>,
}

#[derive(Default)]
struct Book {
    by_id: HashMap<String, Session>,
    failures: HashMap<IpAddr, (u32, Instant)>,
}

/// Every open session, and recent login failures.
#[derive(Default)]
pub struct Sessions {
    book: Mutex<Book>,
}

/// What login attempts are counted by: the address, an IPv6 one by its /64 (one host holds a
/// whole /64).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::V6(std::net::Ipv6Addr::from(o))
        }
        v4 => v4,
    }
}

/// 256 random bits in hex (`rand`'s thread generator is a CSPRNG seeded from the OS).
pub(crate) fn token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn create(&self, operator: &str) -> String {
        let mut book = self.lock();
        book.by_id.retain(|_, s| s.last.elapsed() < IDLE);
        if book.by_id.len() >= MAX_SESSIONS
            && let Some(oldest) = book
                .by_id
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(id, _)| id.clone())
        {
            book.by_id.remove(&oldest);
        }
        let id = token();
        book.by_id.insert(
            id.clone(),
            Session {
                operator: operator.to_string(),
                csrf: token(),
                last: Instant::now(),
                flash: None,
            },
        );
        id
    }

    pub(crate) fn touch(&self, id: &str) -> Option<Session> {
        let mut book = self.lock();
        let s = book.by_id.get_mut(id)?;
        if s.last.elapsed() >= IDLE {
            book.by_id.remove(id);
            return None;
        }
        s.last = Instant::now();
        Some(s.clone())
    }

    pub(crate) fn remove(&self, id: &str) {
        self.lock().by_id.remove(id);
    }

    /// Leaves a message for the session's next page.
    pub(crate) fn flash(&self, id: &str, message: String) {
        if let Some(s) = self.lock().by_id.get_mut(id) {
            s.flash = Some(message);
        }
    }

    pub(crate) fn take_flash(&self, id: &str) -> Option<String> {
        self.lock().by_id.get_mut(id)?.flash.take()
    }

    /// Counts a login attempt from `ip` before its password is checked, so parallel attempts
    /// cannot all pass; `false` when the address has had its attempts for this minute. IPv6
    /// addresses count by /64 (one host holds a whole /64). When every slot is held by other
    /// addresses, attempts from a new one are refused rather than left uncounted.
    pub(crate) fn attempt(&self, ip: IpAddr) -> bool {
        let key = source_key(ip);
        let mut book = self.lock();
        book.failures
            .retain(|_, (_, since)| since.elapsed() < Duration::from_secs(60));
        if book.failures.len() >= MAX_FAILING && !book.failures.contains_key(&key) {
            return false;
        }
        let entry = book.failures.entry(key).or_insert((0, Instant::now()));
        if entry.0 >= FAILURES_PER_MINUTE {
            return false;
        }
        entry.0 += 1;
        true
    }

    /// Forgets `ip`'s attempts after it logged in.
    pub(crate) fn succeeded(&self, ip: IpAddr) {
        let key = source_key(ip);
        self.lock().failures.remove(&key);
    }
}
