//! `metal events [HOST]`: the inventory's event log (state changes with time, actor, reason).

use std::time::{Duration, UNIX_EPOCH};

use anyhow::bail;
use clap::Args;
use metal_inventory::MachineState;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this machine's events (hostname, address or UUID).
    pub host: Option<String>,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
}

fn state(s: Option<MachineState>) -> String {
    s.map_or_else(|| "-".into(), |s| s.to_string())
}

pub async fn run(args: EventsArgs) -> anyhow::Result<i32> {
    let Some(store) = super::inventory::open_existing().await? else {
        bail!("there is no inventory yet (`metal enroll` creates it, or pass --db)");
    };
    let subject = match &args.host {
        Some(name) => match store.machine(name).await? {
            Some(m) => Some(m.hostname),
            None => bail!("{name} is not in the inventory"),
        },
        None => None,
    };
    let events = store.events(subject.as_deref()).await?;
    store.close().await;
    if args.json {
        let doc = serde_json::json!({"command": "events", "events": events});
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(metal_types::ExitCode::OK);
    }
    for e in &events {
        let at = UNIX_EPOCH + Duration::from_millis(e.at_ms.max(0) as u64);
        let change = match (e.from, e.to) {
            (None, None) => "note".to_string(),
            (from, to) => format!("{} -> {}", state(from), state(to)),
        };
        println!(
            "{}  {:<10} {:<24} {}  [{}]",
            humantime::format_rfc3339_seconds(at),
            e.subject,
            change,
            e.reason,
            e.actor
        );
    }
    Ok(metal_types::ExitCode::OK)
}
