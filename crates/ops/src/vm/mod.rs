//! `metal vm …`: DomUs on the inventory's Dom0s, through each Dom0's `metal-agent`.
//!
//! - [`create`]: placement (or `--on`), the guest recorded as the Dom0's child, its volume
//!   made and filled from the DomU image over a verified stream, its identity written, `xl
//!   create`; undone (agent and inventory) if any step fails.
//! - [`migrate`]: the full pass from a snapshot while the guest runs, the delta once it has
//!   stopped, started on the target, the inventory's parent switched; the source's volume is
//!   removed only after the target verified both passes and started the guest.
//! - [`ls`], [`start`], [`stop`], [`destroy`], [`console`]: what the inventory says and the
//!   agents report.
//!
//! DNS (`parent.` records) and Nagios (`parents`) follow the inventory: the exports read it.

mod create;
mod migrate;

use std::net::IpAddr;
use std::time::Duration;

pub use create::{CreateRequest, Created, create};
use metal_inventory::{Guest, Machine, MachineState, Store};
use metal_xen::api::{self, GuestStatus};
pub use metal_xen::placement::Policy;
pub use migrate::{Migrated, migrate};
use serde::Serialize;

use crate::agent::{Agent, Agents};
use crate::{Config, Error, inventory};

/// Deadlines of agent calls: quick questions, `xl`/LVM work, a volume pass.
const QUICK: Duration = Duration::from_secs(30);
const WORK: Duration = Duration::from_secs(300);
const STREAM: Duration = Duration::from_secs(1800);

fn agent_of(m: &Machine) -> Agent {
    Agent {
        host: m.hostname.clone(),
        address: m.address,
    }
}

/// The deployed Dom0 `name` (hostname or address).
async fn dom0(store: &Store, name: &str) -> Result<Machine, Error> {
    let m = store
        .machine(name)
        .await?
        .ok_or_else(|| Error::Usage(format!("{name}: no such Dom0 in the inventory")))?;
    if m.state != MachineState::Deployed {
        return Err(Error::Usage(format!(
            "{}: is {}, not deployed: it runs no Dom0 to place guests on",
            m.hostname,
            m.state.as_str()
        )));
    }
    Ok(m)
}

/// Guest `name` and the Dom0 it runs on.
async fn guest(store: &Store, name: &str) -> Result<(Guest, Machine), Error> {
    let g = store
        .guests()
        .await?
        .into_iter()
        .find(|g| g.name == name)
        .ok_or_else(|| Error::Usage(format!("{name}: no such guest in the inventory")))?;
    let m = store
        .machine(&g.dom0)
        .await?
        .ok_or_else(|| Error::Usage(format!("{name}: its Dom0 {} is gone", g.dom0)))?;
    Ok((g, m))
}

fn path(name: &str, what: &str) -> String {
    format!("/v1/guests/{name}{what}")
}

/// One guest as the inventory has it and its agent reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub name: String,
    pub dom0: String,
    pub address: IpAddr,
    pub role: String,
    pub memory_mib: u32,
    /// What the agent says (`running`, `stopped` …); `None` when it could not say.
    pub state: Option<String>,
    /// Why the state is unknown.
    pub error: Option<String>,
    pub domid: Option<u32>,
}

