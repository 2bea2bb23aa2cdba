//! `verify`.

use metal_ops::Error;
use metal_ops::verify::{Netboot, NetbootServer};
use metal_types::ExitCode;

use super::ctx::Ctx;
use crate::args::VerifyArgs;
use crate::output::{self, progress::Bars};

pub async fn verify(ctx: &Ctx, args: VerifyArgs) -> Result<i32, Error> {
    let netboot = match (&args.netboot, &args.netboot_token_file) {
        (Some(url), Some(file)) => Some(NetbootServer::with_token_file(url, file)?),
        _ => None,
    };
    let bars = Bars::new(ctx.json);
    let verified = metal_ops::verify::verify(
        &ctx.config,
        &args.targets,
        &args.profile,
        &args.report,
        Netboot::new(netboot.as_ref(), args.burnin)?,
        &bars,
    )
    .await?;
    output::acceptance::verified(&mut std::io::stdout(), &verified, ctx.json)?;
    Ok(ExitCode::for_fleet(
        verified.summary.passed,
        verified.summary.failed,
    ))
}
