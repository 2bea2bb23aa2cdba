//! Enrolment: discover AMT boards, read their hardware, match a hardware profile, allocate
//! hostname and address, record them (with the TLS pin they showed); with `boot`, one-shot PXE
//! and power on, guarded, and mark them provisioning.
//!
//! Safe to repeat: a board already recorded is reported as unchanged. Each board is recorded
//! in its own transaction, so an interrupted run leaves whole records only and the next run
//! finishes the rest. A board the inventory refuses fails alone; when the database itself
//! fails, the boards not yet recorded are reported as failed and the run stops.

use std::net::IpAddr;
use std::sync::Arc;

use metal_amt::Hardware;
use metal_inventory::profiles::{self, HardwareProfile};
use metal_inventory::{BoardFacts, EnrollRequest, MachineState, Outcome, Store, TlsPin};
use metal_types::{BootDevice, ErrorKind, HostOutcome, HostReport, Report};
use metal_wsman::KnownHosts;
use serde::Serialize;

use crate::boards::{self, Guard};
use crate::discover::{probe_all, probe_options};
use crate::targets::{self, Resolved};
use crate::{Config, Error, Progress, inventory};

/// What to enrol and where.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Addresses and CIDR blocks to look for boards in.
    pub specs: Vec<String>,
    pub rack: String,
    /// The site of a new rack.
    pub site: String,
    /// Address pool of a new rack; `None`: the config's.
    pub pool: Option<String>,
    /// Hostname scheme of a new rack; `None`: the config's.
    pub hostname_scheme: Option<String>,
    /// The credential set the boards' AMT password comes from.
    pub credential_set: String,
    /// Then boot every enrolled board into provisioning.
    pub boot: bool,
}

/// What happened to one board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnrollResult {
    /// Recorded now, with a profile.
    Enrolled,
    /// Recorded now, without a profile (state `new`, never provisioned).
    NotProvisioned,
    /// Already recorded; a profile matches now.
    Matched,
    /// Already recorded, nothing changed.
    Unchanged,
    /// Already recorded; its changed TLS certificate's pin is recorded (`--repin`).
    Repinned,
}

/// One board's row.
#[derive(Debug, Clone, Serialize)]
pub struct EnrollRow {
    pub hostname: String,
    pub address: IpAddr,
    pub uuid: String,
    pub profile: Option<String>,
    pub state: MachineState,
    pub result: EnrollResult,
    /// Why no profile matched, or what `boot` did.
    pub note: Option<String>,
}

fn facts(host: IpAddr, hardware: Hardware, tls_pin: Option<TlsPin>) -> BoardFacts {
    BoardFacts {
        amt_address: host,
        tls_pin,
        hardware,
    }
}

/// The addresses to look at: enrolment finds boards, it does not resolve names.
fn addresses(specs: &[String]) -> Result<Vec<IpAddr>, Error> {
    let mut hosts = Vec::new();
    for t in targets::parse(specs)? {
        match t.addresses() {
            Some(a) => hosts.extend(a),
            None => {
                return Err(Error::Usage(format!(
                    "enroll looks for boards at addresses: give CIDR blocks or IP addresses, not {t}"
                )));
            }
        }
    }
    Ok(hosts)
}

