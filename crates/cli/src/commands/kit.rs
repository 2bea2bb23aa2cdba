//! `kit build|verify|unpack`.

use metal_ops::Error;
use metal_ops::kit::KitInputs;
use metal_types::ExitCode;

use super::ctx::Ctx;
use crate::args::{KitArgs, KitCommand};
use crate::output;

pub fn run(ctx: &Ctx, args: KitArgs) -> Result<i32, Error> {
    let out = &mut std::io::stdout();
    match args.command {
        KitCommand::Build {
            profiles,
            out: file,
            ipxe,
            images,
            deb,
        } => {
            let inputs = KitInputs {
                profiles,
                ipxe,
                images,
                deb,
            };
            let manifest = metal_ops::kit::build(&ctx.config, &inputs, &file)?;
            output::kit::built(out, &file, &manifest, ctx.json)?;
        }
        KitCommand::Verify { file } => {
            let verified = metal_ops::kit::verify(&file)?;
            output::kit::verified(out, &file, &verified, ctx.json)?;
        }
        KitCommand::Unpack { file, into } => {
            let verified = metal_ops::kit::unpack(&file, &into)?;
            output::kit::verified(out, &into, &verified, ctx.json)?;
        }
    }
    Ok(ExitCode::OK)
}
