//! `metal watch`: the recovery ladder for deployed machines. Below it, Xen's own watchdogs do
//! the first rungs (a DomU's `xen_wdt` with `on_watchdog = "restart"`, `xenwatchdogd` in Dom0);
//! this is the last one, which only AMT can climb: a power cycle of the whole board.
//!
//! Every [`Settings::interval`] each deployed machine is probed twice: its agent (an mTLS
//! `GET /v1/host`, the heartbeat) and an ICMP echo of its Dom0 address. A machine for which
//! both fail for [`Settings::down_after`] is power-cycled over AMT (reset instead when AMT
//! refuses the cycle, as it does while a SOL session is open); then it has
//! [`Settings::boot_grace`] to come back before it is judged again. At most
//! [`Settings::max_cycles`] cycles per board per [`Settings::window`] (monit's "N restarts
//! within M cycles"); after [`Settings::broken_after`] cycles that did not bring it back it is
//! marked broken and left alone (Ironic puts a node in maintenance after repeated failures).
//! Two boards of one rack are never cycled within [`Settings::rack_spacing`] of each other (a
//! rack-wide fault is not fixed by cycling the whole rack). Every rung is an inventory event
//! with its reason; `dry_run` records what it would do and does nothing.
//!
//! [`Ladder`] is the decision alone (no I/O, tested with a clock of its own); [`run`] probes and
//! acts.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use metal_inventory::{MachineState, MachineSummary, Store};
use metal_types::PowerAction;

use crate::agent::{Agent, Agents};
use crate::{Config, Error, metrics};

/// The ladder's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub interval: Duration,
    pub down_after: Duration,
    pub boot_grace: Duration,
    pub max_cycles: u32,
    pub window: Duration,
    pub broken_after: u32,
    pub rack_spacing: Duration,
    pub dry_run: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interval: Duration::from_secs(15),
            down_after: Duration::from_secs(120),
            boot_grace: Duration::from_secs(300),
            max_cycles: 2,
            window: Duration::from_secs(3600),
            broken_after: 3,
            rack_spacing: Duration::from_secs(60),
            dry_run: false,
        }
    }
}

/// What to do about one machine now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rung {
    /// Nothing: alive, or not down long enough, or waiting for its boot.
    Wait,
    /// It answered again after a cycle.
    Recovered { cycles: u32 },
    /// Power-cycle it.
    Cycle { down_for: Duration },
    /// Down, but another board of its rack was cycled too recently.
    RackBusy,
    /// Down, but it had its cycles for this window.
    Limit { cycles: usize },
    /// Cycles did not bring it back: mark it broken.
    Broken { cycles: u32 },
}

#[derive(Debug, Default)]
struct Board {
    down_since: Option<Instant>,
    grace_until: Option<Instant>,
    cycles: VecDeque<Instant>,
    /// Cycles since it last answered.
    failed: u32,
    /// A limit or rack-busy rung already reported in this episode.
    held: bool,
}

/// The ladder's memory of every board.
#[derive(Debug)]
pub struct Ladder {
    settings: Settings,
    boards: HashMap<String, Board>,
    racks: HashMap<String, Instant>,
}

impl Ladder {
    pub fn new(settings: Settings) -> Ladder {
        Ladder {
            settings,
            boards: HashMap::new(),
            racks: HashMap::new(),
        }
    }

    /// Decides about `host` of `rack` at `now`, given whether it answered.
    pub fn observe(&mut self, now: Instant, host: &str, rack: &str, alive: bool) -> Rung {
        let s = self.settings;
        let b = self.boards.entry(host.to_string()).or_default();
        if alive {
            let rung = if b.failed > 0 {
                Rung::Recovered { cycles: b.failed }
            } else {
                Rung::Wait
            };
            b.down_since = None;
            b.grace_until = None;
            b.failed = 0;
            b.held = false;
            return rung;
        }
        if b.grace_until.is_some_and(|g| now < g) {
            return Rung::Wait;
        }
        let since = *b.down_since.get_or_insert(now);
        let down_for = now.saturating_duration_since(since);
        if down_for < s.down_after {
            return Rung::Wait;
        }
        if b.failed >= s.broken_after {
            return Rung::Broken { cycles: b.failed };
        }
        while b
            .cycles
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= s.window)
        {
            b.cycles.pop_front();
        }
        if b.cycles.len() >= s.max_cycles as usize {
            return held(
                b,
                Rung::Limit {
                    cycles: b.cycles.len(),
                },
            );
        }
        if !s.rack_spacing.is_zero()
            && self
                .racks
                .get(rack)
                .is_some_and(|t| now.saturating_duration_since(*t) < s.rack_spacing)
        {
            return held(b, Rung::RackBusy);
        }
        Rung::Cycle { down_for }
    }

    /// Records that `host` of `rack` was cycled at `now` (whether the cycle worked or not).
    pub fn cycled(&mut self, now: Instant, host: &str, rack: &str) {
        let b = self.boards.entry(host.to_string()).or_default();
        b.cycles.push_back(now);
        b.failed += 1;
        b.down_since = None;
        b.held = false;
        b.grace_until = Some(now + self.settings.boot_grace);
        self.racks.insert(rack.to_string(), now);
    }

    /// Forgets `host` (marked broken, or no longer deployed).
    pub fn forget(&mut self, host: &str) {
        self.boards.remove(host);
    }

    /// Forgets every board but `watched` (those no longer deployed: a machine deployed again
    /// later starts with a clean record).
    pub fn keep_only(&mut self, watched: &std::collections::HashSet<&str>) {
        self.boards.retain(|h, _| watched.contains(h.as_str()));
    }
}

