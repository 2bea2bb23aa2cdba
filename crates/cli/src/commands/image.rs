//! `metal image build|ls`: calls `metal_ops::image`, renders with `output::image`.

use metal_ops::Error;
use metal_ops::image::{self, BuildRequest, Kind};
use metal_types::ExitCode;

use super::ctx::Ctx;
use crate::args::{ImageArgs, ImageCommand, ImageKind};
use crate::output;

pub async fn run(ctx: &Ctx, args: ImageArgs) -> Result<i32, Error> {
    match args.command {
        ImageCommand::Build(b) => {
            let kind = match b.kind {
                ImageKind::Dom0 => Kind::Dom0,
                ImageKind::Installer => Kind::Installer,
                ImageKind::Domu => Kind::Domu,
                ImageKind::Burnin => Kind::Burnin,
            };
            let quiet = ctx.json;
            let built = image::build(
                BuildRequest {
                    kind,
                    out: b.out,
                    mirror: Some(b.mirror),
                    agent: b.agent,
                },
                move |step| {
                    if !quiet {
                        eprintln!("{step}");
                    }
                },
            )
            .await?;
            output::image::built(ctx, &built)?;
            Ok(ExitCode::OK)
        }
        ImageCommand::Ls(l) => {
            let listed = image::ls(l.dir.as_deref())?;
            output::image::listed(ctx, &listed)?;
            Ok(if listed.iter().any(|l| !l.problems.is_empty()) {
                ExitCode::USAGE
            } else {
                ExitCode::OK
            })
        }
    }
}
