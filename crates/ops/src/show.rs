//! `show`: one board's hardware, power and pending boot read live; or, for an inventory host,
//! its place in the tree (rack → board → Dom0 → DomUs) as recorded, with the board's power and
//! pending boot read live through the guard (a swapped board is refused, as `power` does).

use metal_amt::{Amt, Error as AmtError, Hardware};
use metal_inventory::{Guest, Machine};
use metal_types::{BootDevice, HostOutcome, HostReport, Report, Target};
use serde::Serialize;

use crate::boards::{self, Guard};
use crate::power::StatusRow;
use crate::targets::{self, Resolved};
use crate::{Config, Error, Silent, inventory, report};

/// Everything read live from a board.
#[derive(Debug, Clone, Serialize)]
pub struct Details {
    pub power: StatusRow,
    /// Pending one-shot boot device; `null` when the board boots its default order.
    pub next_boot: Option<BootDevice>,
    pub hardware: Hardware,
}

/// The live part of an inventory host's view.
#[derive(Debug, Clone, Serialize)]
pub struct Live {
    pub power: StatusRow,
    pub next_boot: Option<BootDevice>,
}

/// An inventory host: its record, its Dom0's guests, and what its board says now.
#[derive(Debug, Clone, Serialize)]
pub struct Tree {
    pub machine: Machine,
    pub guests: Vec<Guest>,
    /// The board's answer (`ok: false` with the error when it could not be read).
    pub live: HostReport<Live>,
}

/// What `show` found.
#[derive(Debug, Clone)]
pub enum Shown {
    /// An address: the board read live.
    Board(Report<Details>),
    /// An inventory hostname (or a guest's name: its Dom0).
    Machine(Box<Tree>),
}

async fn details(amt: &mut Amt) -> Result<Details, AmtError> {
    let hardware = amt.hardware().await?;
    let power = amt.power_status().await?.into();
    let next_boot = amt.next_boot().await?;
    Ok(Details {
        power,
        next_boot,
        hardware,
    })
}

async fn live(amt: &mut Amt) -> Result<Live, AmtError> {
    let power = amt.power_status().await?.into();
    let next_boot = amt.next_boot().await?;
    Ok(Live { power, next_boot })
}

/// `show HOST`.
pub async fn show(config: &Config, spec: &str) -> Result<Shown, Error> {
    let Ok(Target::Name(name)) = spec.parse() else {
        let target = targets::resolve_one(config, spec, "show").await?;
        let runs = boards::run(
            config,
            std::slice::from_ref(&target),
            Guard::Uuid,
            &Silent,
            "show",
            |a| Box::pin(details(a)),
        )
        .await?;
        return Ok(Shown::Board(report::from_runs("show", runs, |d| d)));
    };
    let store = inventory::require(config).await?;
    let all_guests = store.guests().await?;
    let machine = match store.machine(&name).await? {
        Some(m) => m,
        None => {
            let dom0 = all_guests
                .iter()
                .find(|g| g.name == name || g.address.to_string() == name)
                .map(|g| g.dom0.clone())
                .ok_or_else(|| metal_inventory::Error::NotFound(name.clone()))?;
            store.machine(&dom0).await?.ok_or_else(|| {
                metal_inventory::Error::NotFound(format!("{name}: its Dom0 {dom0}"))
            })?
        }
    };
    let guests: Vec<Guest> = all_guests
        .into_iter()
        .filter(|g| g.dom0 == machine.hostname)
        .collect();
    store.close().await;
    let target = Resolved {
        host: machine.amt_address,
        machine: Some(machine.clone()),
    };
    let mut runs = boards::run(
        config,
        std::slice::from_ref(&target),
        Guard::Uuid,
        &Silent,
        "show",
        |a| Box::pin(live(a)),
    )
    .await?;
    let run = runs.remove(0);
    if let Err(e @ AmtError::WrongBoard { .. }) = run.result {
        return Err(e.into());
    }
    let live = report::from_runs("show", vec![run], |l| l).hosts.remove(0);
    Ok(Shown::Machine(Box::new(Tree {
        machine,
        guests,
        live,
    })))
}

impl Shown {
    /// 0 when everything was read, 3 when the board could not be.
    pub fn exit_code(&self) -> i32 {
        match self {
            Shown::Board(report) => report.exit_code(),
            Shown::Machine(tree) => match tree.live.outcome {
                HostOutcome::Ok(_) => metal_types::ExitCode::OK,
                HostOutcome::Failed { .. } => metal_types::ExitCode::ALL_FAILED,
            },
        }
    }
}
