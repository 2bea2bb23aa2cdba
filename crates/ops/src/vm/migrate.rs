//! `metal vm migrate NAME --to DOM0`: a cold move in two passes, so that the guest is down only
//! for the second.
//!
//! 1. The target defines the guest (its volume made: a full target stops here, nothing done).
//! 2. Full pass: the source snapshots the running guest and streams the snapshot to a one-time
//!    listener on the target (zeros as runs, zstd, XXH3-128 per frame and over the stream);
//!    the target answers only after writing and syncing everything.
//! 3. The guest stops; the delta pass streams the chunks the snapshot's exception table lists.
//! 4. The target starts the guest; the inventory's parent (and so DNS and Nagios) switches;
//!    only then does the source remove its volume.
//!
//! A failure before 4 removes what the target made and leaves (or starts again) the guest on
//! the source, and the error says so.

use std::net::SocketAddr;
use std::time::Instant;

use metal_inventory::Guest;
use metal_xen::api::{Define, GuestStatus, Listening, Receive, Send, SendReport, StreamKind};
use serde::Serialize;

use super::{QUICK, STREAM, WORK, agent_of, dom0, guest, path, token, verified};
use crate::agent::{Agent, Agents};
use crate::{Config, Error, inventory};

#[derive(Debug, Clone, Serialize)]
pub struct Migrated {
    pub guest: Guest,
    pub from: String,
    pub full: SendReport,
    pub delta: SendReport,
    /// From the guest's stop to its start on the target.
    pub downtime_millis: u64,
    pub status: GuestStatus,
}

pub async fn migrate(config: &Config, name: &str, to: &str) -> Result<Migrated, Error> {
    let store = inventory::require(config).await?;
    let result = async {
        let (g, source_m) = guest(&store, name).await?;
        let target_m = dom0(&store, to).await?;
        if target_m.hostname == source_m.hostname {
            return Err(Error::Usage(format!(
                "{name} already runs on {}",
                target_m.hostname
            )));
        }
        let agents = Agents::new(config)?;
        let (source, target) = (agent_of(&source_m), agent_of(&target_m));
        let defined: Vec<GuestStatus> = agents.get(&source, "/v1/guests", QUICK).await?;
        let s = defined.iter().find(|s| s.name == g.name).ok_or_else(|| {
            Error::Guest(format!("{name} is not defined on {}", source.host))
        })?;
        let def = Define {
            name: g.name.clone(),
            address: s.address,
            memory_mib: s.memory_mib,
            vcpus: s.vcpus,
            disk_gib: s.disk_gib,
        };
        let was_running = s.domid.is_some();
        // A target that cannot hold the guest (no room in its vg00, the name taken) refuses
        // here, before anything moves.
        agents
            .post::<_, GuestStatus>(&target, "/v1/guests", &def, WORK)
            .await
            .map_err(|e| {
                Error::Guest(format!(
                    "moving {name} to {} failed: {e}. It stays on {} as it was; nothing was made on {}",
                    target.host, source.host, target.host
                ))
            })?;
        let moved = passes(&agents, &source, &target, &g.name, was_running).await;
        let (full, delta, stopped_at, status) = match moved {
            Ok(m) => m,
            Err((e, stopped)) => {
                let _ = agents
                    .delete::<GuestStatus>(&target, &path(&g.name, ""), WORK)
                    .await;
                let restarted = if stopped && was_running {
                    match agents
                        .post::<_, GuestStatus>(&source, &path(&g.name, "/start"), &(), WORK)
                        .await
                    {
                        Ok(_) => "; it was started again there".to_string(),
                        Err(r) => format!("; starting it again there failed: {r}"),
                    }
                } else {
                    String::new()
                };
                return Err(Error::Guest(format!(
                    "moving {name} to {} failed: {e}. It stays on {}{restarted}, its volume untouched; nothing is left on {}",
                    target.host, source.host, target.host
                )));
            }
        };
        let downtime_millis = stopped_at.elapsed().as_millis() as u64;
        let moved = store
            .move_guest(&g.name, &target.host, &config.actor("vm migrate"))
            .await?;
        // The target has verified both passes and runs the guest: the source may let go.
        agents
            .delete::<GuestStatus>(&source, &path(&g.name, ""), WORK)
            .await
            .map_err(|e| {
                Error::Guest(format!(
                    "{name} now runs on {}, but removing it from {} failed: {e}",
                    target.host, source.host
                ))
            })?;
        Ok(Migrated {
            guest: moved,
            from: source.host.clone(),
            full,
            delta,
            downtime_millis,
            status,
        })
    }
    .await;
    store.close().await;
    result
}

type Passes = (SendReport, SendReport, Instant, GuestStatus);

/// Both passes and the start on the target; on failure, the error and whether the guest
/// was stopped on the source by then.
async fn passes(
    agents: &Agents,
    source: &Agent,
    target: &Agent,
    name: &str,
    running: bool,
) -> Result<Passes, (Error, bool)> {
    let full = pass(agents, source, target, name, StreamKind::Full, None)
        .await
        .map_err(|e| (e, false))?;
    let stopped_at = Instant::now();
    if running {
        let _: GuestStatus = agents
            .post(source, &path(name, "/stop"), &(), WORK)
            .await
            .map_err(|e| (e, true))?;
    }
    let delta = pass(
        agents,
        source,
        target,
        name,
        StreamKind::Delta,
        Some(full.digest.clone()),
    )
    .await
    .map_err(|e| (e, true))?;
    let status: GuestStatus = agents
        .post(target, &path(name, "/start"), &(), WORK)
        .await
        .map_err(|e| (e, true))?;
    Ok((full, delta, stopped_at, status))
}

async fn pass(
    agents: &Agents,
    source: &Agent,
    target: &Agent,
    name: &str,
    kind: StreamKind,
    base: Option<String>,
) -> Result<SendReport, Error> {
    let token = token();
    let listening: Listening = agents
        .post(
            target,
            &path(name, "/receive"),
            &Receive {
                kind,
                token: token.clone(),
                base,
            },
            QUICK,
        )
        .await?;
    let report: SendReport = agents
        .post(
            source,
            &path(name, "/send"),
            &Send {
                to: SocketAddr::new(target.address, listening.port),
                kind,
                token,
            },
            STREAM,
        )
        .await?;
    let digest = verified(agents, target, name).await?;
    if digest != report.digest {
        return Err(Error::Guest(format!(
            "{}: verified digest {digest}, the source sent {}",
            target.host, report.digest
        )));
    }
    Ok(report)
}
