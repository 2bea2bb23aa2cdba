//! `metal enroll CIDR --rack NAME [--boot]`: discover AMT boards, read their hardware, match a
//! hardware profile, allocate hostname and address, record them (with the TLS pin); with
//! `--boot`, one-shot PXE and power on.
//!
//! Safe to repeat: a board already recorded is reported as unchanged. Each board is recorded
//! in its own transaction, so an interrupted run leaves whole records only, and the next run
//! finishes the rest.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use metal_amt::Hardware;
use metal_inventory::{BoardFacts, EnrollRequest, MachineState, Outcome, profiles};
use metal_types::{BootDevice, ErrorKind, HostReport, Report, Target};
use metal_wsman::{KnownHosts, TransportOptions};
use serde::Serialize;

use super::common::{AmtArgs, Resolved, print_report, progress};

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// CIDR blocks or addresses to look for AMT boards in.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// The rack the boards are in (created on first use).
    #[arg(long)]
    pub rack: String,
    /// The site of a new rack.
    #[arg(long, default_value = "default")]
    pub site: String,
    /// Address pool (CIDR) of a new rack [default: `pool` under [inventory] in the config, else 10.0.0.0/16].
    #[arg(long)]
    pub pool: Option<String>,
    /// Hostname scheme of a new rack, with {rack} and {n} or {n:0W} [default: {rack}-h{n:02}].
    #[arg(long)]
    pub hostname_scheme: Option<String>,
    /// Credential set the boards' AMT password comes from (recorded by name only).
    #[arg(long, default_value = "default")]
    pub credential_set: String,
    /// Hardware profiles directory [default: ./hardware-profiles or $METAL_PROFILES].
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// Then set a one-shot PXE boot and power on (or reset) every enrolled board.
    #[arg(long)]
    pub boot: bool,
    #[command(flatten)]
    pub amt: AmtArgs,
}

/// One board's row.
#[derive(Debug, Serialize)]
pub struct EnrollRow {
    pub hostname: String,
    pub address: String,
    pub uuid: String,
    pub profile: Option<String>,
    pub state: MachineState,
    /// `enrolled`, `unchanged`, `matched` (a profile now fits) or `not-provisioned`.
    pub result: &'static str,
    /// Why no profile matched, or what `--boot` did.
    pub note: Option<String>,
}

fn facts(host: &str, hw: &Hardware, tls_pin: Option<String>) -> anyhow::Result<BoardFacts> {
    Ok(BoardFacts {
        amt_address: host.to_string(),
        uuid: hw.uuid.clone(),
        serial: hw.chassis.serial.clone(),
        board_maker: hw.board.manufacturer.clone(),
        board_model: hw.board.model.clone(),
        mac: hw.mac.map(|m| m.to_string()),
        memory_bytes: hw.memory_bytes,
        disks: hw.disks.iter().map(|d| d.ssd).collect(),
        tls_pin,
        hardware: serde_json::to_value(hw).context("hardware as JSON")?,
    })
}

