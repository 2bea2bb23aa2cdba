//! `metal state STATE HOST... --reason TEXT`: move inventory machines through the lifecycle
//! (new → enrolled → provisioning → deployed, broken, retired). Each change is checked against
//! the state machine and logged with who and why (`metal events`); a retired machine leaves
//! DNS (`metal dns sync` deletes its names) and monitoring exports.

use anyhow::bail;
use clap::Args;
use metal_inventory::MachineState;
use metal_types::ExitCode;

#[derive(Debug, Args)]
pub struct StateArgs {
    /// The new state: new, enrolled, provisioning, deployed, broken or retired.
    pub state: MachineState,
    /// Machines, by hostname, address or UUID.
    #[arg(required = true)]
    pub hosts: Vec<String>,
    /// Why, for the event log.
    #[arg(long)]
    pub reason: String,
}

/// Prints one line per machine; exits by the fleet rule (some failed: 2, all failed: 3).
pub async fn run(args: StateArgs) -> anyhow::Result<i32> {
    if args.reason.trim().is_empty() {
        bail!("--reason must say why (it goes into the event log)");
    }
    let Some(store) = super::inventory::open_existing().await? else {
        bail!("there is no inventory yet (`metal enroll` creates it, or pass --db)");
    };
    let actor = super::inventory::actor("state");
    let mut failed = 0;
    for host in &args.hosts {
        match store
            .set_state(host, args.state, &actor, &args.reason)
            .await
        {
            Ok(from) => println!("{host}: {from} -> {}", args.state),
            Err(e) => {
                failed += 1;
                println!("{host}: FAILED: {e}");
            }
        }
    }
    store.close().await;
    Ok(match failed {
        0 => ExitCode::OK,
        n if n == args.hosts.len() => ExitCode::ALL_FAILED,
        _ => ExitCode::PARTIAL,
    })
}