/// A limit or rack-busy rung is reported once per episode; later rounds wait quietly.
fn held(b: &mut Board, rung: Rung) -> Rung {
    if b.held {
        Rung::Wait
    } else {
        b.held = true;
        rung
    }
}

/// What one probe of one machine found.
#[derive(Debug, Clone)]
pub struct Probe {
    pub agent: Result<(), String>,
    pub ping: Result<(), String>,
}

impl Probe {
    pub fn alive(&self) -> bool {
        self.agent.is_ok() || self.ping.is_ok()
    }

    fn why(&self) -> String {
        let part = |r: &Result<(), String>| match r {
            Ok(()) => "answers".to_string(),
            Err(e) => e.clone(),
        };
        format!("agent: {}; ping: {}", part(&self.agent), part(&self.ping))
    }
}

/// One ICMP echo through the system's `ping` (iputils; it holds the raw-socket capability, so
/// `metal` needs none), one second to answer.
async fn ping(address: IpAddr) -> Result<(), String> {
    let out = tokio::process::Command::new("ping")
        .args(["-n", "-q", "-c", "1", "-W", "1"])
        .arg(address.to_string())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(5), out).await {
        Ok(Ok(o)) if o.status.success() => Ok(()),
        Ok(Ok(_)) => Err("no echo reply".into()),
        Ok(Err(e)) => Err(format!("cannot run ping: {e}")),
        Err(_) => Err("ping did not finish".into()),
    }
}

async fn probe(agents: Option<&Agents>, m: &MachineSummary) -> Probe {
    let agent = async {
        let Some(agents) = agents else {
            return Err("no agent authority to ask with".to_string());
        };
        let agent = Agent {
            host: m.hostname.clone(),
            address: m.address,
        };
        agents
            .get::<serde_json::Value>(&agent, "/v1/host", Duration::from_secs(5))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let (agent, ping) = tokio::join!(agent, ping(m.address));
    Probe { agent, ping }
}

/// A line the watcher reports (also written to the event log).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub host: String,
    pub action: &'static str,
    pub reason: String,
}

const ACTOR: &str = "metal watch";

/// Runs the ladder until `stop_after` passes (forever with `None`), calling `report` with
/// every rung taken.
pub async fn run(
    config: &Config,
    settings: Settings,
    stop_after: Option<Duration>,
    report: &mut (dyn FnMut(Report) + Send),
) -> Result<(), Error> {
    let store = crate::inventory::require(config).await?;
    let agents = Agents::new(config).ok();
    let mut ladder = Ladder::new(settings);
    let started = Instant::now();
    let mut tick = tokio::time::interval(settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if stop_after.is_some_and(|d| started.elapsed() >= d) {
            return Ok(());
        }
        // A failing round (the inventory unreachable for a moment) is reported, and the
        // ladder goes on: a watchdog that stops on its first error watches nothing.
        if let Err(e) = round(
            config,
            &store,
            agents.as_ref(),
            &mut ladder,
            settings,
            report,
        )
        .await
        {
            report(Report {
                host: "-".into(),
                action: "error",
                reason: e.to_string(),
            });
        }
    }
}

/// Reports what failed on one machine, so the round goes on with the others.
fn failed(report: &mut (dyn FnMut(Report) + Send), host: &str, what: &str, e: &Error) {
    report(Report {
        host: host.to_string(),
        action: "error",
        reason: format!("{what}: {e}"),
    });
}