/// Runs an enrolment.
pub async fn enroll(
    config: &Config,
    plan: &Enrolment,
    progress: &dyn Progress,
) -> Result<Report<EnrollRow>, Error> {
    let hosts = addresses(&plan.specs)?;
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let profiles = config.profiles.load()?;
    let fleet = config.fleet(config.credential_set(&plan.credential_set)?)?;
    let store = inventory::open(config).await?;
    let request = EnrollRequest {
        rack: plan.rack.clone(),
        site: plan.site.clone(),
        pool: plan.pool.clone().unwrap_or_else(|| config.pool.clone()),
        scheme: plan
            .hostname_scheme
            .clone()
            .unwrap_or_else(|| config.hostname_scheme.clone()),
        credential_set: plan.credential_set.clone(),
        actor: config.actor("enroll"),
        repin: config.repin,
    };
    request.check()?;

    let seen_pins = Arc::new(KnownHosts::in_memory());
    let options = Arc::new(metal_wsman::TransportOptions {
        known_hosts: seen_pins.clone(),
        ..probe_options(config)
    });
    let found = probe_all(&hosts, config.parallel, options, progress).await;
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "no AMT board answers in {}",
            plan.specs.join(", ")
        )));
    }
    let addresses: Vec<String> = found.iter().map(|d| d.address.to_string()).collect();
    progress.begin("hardware", addresses.len());
    let runs = fleet
        .run(
            &addresses,
            |a| Box::pin(a.hardware()),
            |_| progress.advance(),
        )
        .await;
    progress.end();

    let mut rows = Vec::new();
    let mut broken: Option<String> = None;
    for (run, board) in runs.into_iter().zip(&found) {
        let host = run.host;
        let hardware = match (run.result, &broken) {
            (_, Some(why)) => {
                rows.push(HostReport::failed(host, ErrorKind::Other, why.clone()));
                continue;
            }
            (Ok(hw), None) => hw,
            (Err(e), None) => {
                rows.push(HostReport::failed(host, e.category(), e.to_string()));
                continue;
            }
        };
        let pin = seen_pins
            .get(&metal_amt::ports::wsman(host.clone(), true).key())
            .map(TlsPin);
        let board = facts(board.address, hardware, pin);
        match record(&store, &request, &profiles, &board).await {
            Ok(row) => rows.push(HostReport::ok(host, row)),
            Err(metal_inventory::Error::Conflict(why) | metal_inventory::Error::Invalid(why)) => {
                rows.push(HostReport::failed(host, ErrorKind::Other, why));
            }
            Err(e) => {
                let why = format!("not recorded: the inventory failed ({e})");
                broken = Some(format!("not recorded: the inventory failed at {host}"));
                rows.push(HostReport::failed(host, ErrorKind::Other, why));
            }
        }
    }
    if plan.boot && broken.is_none() {
        boot(config, &store, &mut rows, progress).await?;
    }
    store.close().await;
    Ok(Report::new(format!("enroll --rack {}", plan.rack), rows))
}

async fn record(
    store: &Store,
    request: &EnrollRequest,
    profiles: &[HardwareProfile],
    board: &BoardFacts,
) -> Result<EnrollRow, metal_inventory::Error> {
    let matched = profiles::match_board(profiles, board);
    let e = store.enroll(request, board, &matched).await?;
    let m = e.machine;
    let result = match (e.outcome, m.state) {
        (Outcome::Created, MachineState::New) => EnrollResult::NotProvisioned,
        (Outcome::Created, _) => EnrollResult::Enrolled,
        (Outcome::Matched, _) => EnrollResult::Matched,
        (Outcome::Unchanged, _) => EnrollResult::Unchanged,
        (Outcome::Repinned, _) => EnrollResult::Repinned,
    };
    Ok(EnrollRow {
        hostname: m.hostname,
        address: m.address,
        uuid: m.uuid,
        profile: m.profile,
        state: m.state,
        result,
        note: m.profile_note,
    })
}

/// One-shot PXE and power on every enrolled board, guarded like `boot`, then mark it
/// provisioning.
async fn boot(
    config: &Config,
    store: &Store,
    rows: &mut [HostReport<EnrollRow>],
    progress: &dyn Progress,
) -> Result<(), Error> {
    let mut targets = Vec::new();
    for r in rows.iter() {
        if let HostOutcome::Ok(row) = &r.outcome
            && row.state == MachineState::Enrolled
            && let Some(machine) = store.machine(&row.hostname).await?
        {
            targets.push(Resolved {
                host: machine.amt_address,
                machine: Some(machine),
            });
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    let runs = boards::run(
        config,
        &targets,
        Guard::Uuid,
        progress,
        "boot pxe --now",
        |a| Box::pin(a.boot(BootDevice::Pxe, true)),
    )
    .await?;
    let actor = config.actor("enroll --boot");
    for run in runs {
        let Some(report) = rows.iter_mut().find(|r| r.host == run.host) else {
            continue;
        };
        let HostOutcome::Ok(row) = &mut report.outcome else {
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
