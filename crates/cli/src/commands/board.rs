//! `power`, `power-cycle`, `boot`, `show`, `discover`.

use metal_ops::show::Shown;
use metal_types::PowerAction;

use super::ctx::Ctx;
use crate::args::{BootArgs, BootDevice, DiscoverArgs, PowerArgs, PowerOp, ShowArgs, TargetArgs};
use crate::output::{self, progress::Bars};
use metal_ops::Error;

pub async fn power(ctx: &Ctx, args: PowerArgs) -> Result<i32, Error> {
    let (action, targets) = match args.op {
        PowerOp::Status(t) => {
            let bars = Bars::new(ctx.json);
            let report = metal_ops::power::status(&ctx.config, &t.targets, &bars).await?;
            output::fleet::power_status(&mut std::io::stdout(), &report, ctx.json)?;
            return Ok(report.exit_code());
        }
        PowerOp::On(t) => (PowerAction::On, t),
        PowerOp::Off(t) => (PowerAction::Off, t),
        PowerOp::Cycle(t) => (PowerAction::Cycle, t),
        PowerOp::Reset(t) => (PowerAction::Reset, t),
        PowerOp::SoftOff(t) => (PowerAction::SoftOff, t),
        PowerOp::SoftReset(t) => (PowerAction::SoftReset, t),
    };
    power_change(ctx, action, targets).await
}

pub async fn power_change(ctx: &Ctx, action: PowerAction, args: TargetArgs) -> Result<i32, Error> {
    let bars = Bars::new(ctx.json);
    let report = metal_ops::power::change(&ctx.config, action, &args.targets, &bars).await?;
    output::fleet::power_change(&mut std::io::stdout(), &report, ctx.json)?;
    Ok(report.exit_code())
}

pub async fn boot(ctx: &Ctx, args: BootArgs) -> Result<i32, Error> {
    let device = match args.device {
        BootDevice::Pxe => metal_types::BootDevice::Pxe,
        BootDevice::Disk => metal_types::BootDevice::Disk,
    };
    let bars = Bars::new(ctx.json);
    let report =
        metal_ops::boot::boot(&ctx.config, device, args.now, &args.targets.targets, &bars).await?;
    output::fleet::boot(&mut std::io::stdout(), &report, ctx.json)?;
    Ok(report.exit_code())
}

pub async fn show(ctx: &Ctx, args: ShowArgs) -> Result<i32, Error> {
    let shown = metal_ops::show::show(&ctx.config, &args.host).await?;
    let out = &mut std::io::stdout();
    match &shown {
        Shown::Board(report) => output::board::details(out, report, ctx.json)?,
        Shown::Machine(tree) => output::inventory::tree(out, tree, ctx.json)?,
    }
    Ok(shown.exit_code())
}

pub async fn discover(ctx: &Ctx, args: DiscoverArgs) -> Result<i32, Error> {
    let bars = Bars::new(ctx.json);
    let report = metal_ops::discover::discover(&ctx.config, &args.targets, &bars).await?;
    output::board::discovered(&mut std::io::stdout(), &report, ctx.json)?;
    Ok(metal_types::ExitCode::OK)
}
