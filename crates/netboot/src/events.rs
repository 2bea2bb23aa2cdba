//! Boot events: what installers and booted systems report back over HTTP, and what the server
//! itself observes (scripts served). Kept in memory and broadcast to subscribers (the
//! `metal serve` log now, the inventory later).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use metal_types::{BootEvent, MacAddr};
use tokio::sync::broadcast;

/// How many events are kept; older ones are dropped.
const KEEP: usize = 10_000;

/// The event record, cheap to clone.
#[derive(Debug, Clone)]
pub struct Events {
    kept: Arc<Mutex<VecDeque<BootEvent>>>,
    tx: broadcast::Sender<BootEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl Events {
    /// An empty record.
    pub fn new() -> Events {
        Events {
            kept: Arc::default(),
            tx: broadcast::channel(1024).0,
        }
    }

    /// Records an event now.
    pub fn record(&self, mac: MacAddr, stage: &str, message: &str, from: IpAddr) -> BootEvent {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let event = BootEvent {
            at_ms,
            mac,
            stage: stage.to_string(),
            message: message.to_string(),
            from,
        };
        {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() == KEEP {
                kept.pop_front();
            }
            kept.push_back(event.clone());
        }
        // No subscriber is fine: the event is kept either way.
        let _ = self.tx.send(event.clone());
        event
    }

    /// Every kept event, oldest first.
    pub fn list(&self) -> Vec<BootEvent> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().cloned().collect()
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<BootEvent> {
        self.tx.subscribe()
    }
}
