//! `metal ls [TARGETS] [--json]`: inventory machines (all of them without targets).

use clap::Args;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use metal_inventory::Machine;
use serde::Serialize;

use super::common::resolve_targets;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Hostnames, rack:NAME, all, addresses or CIDR blocks [default: all].
    pub targets: Vec<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct LsReport {
    pub command: &'static str,
    pub machines: Vec<Machine>,
}

pub async fn run(args: LsArgs) -> anyhow::Result<i32> {
    let machines: Vec<Machine> = if args.targets.is_empty() {
        match super::inventory::open_existing().await? {
            Some(store) => {
                let m = store.machines().await?;
                store.close().await;
                m
            }
            None => Vec::new(),
        }
    } else {
        resolve_targets(&args.targets)
            .await?
            .into_iter()
            .filter_map(|r| r.machine)
            .collect()
    };
    if args.json {
        let report = LsReport {
            command: "ls",
            machines,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(metal_types::ExitCode::OK);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header(["NAME", "ADDRESS", "RACK", "AMT", "UUID", "PROFILE", "STATE"]);
    for m in &machines {
        table.add_row([
            m.hostname.clone(),
            m.address.clone(),
            m.rack.clone(),
            m.amt_address.clone(),
            m.uuid.clone(),
            m.profile.clone().unwrap_or_else(|| "-".into()),
            m.state.to_string(),
        ]);
    }
    println!("{table}");
    println!("{} machines", machines.len());
    Ok(metal_types::ExitCode::OK)
}
