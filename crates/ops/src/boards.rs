//! Guarded board access: the one way every workflow talks to boards.
//!
//! For a board the inventory knows, the session uses the machine's credential set and its
//! recorded TLS pin, and with [`Guard::Uuid`] it first reads the system UUID of the board that
//! answers and refuses (error kind `wrong-board`) when it is not the recorded one: a board
//! swapped into the slot, or addresses that moved, would otherwise have the wrong box
//! power-cycled, or show the wrong box's console. A raw address the inventory does not know
//! uses the default credentials and the known-hosts pins.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use metal_amt::sol::SolEndpoint;
use metal_amt::{Amt, Error as AmtError, Fleet, HostRun, OpFuture, ports};
use metal_inventory::{Machine, TlsPin};

use crate::targets::Resolved;
use crate::{Config, Error, Progress, metrics};

/// Whether inventory machines get the UUID check before the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Read-only operations whose answer is harmless from the wrong board (power status).
    None,
    /// Changes, consoles and what is shown as a machine's: the board must be the recorded one.
    Uuid,
}

/// Checks the answering board's UUID against the inventory's.
pub async fn check_uuid(amt: &mut Amt, machine: &Machine) -> Result<(), AmtError> {
    let seen = amt.system_uuid().await?;
    if seen.eq_ignore_ascii_case(&machine.uuid) {
        return Ok(());
    }
    Err(AmtError::WrongBoard {
        host: amt.host(),
        hostname: machine.hostname.clone(),
        recorded: machine.uuid.clone(),
        seen,
    })
}

/// After a `--repin` run: the pins the boards presented become the inventory's, with an
/// event each (else the next call, without `--repin`, would refuse the new certificate again).
async fn record_new_pins(
    config: &Config,
    fleet: &Fleet,
    machines: &[&Machine],
) -> Result<(), Error> {
    if !config.repin {
        return Ok(());
    }
    let changed: Vec<(&Machine, TlsPin)> = machines
        .iter()
        .filter_map(|m| {
            let key = ports::wsman(m.amt_address.to_string(), true).key();
            let seen = TlsPin(fleet.transport.known_hosts.get(&key)?);
            (m.tls_pin != Some(seen)).then_some((*m, seen))
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let store = crate::inventory::open(config).await?;
    for (m, pin) in changed {
        store
            .repin(&m.hostname, pin, &config.actor("--repin"))
            .await?;
    }
    store.close().await;
    Ok(())
}

/// The fleet runner for one credential set, with the pins of its inventory machines.
fn fleet_for(config: &Config, set: &str, machines: &[&Machine]) -> Result<Fleet, Error> {
    let fleet = config.fleet(config.credential_set(set)?)?;
    for m in machines {
        if let Some(pin) = m.tls_pin {
            let host = m.amt_address.to_string();
            let known = &fleet.transport.known_hosts;
            // One certificate serves WS-Man and the redirection port.
            known.insert(&ports::wsman(host.clone(), true).key(), pin.0);
            known.insert(&SolEndpoint::new(host, true).key(), pin.0);
        }
    }
    Ok(fleet)
}

/// Runs `op` on every target, results in target order: one fleet per credential set, the
/// recorded pins, and with `guard` the UUID check first.
pub async fn run<T, F>(
    config: &Config,
    targets: &[Resolved],
    guard: Guard,
    progress: &dyn Progress,
    what: &str,
    op: F,
) -> Result<Vec<HostRun<T>>, Error>
where
    T: Send + 'static,
    F: for<'a> Fn(&'a mut Amt) -> OpFuture<'a, T> + Send + Sync + 'static,
{
    // A large fleet keeps one connection per board.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let op = Arc::new(op);
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate() {
        let set = t
            .machine
            .as_ref()
            .map_or("default", |m| m.credential_set.as_str());
        groups.entry(set).or_default().push(i);
    }
    progress.begin(what, targets.len());
    let mut results: Vec<Option<HostRun<T>>> = (0..targets.len()).map(|_| None).collect();
    for (set, indexes) in groups {
        let machines: Vec<&Machine> = indexes
            .iter()
            .filter_map(|&i| targets[i].machine.as_ref())
            .collect();
        let fleet = fleet_for(config, set, &machines)?;
        let expected: Arc<HashMap<String, Machine>> = Arc::new(match guard {
            Guard::None => HashMap::new(),
            Guard::Uuid => machines
                .iter()
                .map(|m| (m.amt_address.to_string(), (*m).clone()))
                .collect(),
        });
        let hosts: Vec<String> = indexes
            .iter()
            .map(|&i| targets[i].host.to_string())
            .collect();
        let op = op.clone();
        let operation = what.to_string();
        let runs = fleet
            .run(
                &hosts,
                move |a| {
                    let machine = expected.get(&a.wsman().endpoint().host).cloned();
                    let op = op.clone();
                    let operation = operation.clone();
                    Box::pin(async move {
                        let started = Instant::now();
                        if let Some(machine) = machine {
                            check_uuid(a, &machine).await?;
                        }
                        let done = op(a).await;
                        metrics::amt_operation(&operation, started.elapsed());
                        done
                    })
                },
                |_| progress.advance(),
            )
            .await;
        record_new_pins(config, &fleet, &machines).await?;
        for (run, i) in runs.into_iter().zip(indexes) {
            results[i] = Some(run);
        }
    }
    progress.end();
    Ok(results.into_iter().flatten().collect())
}

/// One guarded session with one board (console, record): the machine's credentials and pin,
/// and for an inventory machine the UUID check before it is handed out.
pub async fn session(config: &Config, target: &Resolved) -> Result<Amt, Error> {
    let machines: Vec<&Machine> = target.machine.iter().collect();
    let set = target
        .machine
        .as_ref()
        .map_or("default", |m| m.credential_set.as_str());
    let fleet = fleet_for(config, set, &machines)?;
    let mut amt = fleet.session(&target.host.to_string());
    if let Some(m) = &target.machine {
        check_uuid(&mut amt, m).await?;
        record_new_pins(config, &fleet, &machines).await?;
    }
    Ok(amt)
}
