//! `metal vm …`: checks what install_xen.sh checked (every one of -h -i -m -s given), calls
//! `metal_ops::vm`, renders with `output::vm`.

use metal_ops::Error;
use metal_ops::vm::{self, CreateRequest};
use metal_types::ExitCode;

use super::ctx::Ctx;
use crate::args::vm::VmCreateArgs;
use crate::args::{VmArgs, VmCommand};
use crate::output;

pub async fn run(ctx: &Ctx, args: VmArgs) -> Result<i32, Error> {
    let mut out = std::io::stdout().lock();
    match args.command {
        VmCommand::Create(a) => {
            let explain = a.explain;
            let req = request(ctx, a)?;
            let created = vm::create(&ctx.config, req).await?;
            output::vm::created(&mut out, &created, explain, ctx.json)?;
            Ok(ExitCode::OK)
        }
        VmCommand::Ls => {
            let listed = vm::ls(&ctx.config).await?;
            output::vm::listed(&mut out, &listed, ctx.json)?;
            let failed = listed.iter().filter(|l| l.state.is_none()).count();
            Ok(ExitCode::for_fleet(listed.len(), failed))
        }
        VmCommand::Start(n) => changed(ctx, "vm start", vm::start(&ctx.config, &n.name).await?),
        VmCommand::Stop(n) => changed(ctx, "vm stop", vm::stop(&ctx.config, &n.name).await?),
        VmCommand::Destroy(n) => {
            changed(ctx, "vm destroy", vm::destroy(&ctx.config, &n.name).await?)
        }
        VmCommand::Console(c) => {
            let text = vm::console(&ctx.config, &c.name, c.bytes).await?;
            output::vm::console(&mut out, &c.name, &text, ctx.json)?;
            Ok(ExitCode::OK)
        }
        VmCommand::Migrate(m) => {
            let moved = vm::migrate(&ctx.config, &m.name, &m.to).await?;
            output::vm::migrated(&mut out, &moved, ctx.json)?;
            Ok(ExitCode::OK)
        }
    }
}

fn changed(ctx: &Ctx, command: &'static str, c: vm::Changed) -> Result<i32, Error> {
    output::vm::changed(&mut std::io::stdout().lock(), command, &c, ctx.json)?;
    Ok(ExitCode::OK)
}

/// The request, or a usage error naming every one of -h -i -m -s that is missing.
fn request(ctx: &Ctx, a: VmCreateArgs) -> Result<CreateRequest, Error> {
    let missing: Vec<&str> = [
        (a.name.is_none(), "-h NAME"),
        (a.ip.is_none(), "-i IP"),
        (a.memory.is_none(), "-m MB"),
        (a.size.is_none(), "-s GB"),
    ]
    .into_iter()
    .filter_map(|(absent, flag)| absent.then_some(flag))
    .collect();
    let (Some(name), Some(address), Some(memory_mib), Some(disk_gib)) =
        (a.name, a.ip, a.memory, a.size)
    else {
        return Err(Error::Usage(format!(
            "vm create: missing {} (usage: metal vm create -h NAME -i IP -m MB -s GB [--on DOM0 | --role ROLE] [--explain])",
            missing.join(", ")
        )));
    };
    Ok(CreateRequest {
        name,
        address,
        memory_mib,
        disk_gib,
        vcpus: a.vcpus,
        on: a.on,
        role: a.role,
        image: a
            .image
            .unwrap_or_else(|| metal_ops::image::default_out().join("domu-root.ext4")),
        gateway: a.gateway,
        dns: a.dns,
        domain: a.domain,
        window: std::time::Duration::from_secs(a.window),
        policy: ctx.config.placement.clone(),
    })
}
