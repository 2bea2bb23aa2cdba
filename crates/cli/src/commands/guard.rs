//! Running an AMT operation on resolved targets: one fleet per credential set, TLS pins from
//! the inventory, and the wrong-box guard.
//!
//! The guard: before a mutating power or boot action on an inventory machine, read the system
//! UUID of the board answering at its address and refuse when it is not the recorded one. A
//! board swapped into the slot, or addresses that moved, would otherwise have the wrong box
//! power-cycled.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use metal_amt::{Amt, Error, HostRun, OpFuture};

use super::common::{AmtArgs, Resolved};

/// Checks the answering board's UUID against the inventory's.
pub async fn check_uuid(amt: &mut Amt, hostname: &str, recorded: &str) -> Result<(), Error> {
    let seen = amt.system_uuid().await?;
    if seen.eq_ignore_ascii_case(recorded) {
        return Ok(());
    }
    Err(Error::WrongBoard {
        host: amt.host(),
        hostname: hostname.to_string(),
        recorded: recorded.to_string(),
        seen,
    })
}

/// Runs `op` on every target, in target order. With `guard`, inventory machines get the UUID
/// check first.
pub async fn run<T, F>(
    amt: &AmtArgs,
    targets: &[Resolved],
    guard: bool,
    op: F,
    mut on_done: impl FnMut(),
) -> anyhow::Result<Vec<HostRun<T>>>
where
    T: Send + 'static,
    F: for<'a> Fn(&'a mut Amt) -> OpFuture<'a, T> + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate() {
        let set = t
            .machine
            .as_ref()
            .map_or("default", |m| m.credential_set.as_str());
        groups.entry(set.to_string()).or_default().push(i);
    }
    let mut results: Vec<Option<HostRun<T>>> = (0..targets.len()).map(|_| None).collect();
    for (set, indexes) in groups {
        let fleet = amt.fleet_with(super::inventory::credentials(&set, amt)?)?;
        let mut expected: HashMap<String, (String, String)> = HashMap::new();
        for &i in &indexes {
            let Some(m) = &targets[i].machine else {
                continue;
            };
            if let Some(pin) = m.tls_pin.as_deref().and_then(hex_pin) {
                fleet
                    .transport
                    .known_hosts
                    .insert(&metal_amt::ports::wsman(m.amt_address.clone(), true).key(), pin);
            }
            if guard {
                expected.insert(m.amt_address.clone(), (m.hostname.clone(), m.uuid.clone()));
            }
        }
        let expected = Arc::new(expected);
        let hosts: Vec<String> = indexes.iter().map(|&i| targets[i].host.clone()).collect();
        let op = op.clone();
        let runs = fleet
            .run(
                &hosts,
                move |a| {
                    let check = expected.get(&a.wsman().endpoint().host).cloned();
                    let op = op.clone();
                    Box::pin(async move {
                        if let Some((hostname, uuid)) = check {
                            check_uuid(a, &hostname, &uuid).await?;
                        }
                        op(a).await
                    })
                },
                |_| on_done(),
            )
            .await;
        for (run, i) in runs.into_iter().zip(indexes) {
            results[i] = Some(run);
        }
    }
    Ok(results.into_iter().flatten().collect())
}

fn hex_pin(text: &str) -> Option<[u8; 32]> {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}
