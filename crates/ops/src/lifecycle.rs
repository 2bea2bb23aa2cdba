//! The inventory's machines, their lifecycle and their event log: `ls`, `state`, `events`.

pub use metal_inventory::{Event, Guest, Machine, MachineState};
use metal_types::{ErrorKind, HostReport, Report};
use serde::Serialize;

use crate::{Config, Error, inventory, targets};

/// `ls [TARGETS]`: the recorded machines (all of them without targets).
pub async fn list(config: &Config, specs: &[String]) -> Result<Vec<Machine>, Error> {
    if specs.is_empty() {
        return match inventory::open_existing(config).await? {
            Some(store) => {
                let machines = store.machines().await?;
                store.close().await;
                Ok(machines)
            }
            None => Ok(Vec::new()),
        };
    }
    Ok(targets::resolve(config, specs)
        .await?
        .into_iter()
        .filter_map(|r| r.machine)
        .collect())
}

/// One machine's state change.
#[derive(Debug, Clone, Serialize)]
pub struct StateRow {
    pub from: MachineState,
    pub to: MachineState,
}

/// `state STATE HOSTS --reason WHY`: each change checked against the state machine and logged
/// with who and why; one row per machine.
pub async fn set_state(
    config: &Config,
    to: MachineState,
    hosts: &[String],
    reason: &str,
) -> Result<Report<StateRow>, Error> {
    if reason.trim().is_empty() {
        return Err(Error::Usage(
            "--reason must say why (it goes into the event log)".into(),
        ));
    }
    let store = inventory::require(config).await?;
    let actor = config.actor("state");
    let mut rows = Vec::new();
    for host in hosts {
        rows.push(match store.set_state(host, to, &actor, reason).await {
            Ok(from) => HostReport::ok(host.clone(), StateRow { from, to }),
            Err(e) => HostReport::failed(host.clone(), ErrorKind::Other, e.to_string()),
        });
    }
    store.close().await;
    Ok(Report::new(format!("state {to}"), rows))
}

/// The longest reason a state change may carry.
pub const MAX_REASON: usize = 500;

/// One machine's state change by `actor` (the dashboard's operator, the watchdog), checked
/// against the state machine and logged; returns the previous state.
pub async fn change_state(
    store: &metal_inventory::Store,
    host: &str,
    to: MachineState,
    actor: &str,
    reason: &str,
) -> Result<MachineState, Error> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON
        || reason.chars().any(char::is_control)
    {
        return Err(Error::Usage(format!(
            "{host}: a state change needs a reason of 1 to {MAX_REASON} characters on one line"
        )));
    }
    Ok(store.set_state(host, to, actor, reason).await?)
}

/// `events [HOST]`: the event log, oldest first (all of it, or one machine's).
pub async fn events(config: &Config, host: Option<&str>) -> Result<Vec<Event>, Error> {
    let store = inventory::require(config).await?;
    let subject = match host {
        Some(name) => match store.machine(name).await? {
            Some(m) => Some(m.hostname),
            None => return Err(metal_inventory::Error::NotFound(name.to_string()).into()),
        },
        None => None,
    };
    let events = store.events(subject.as_deref()).await?;
    store.close().await;
    Ok(events)
}

/// Records a DomU guest on a Dom0 (named by hostname or address), with an address from its
/// rack's pool.
pub async fn add_guest(
    config: &Config,
    dom0: &str,
    name: &str,
    role: &str,
    memory_mib: u32,
) -> Result<Guest, Error> {
    let role = metal_inventory::Role::new(role)?;
    let store = inventory::require(config).await?;
    let guest = store
        .add_guest(
            dom0,
            name,
            &role,
            memory_mib,
            None,
            &config.actor("guest add"),
        )
        .await;
    store.close().await;
    Ok(guest?)
}
