//! Recent boot events in memory: what booting machines reported (after the [`BootPolicy`]
//! kept them) and what the server itself observed (scripts served), broadcast to subscribers
//! (the `metal serve` log). This is a view for operators, not the record of truth: the
//! policy keeps events before they are accepted, so a subscriber that falls behind loses
//! log lines, never events.
//!
//! [`BootPolicy`]: crate::BootPolicy

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use metal_types::{BootEvent, MacAddr};
use tokio::sync::broadcast;

/// How many events are kept; older ones are dropped.
const KEEP: usize = 10_000;

/// An event, and what keeping it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The event.
    pub event: BootEvent,
    /// What the policy said about it (for example, that a machine is now deployed).
    pub note: Option<String>,
}

/// The recent events, cheap to clone.
#[derive(Debug, Clone)]
pub struct Events {
    kept: Arc<Mutex<VecDeque<BootEvent>>>,
    tx: broadcast::Sender<Heard>,
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl Events {
    /// None yet.
    pub fn new() -> Events {
        Events {
            kept: Arc::default(),
            tx: broadcast::channel(1024).0,
        }
    }

    /// Adds an event the policy has kept.
    pub fn record(&self, event: BootEvent, note: Option<String>) {
        {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() == KEEP {
                kept.pop_front();
            }
            kept.push_back(event.clone());
        }
        // No subscriber is fine: the event is kept either way.
        let _ = self.tx.send(Heard { event, note });
    }

    /// Adds what the server itself saw happen now.
    pub fn observe(&self, mac: MacAddr, stage: &str, message: &str, from: IpAddr) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let event = BootEvent {
            at_ms,
            mac,
            stage: stage.to_string(),
            message: message.to_string(),
            from,
        };
        self.record(event, None);
    }

    /// Every kept event, oldest first.
    pub fn list(&self) -> Vec<BootEvent> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().cloned().collect()
    }

    /// The kept events of one machine, oldest first.
    pub fn list_of(&self, mac: MacAddr) -> Vec<BootEvent> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().filter(|e| e.mac == mac).cloned().collect()
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Heard> {
        self.tx.subscribe()
    }
}