/// Every guest of the inventory with its state, one agent call per Dom0.
pub async fn ls(config: &Config) -> Result<Vec<Listed>, Error> {
    let store = inventory::require(config).await?;
    let guests = store.guests().await?;
    let machines = store.machines().await?;
    store.close().await;
    let agents = Agents::new(config)?;
    // One call per Dom0 that has guests, all at once (a slow Dom0 delays only its own rows).
    let dom0s: std::collections::BTreeSet<&str> = guests.iter().map(|g| g.dom0.as_str()).collect();
    let reports = futures::future::join_all(dom0s.into_iter().map(|dom0| {
        let agents = &agents;
        let machine = machines.iter().find(|m| m.hostname == dom0);
        async move {
            let report = match machine {
                Some(m) => agents
                    .get::<Vec<GuestStatus>>(&agent_of(m), "/v1/guests", QUICK)
                    .await
                    .map_err(|e| e.to_string()),
                None => Err("not in the inventory".to_string()),
            };
            (dom0.to_string(), report)
        }
    }))
    .await;
    let by_dom0: std::collections::BTreeMap<String, Result<Vec<GuestStatus>, String>> =
        reports.into_iter().collect();
    Ok(guests
        .into_iter()
        .map(|g| {
            let report = by_dom0.get(&g.dom0);
            let (state, error, domid) = match report {
                Some(Ok(list)) => match list.iter().find(|s| s.name == g.name) {
                    Some(s) => (Some(s.state.clone()), None, s.domid),
                    None => (None, Some("not defined on its Dom0".to_string()), None),
                },
                Some(Err(e)) => (None, Some(e.clone()), None),
                None => (None, Some("no report".to_string()), None),
            };
            Listed {
                name: g.name,
                dom0: g.dom0,
                address: g.address,
                role: g.role.as_str().to_string(),
                memory_mib: g.memory_mib,
                state,
                error,
                domid,
            }
        })
        .collect())
}

/// What a start, stop or destroy left.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub name: String,
    pub dom0: String,
    pub state: String,
    pub domid: Option<u32>,
}

async fn act(config: &Config, name: &str, verb: &str) -> Result<Changed, Error> {
    let store = inventory::require(config).await?;
    let (g, m) = guest(&store, name).await?;
    let agents = Agents::new(config)?;
    let status: Result<GuestStatus, Error> = agents
        .post(
            &agent_of(&m),
            &path(&g.name, &format!("/{verb}")),
            &(),
            WORK,
        )
        .await;
    store.close().await;
    let status = status?;
    Ok(Changed {
        name: g.name,
        dom0: g.dom0,
        state: status.state,
        domid: status.domid,
    })
}

pub async fn start(config: &Config, name: &str) -> Result<Changed, Error> {
    act(config, name, "start").await
}

pub async fn stop(config: &Config, name: &str) -> Result<Changed, Error> {
    act(config, name, "stop").await
}

/// Destroys the guest on its Dom0 (domain, volume, definition) and then forgets it.
pub async fn destroy(config: &Config, name: &str) -> Result<Changed, Error> {
    let store = inventory::require(config).await?;
    let (g, m) = guest(&store, name).await?;
    let agents = Agents::new(config)?;
    let result = async {
        let status: GuestStatus = agents
            .delete(&agent_of(&m), &path(&g.name, ""), WORK)
            .await?;
        store
            .remove_guest(&g.name, &config.actor("vm destroy"))
            .await?;
        Ok::<_, Error>(status)
    }
    .await;
    store.close().await;
    let status = result?;
    Ok(Changed {
        name: g.name,
        dom0: g.dom0,
        state: status.state,
        domid: None,
    })
}

/// The last `bytes` of the guest's console, from its Dom0's agent.
pub async fn console(config: &Config, name: &str, bytes: u64) -> Result<String, Error> {
    let store = inventory::require(config).await?;
    let found = guest(&store, name).await;
    store.close().await;
    let (g, m) = found?;
    Agents::new(config)?
        .get(
            &agent_of(&m),
            &format!("{}?bytes={bytes}", path(&g.name, "/console")),
            QUICK,
        )
        .await
}

/// Waits until the agent reports the listener for `name` verified (or failed).
async fn verified(agents: &Agents, agent: &Agent, name: &str) -> Result<String, Error> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status: api::ReceiveStatus = agents.get(agent, &path(name, "/receive"), QUICK).await?;
        match status {
            api::ReceiveStatus::Verified { digest, .. } => return Ok(digest),
            api::ReceiveStatus::Failed { error } => {
                return Err(Error::Agent {
                    host: agent.host.clone(),
                    reason: format!("receiving {name}: {error}"),
                });
            }
            api::ReceiveStatus::Waiting if tokio::time::Instant::now() > deadline => {
                return Err(Error::Agent {
                    host: agent.host.clone(),
                    reason: format!("receiving {name}: no verdict within 60 s"),
                });
            }
            api::ReceiveStatus::Waiting => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// A fresh one-time stream token (64 hex digits).
fn token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}
