//! The last load each deployed Dom0's agent reported, kept fresh by one poller for the
//! dashboard. A Dom0 whose agent has not answered within [`LoadBook::max_age`] has no entry:
//! its load is unknown, never zero.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use metal_inventory::{MachineState, Store};
use metal_xen::load::Load;

use crate::Config;
use crate::agent::{Agent, Agents};

/// Agents asked at once.
const CONCURRENCY: usize = 32;
/// The window each agent measures over, and the deadline of one question.
const WINDOW_SECS: u64 = 2;
const DEADLINE: Duration = Duration::from_secs(10);

/// Loads by Dom0 hostname, shared by the poller and every reader.
#[derive(Clone, Default)]
pub struct LoadBook {
    entries: Arc<RwLock<HashMap<String, (Instant, Load)>>>,
    max_age: Duration,
}

impl LoadBook {
    /// An empty book whose entries count as fresh for `max_age`.
    pub fn new(max_age: Duration) -> LoadBook {
        LoadBook {
            entries: Arc::default(),
            max_age,
        }
    }

    /// How long an answer counts.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// `host`'s load, if its agent answered lately.
    pub fn get(&self, host: &str) -> Option<Load> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(host)
            .filter(|(at, _)| at.elapsed() <= self.max_age)
            .map(|(_, load)| load.clone())
    }

    /// Records what `host`'s agent answered.
    pub fn put(&self, host: &str, load: Load) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.insert(host.to_string(), (Instant::now(), load));
    }

    /// Forgets `host` (its agent did not answer).
    pub fn forget(&self, host: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.remove(host);
    }

    /// Asks every deployed Dom0 of `store` through `agents` once; returns how many answered.
    pub async fn refresh(&self, agents: &Agents, store: &Store) -> usize {
        let Ok(machines) = store.machine_summaries().await else {
            return 0;
        };
        let path = format!("/v1/load?window={WINDOW_SECS}");
        let answered = std::sync::atomic::AtomicUsize::new(0);
        // Each answer is kept as it comes: a round slowed by unreachable agents must not
        // leave the fresh ones unknown until it ends.
        futures::stream::iter(
            machines
                .into_iter()
                .filter(|m| m.state == MachineState::Deployed),
        )
        .for_each_concurrent(CONCURRENCY, |m| {
            let (path, answered) = (&path, &answered);
            async move {
                let agent = Agent {
                    host: m.hostname.clone(),
                    address: m.address,
                };
                match agents.get::<Load>(&agent, path, DEADLINE).await {
                    Ok(load) => {
                        answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        self.put(&m.hostname, load);
                    }
                    Err(_) => self.forget(&m.hostname),
                }
            }
        })
        .await;
        answered.into_inner()
    }

    /// Refreshes every `interval` until the task is dropped. Without an agent authority
    /// (`config.pki`) nothing can be asked and every load stays unknown.
    pub async fn poll(self, config: Config, store: Store, interval: Duration) {
        let Ok(agents) = Agents::new(&config) else {
            return;
        };
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.refresh(&agents, &store).await;
        }
    }
}