async fn round(
    config: &Config,
    store: &Store,
    agents: Option<&Agents>,
    ladder: &mut Ladder,
    settings: Settings,
    report: &mut (dyn FnMut(Report) + Send),
) -> Result<(), Error> {
    let machines: Vec<MachineSummary> = store
        .machine_summaries()
        .await?
        .into_iter()
        .filter(|m| m.state == MachineState::Deployed)
        .collect();
    ladder.keep_only(&machines.iter().map(|m| m.hostname.as_str()).collect());
    let probes = futures::stream::iter(machines.iter())
        .map(|m| async move { (m, probe(agents, m).await) })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    let now = Instant::now();
    let mut probes = probes;
    probes.sort_by(|a, b| (&a.0.rack, a.0.slot).cmp(&(&b.0.rack, b.0.slot)));
    for (m, p) in probes {
        let rung = ladder.observe(now, &m.hostname, &m.rack, p.alive());
        let dry = if settings.dry_run {
            "dry run: would "
        } else {
            ""
        };
        let (action, reason) = match rung {
            Rung::Wait => continue,
            Rung::Recovered { cycles } => (
                "recovered",
                format!("answers again after {cycles} power cycle(s)"),
            ),
            Rung::RackBusy => (
                "rack-busy",
                format!(
                    "down ({}), but another board of rack {} was cycled less than {} s ago: waiting",
                    p.why(),
                    m.rack,
                    settings.rack_spacing.as_secs()
                ),
            ),
            Rung::Limit { cycles } => (
                "limit",
                format!(
                    "down ({}), but it had {cycles} power cycle(s) in the last {} s: waiting",
                    p.why(),
                    settings.window.as_secs()
                ),
            ),
            Rung::Cycle { down_for } => {
                let why = format!("down for {} s ({})", down_for.as_secs(), p.why());
                ladder.cycled(now, &m.hostname, &m.rack);
                if settings.dry_run {
                    metrics::watchdog_action("would-cycle");
                    ("would-cycle", format!("{dry}power cycle: {why}"))
                } else {
                    metrics::watchdog_action("power-cycle");
                    let done = crate::power::operate(
                        config,
                        store,
                        PowerAction::Cycle,
                        &m.hostname,
                        ACTOR,
                        &why,
                    )
                    .await;
                    let done = match done {
                        Ok(done) => done,
                        Err(e) => {
                            failed(report, &m.hostname, "power cycle", &e);
                            continue;
                        }
                    };
                    let line = match done.outcome {
                        Ok(row) => format!("power cycle: {} -> {} ({why})", row.before, row.power),
                        // AMT refuses a power cycle while a SOL session is open (a console
                        // being recorded, say) but takes a hardware reset, which recovers a
                        // hung machine as well.
                        Err(e) => {
                            let reset_why = format!("the power cycle was refused ({e}); {why}");
                            metrics::watchdog_action("reset");
                            match crate::power::operate(
                                config,
                                store,
                                PowerAction::Reset,
                                &m.hostname,
                                ACTOR,
                                &reset_why,
                            )
                            .await
                            {
                                Ok(r) => match r.outcome {
                                    Ok(row) => format!(
                                        "power cycle refused ({e}); reset instead: {} -> {} ({why})",
                                        row.before, row.power
                                    ),
                                    Err(e2) => format!(
                                        "power cycle failed: {e}; the reset failed too: {e2} ({why})"
                                    ),
                                },
                                Err(e2) => format!("power cycle failed: {e}; reset: {e2} ({why})"),
                            }
                        }
                    };
                    report(Report {
                        host: m.hostname.clone(),
                        action: "power-cycle",
                        reason: line,
                    });
                    continue;
                }
            }
            Rung::Broken { cycles } => {
                let why = format!(
                    "{cycles} power cycle(s) did not bring it back ({}): taken out of service",
                    p.why()
                );
                if settings.dry_run {
                    ladder.forget(&m.hostname);
                    metrics::watchdog_action("would-mark-broken");
                    ("would-mark-broken", format!("{dry}mark broken: {why}"))
                } else {
                    metrics::watchdog_action("broken");
                    if let Err(e) = store
                        .set_state(&m.hostname, MachineState::Broken, ACTOR, &why)
                        .await
                    {
                        // Remembered: the next round tries again.
                        failed(report, &m.hostname, "marking it broken", &e.into());
                        continue;
                    }
                    ladder.forget(&m.hostname);
                    report(Report {
                        host: m.hostname.clone(),
                        action: "broken",
                        reason: why,
                    });
                    continue;
                }
            }
        };
        let reason = if settings.dry_run && !reason.starts_with(dry) {
            format!("dry run: {reason}")
        } else {
            reason
        };
        if let Err(e) = store.note(&m.hostname, ACTOR, &reason).await {
            failed(report, &m.hostname, "recording the rung", &e.into());
        }
        report(Report {
            host: m.hostname.clone(),
            action,
            reason,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            interval: Duration::from_secs(1),
            down_after: Duration::from_secs(10),
            boot_grace: Duration::from_secs(30),
            max_cycles: 2,
            window: Duration::from_secs(3600),
            broken_after: 3,
            rack_spacing: Duration::from_secs(60),
            dry_run: false,
        }
    }

    #[test]
    fn a_board_down_long_enough_is_cycled_once_then_given_its_boot() {
        let mut l = Ladder::new(settings());
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        assert_eq!(l.observe(s(0), "a", "r", false), Rung::Wait);
        assert_eq!(l.observe(s(9), "a", "r", false), Rung::Wait);
        assert_eq!(
            l.observe(s(10), "a", "r", false),
            Rung::Cycle {
                down_for: Duration::from_secs(10)
            }
        );
        l.cycled(s(10), "a", "r");
        // Within its boot grace nothing happens, however long it stays down.
        assert_eq!(l.observe(s(39), "a", "r", false), Rung::Wait);
        assert_eq!(
            l.observe(s(45), "a", "r", true),
            Rung::Recovered { cycles: 1 }
        );
        assert_eq!(l.observe(s(46), "a", "r", true), Rung::Wait);
    }

    #[test]
    fn answering_by_ping_or_agent_alone_is_alive() {
        let p = |agent: bool, ping: bool| Probe {
            agent: if agent { Ok(()) } else { Err("x".into()) },
            ping: if ping { Ok(()) } else { Err("y".into()) },
        };
        assert!(p(true, false).alive());
        assert!(p(false, true).alive());
        assert!(!p(false, false).alive());
    }

    #[test]
    fn cycles_stop_at_the_limit_and_resume_when_the_window_passes() {
        let mut l = Ladder::new(Settings {
            broken_after: 10,
            rack_spacing: Duration::ZERO,
            ..settings()
        });
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let mut cycles = 0;
        let mut limits = 0;
        for n in (0..3000).step_by(5) {
            match l.observe(s(n), "a", "r", false) {
                Rung::Cycle { .. } => {
                    cycles += 1;
                    l.cycled(s(n), "a", "r");
                }
                Rung::Limit { cycles: 2 } => limits += 1,
                Rung::Wait => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            (cycles, limits),
            (2, 1),
            "two cycles, the limit reported once"
        );
        // An hour after the first cycle, one more is allowed.
        assert!(matches!(
            l.observe(s(3610), "a", "r", false),
            Rung::Cycle { .. }
        ));
    }

    #[test]
    fn a_board_that_keeps_failing_is_marked_broken() {
        let mut l = Ladder::new(Settings {
            max_cycles: 10,
            rack_spacing: Duration::ZERO,
            ..settings()
        });
        let t0 = Instant::now();
        let mut rungs = Vec::new();
        for n in (0..400).step_by(5) {
            let now = t0 + Duration::from_secs(n);
            match l.observe(now, "a", "r", false) {
                Rung::Cycle { .. } => {
                    rungs.push("cycle");
                    l.cycled(now, "a", "r");
                }
                Rung::Broken { cycles } => {
                    rungs.push("broken");
                    assert_eq!(cycles, 3);
                    l.forget("a");
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(rungs, ["cycle", "cycle", "cycle", "broken"]);
    }

    #[test]
    fn two_boards_of_one_rack_are_not_cycled_in_the_same_minute() {
        let mut l = Ladder::new(settings());
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        for h in ["a", "b", "c"] {
            l.observe(s(0), h, if h == "c" { "other" } else { "r" }, false);
        }
        assert!(matches!(
            l.observe(s(10), "a", "r", false),
            Rung::Cycle { .. }
        ));
        l.cycled(s(10), "a", "r");
        assert_eq!(l.observe(s(10), "b", "r", false), Rung::RackBusy);
        assert!(matches!(
            l.observe(s(10), "c", "other", false),
            Rung::Cycle { .. }
        ));
        assert_eq!(
            l.observe(s(30), "b", "r", false),
            Rung::Wait,
            "reported once"
        );
        assert!(matches!(
            l.observe(s(70), "b", "r", false),
            Rung::Cycle { .. }
        ));
    }
}
