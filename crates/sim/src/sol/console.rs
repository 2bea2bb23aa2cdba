//! The host's serial port as the firmware sees it. Everything the host prints goes to a
//! bounded history (for `BoardHandle::console_output`) and, while a SOL session is open, to
//! that session's queue.
//!
//! Like real SOL, a session sees only what the host prints after it started: output
//! printed while no client is connected is not replayed (a UART keeps no backlog for a
//! late reader; the history is a test aid, not part of the protocol).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

/// Bytes of history kept; the oldest are dropped first, like a ring buffer.
const HISTORY: usize = 8 << 20;
/// Bytes queued for a session that does not keep up; beyond this output is dropped and the
/// session reports a TX overflow.
const QUEUE_LIMIT: usize = 16 << 20;

/// What a session has to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out {
    /// Host output (0x2A frames).
    Data(Vec<u8>),
    /// The host powered on (true) or off (false): a 0x29 status message.
    Power(bool),
    /// Output was lost because the session fell too far behind.
    Overflow,
}

struct Tap {
    id: u64,
    queue: VecDeque<Out>,
    queued: usize,
    overflowed: bool,
}

#[derive(Default)]
struct Inner {
    history: VecDeque<u8>,
    tap: Option<Tap>,
    next_id: u64,
}

/// One host serial port.
#[derive(Default)]
pub(crate) struct Console {
    inner: Mutex<Inner>,
    notify: Notify,
}

impl Console {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The host prints `bytes`.
    pub(crate) fn write(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut inner = self.inner();
        inner.history.extend(bytes);
        let excess = inner.history.len().saturating_sub(HISTORY);
        inner.history.drain(..excess);
        if let Some(tap) = inner.tap.as_mut() {
            if tap.queued + bytes.len() > QUEUE_LIMIT {
                if !tap.overflowed {
                    tap.overflowed = true;
                    tap.queue.push_back(Out::Overflow);
                }
            } else {
                tap.overflowed = false;
                tap.queued += bytes.len();
                tap.queue.push_back(Out::Data(bytes.to_vec()));
            }
            drop(inner);
            self.notify.notify_one();
        }
    }

    /// The host's power changed.
    pub(crate) fn power(&self, on: bool) {
        let mut inner = self.inner();
        if let Some(tap) = inner.tap.as_mut() {
            tap.queue.push_back(Out::Power(on));
            drop(inner);
            self.notify.notify_one();
        }
    }

    /// A session starts listening (replacing any other); returns its id.
    pub(crate) fn attach(&self) -> u64 {
        let mut inner = self.inner();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.tap = Some(Tap {
            id,
            queue: VecDeque::new(),
            queued: 0,
            overflowed: false,
        });
        id
    }

    /// Session `id` stops listening.
    pub(crate) fn detach(&self, id: u64) {
        let mut inner = self.inner();
        if inner.tap.as_ref().is_some_and(|t| t.id == id) {
            inner.tap = None;
        }
    }

    /// Everything queued for session `id`.
    pub(crate) fn take(&self, id: u64) -> Vec<Out> {
        let mut inner = self.inner();
        match inner.tap.as_mut() {
            Some(tap) if tap.id == id => {
                tap.queued = 0;
                tap.queue.drain(..).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Waits until something may have been queued.
    pub(crate) async fn changed(&self) {
        self.notify.notified().await;
    }

    /// The history: what the host printed (the most recent 8 MiB).
    pub(crate) fn history(&self) -> Vec<u8> {
        self.inner().history.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_see_only_output_after_they_attach() {
        let c = Console::default();
        c.write(b"before ");
        let id = c.attach();
        c.write(b"after");
        c.power(true);
        assert_eq!(c.take(id), [Out::Data(b"after".to_vec()), Out::Power(true)]);
        assert!(c.take(id).is_empty());
        c.detach(id);
        c.write(b"!");
        assert!(c.take(id).is_empty());
        assert_eq!(c.history(), b"before after!");
    }
}