pub async fn run(args: EnrollArgs) -> anyhow::Result<i32> {
    let mut hosts = Vec::new();
    for spec in &args.targets {
        for t in Target::parse_list(spec)? {
            match t.addresses() {
                Some(a) => hosts.extend(a.into_iter().map(|a| a.to_string())),
                None => bail!(
                    "enroll looks for boards at addresses: give CIDR blocks or IP addresses, not {t}"
                ),
            }
        }
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let config = super::inventory::config()?;
    let profiles = profiles::load_dir(&super::inventory::profiles_dir(args.profiles.clone()))?;
    let credentials = super::inventory::credentials(&args.credential_set, &args.amt)?;
    let fleet = args.amt.fleet_with(credentials)?;
    let store = super::inventory::open().await?;
    let request = EnrollRequest {
        rack: args.rack.clone(),
        site: args.site.clone(),
        pool: args
            .pool
            .clone()
            .or(config.pool)
            .unwrap_or_else(|| "10.0.0.0/16".into()),
        scheme: args
            .hostname_scheme
            .clone()
            .or(config.hostname_scheme)
            .unwrap_or_else(|| metal_inventory::naming::DEFAULT_SCHEME.into()),
        credential_set: args.credential_set.clone(),
        actor: super::inventory::actor("enroll"),
    };

    // Discovery is unauthenticated; a board that serves TLS shows its certificate, whose pin
    // is recorded in the inventory.
    let seen_pins = Arc::new(KnownHosts::in_memory());
    let options = Arc::new(TransportOptions {
        known_hosts: seen_pins.clone(),
        ..args.amt.transport()?
    });
    let bar = progress(hosts.len(), "discover", args.amt.json);
    let found = super::discover::discover(&hosts, args.amt.parallel, options, || bar.inc(1)).await;
    bar.finish_and_clear();
    if found.is_empty() {
        bail!("no AMT board answers in {}", args.targets.join(", "));
    }
    let addresses: Vec<String> = found.iter().map(|d| d.address.to_string()).collect();
    let bar = progress(addresses.len(), "hardware", args.amt.json);
    let runs = fleet
        .run(&addresses, |a| Box::pin(a.hardware()), |_| bar.inc(1))
        .await;
    bar.finish_and_clear();

    let mut rows = Vec::new();
    for run in runs {
        let host = run.host;
        let hw = match run.result {
            Ok(hw) => hw,
            Err(e) => {
                rows.push(HostReport::failed(host, e.category(), e.to_string()));
                continue;
            }
        };
        let pin = seen_pins
            .get(&metal_amt::ports::wsman(host.clone(), true).key())
            .map(hex::encode);
        let board = facts(&host, &hw, pin)?;
        let matched = profiles::match_board(&profiles, &board);
        match store.enroll(&request, &board, &matched).await {
            Ok(e) => {
                let m = e.machine;
                let result = match (e.outcome, m.state) {
                    (Outcome::Created, MachineState::New) => "not-provisioned",
                    (Outcome::Created, _) => "enrolled",
                    (Outcome::Matched, _) => "matched",
                    (Outcome::Unchanged, _) => "unchanged",
                };
                let row = EnrollRow {
                    hostname: m.hostname,
                    address: m.address,
                    uuid: m.uuid,
                    profile: m.profile,
                    state: m.state,
                    result,
                    note: m.profile_note,
                };
                rows.push(HostReport::ok(host, row));
            }
            Err(metal_inventory::Error::Conflict(why)) => {
                rows.push(HostReport::failed(host, ErrorKind::Other, why));
            }
            Err(e) => return Err(e).context(
                "recording the boards (nothing after this board was recorded; re-run to continue)",
            ),
        }
    }
    if args.boot {
        boot(&args.amt, &store, &mut rows).await?;
    }
    store.close().await;
    let report = Report::new(format!("enroll --rack {}", args.rack), rows);
    let code = print_report(
        &report,
        args.amt.json,
        &["NAME", "ADDRESS", "PROFILE", "STATE", "RESULT"],
        |r| {
            let result = match (&r.note, r.result) {
                (Some(note), _) => format!("{}: {note}", r.result),
                (None, "unchanged") => "already enrolled, unchanged".to_string(),
                (None, result) => result.to_string(),
            };
            vec![
                r.hostname.clone(),
                r.address.clone(),
                r.profile.clone().unwrap_or_else(|| "-".into()),
                r.state.to_string(),
                result,
            ]
        },
    )?;
    if !args.amt.json {
        let count = |what: &str| {
            report
                .hosts
                .iter()
                .filter(
                    |h| matches!(&h.outcome, metal_types::HostOutcome::Ok(r) if r.result == what),
                )
                .count()
        };
        let unchanged = count("unchanged");
        if unchanged == report.hosts.len() {
            println!("Nothing changed: all {unchanged} boards were already enrolled.");
        } else {
            println!(
                "{} enrolled now, {} recorded without a profile, {} unchanged.",
                count("enrolled") + count("matched"),
                count("not-provisioned"),
                unchanged
            );
        }
    }
    Ok(code)
}

/// `--boot`: one-shot PXE and power on every enrolled board, guarded like `metal boot`, then
/// mark it provisioning.
async fn boot(
    amt: &AmtArgs,
    store: &metal_inventory::Store,
    rows: &mut [HostReport<EnrollRow>],
) -> anyhow::Result<()> {
    let mut targets = Vec::new();
    for r in rows.iter() {
        if let metal_types::HostOutcome::Ok(row) = &r.outcome
            && row.state == MachineState::Enrolled
        {
            let machine = store.machine(&row.hostname).await?;
            targets.push(Resolved {
                host: r.host.clone(),
                machine,
            });
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    let bar = progress(targets.len(), "boot pxe --now", amt.json);
    let runs = super::guard::run(
        amt,
        &targets,
        true,
        |a| Box::pin(a.boot(BootDevice::Pxe, true)),
        || bar.inc(1),
    )
    .await?;
    bar.finish_and_clear();
    let actor = super::inventory::actor("enroll --boot");
    for run in runs {
        let Some(report) = rows.iter_mut().find(|r| r.host == run.host) else {
            continue;
        };
        let metal_types::HostOutcome::Ok(row) = &mut report.outcome else {
            continue;
        };
        match run.result {
            Ok(_) => {
                store
                    .set_state(
                        &row.hostname,
                        MachineState::Provisioning,
                        &actor,
                        "one-shot PXE boot set and powered on",
                    )
                    .await?;
                row.state = MachineState::Provisioning;
                row.note = Some("PXE boot started".into());
            }
            Err(e) => {
                *report = HostReport::failed(
                    run.host.clone(),
                    e.category(),
                    format!("recorded as {}, but the PXE boot failed: {e}", row.hostname),
                );
            }
        }
    }
    Ok(())
}
