//! `enroll`, `ls`, `events`, `state`, `export`, `dns sync`.

use std::time::Duration;

use metal_ops::Error;
use metal_ops::dns::{SyncRequest, Zone, ZoneFileOptions};
use metal_ops::enroll::Enrolment;

use super::ctx::Ctx;
use crate::args::{
    DnsArgs, DnsOp, EnrollArgs, EventsArgs, ExportArgs, ExportWhat, LsArgs, StateArgs, ZoneArgs,
};
use crate::output::inventory::ExportFile;
use crate::output::{self, progress::Bars};

pub async fn enroll(ctx: &Ctx, args: EnrollArgs) -> Result<i32, Error> {
    let plan = Enrolment {
        specs: args.targets,
        rack: args.rack,
        site: args.site,
        pool: args.pool,
        hostname_scheme: args.hostname_scheme,
        credential_set: args.credential_set,
        boot: args.boot,
    };
    let bars = Bars::new(ctx.json);
    let report = metal_ops::enroll::enroll(&ctx.config, &plan, &bars).await?;
    output::fleet::enroll(&mut std::io::stdout(), &report, ctx.json)?;
    Ok(report.exit_code())
}

pub async fn ls(ctx: &Ctx, args: LsArgs) -> Result<i32, Error> {
    let machines = metal_ops::lifecycle::list(&ctx.config, &args.targets).await?;
    output::inventory::machines(&mut std::io::stdout(), &machines, ctx.json)?;
    Ok(metal_types::ExitCode::OK)
}

pub async fn events(ctx: &Ctx, args: EventsArgs) -> Result<i32, Error> {
    let events = metal_ops::lifecycle::events(&ctx.config, args.host.as_deref()).await?;
    output::inventory::events(&mut std::io::stdout(), &events, ctx.json)?;
    Ok(metal_types::ExitCode::OK)
}

pub async fn state(ctx: &Ctx, args: StateArgs) -> Result<i32, Error> {
    let report =
        metal_ops::lifecycle::set_state(&ctx.config, args.state, &args.hosts, &args.reason).await?;
    output::fleet::state(&mut std::io::stdout(), &report, ctx.json)?;
    Ok(report.exit_code())
}

fn zone(args: &ZoneArgs) -> Zone {
    Zone {
        name: args.zone.clone(),
        ttl: args.ttl,
    }
}

pub async fn export(ctx: &Ctx, args: ExportArgs) -> Result<i32, Error> {
    let (command, files) = match args.what {
        ExportWhat::Dns(a) => {
            let opts = ZoneFileOptions {
                zone: zone(&a.zone),
                ns: a.ns,
                ns_address: a.ns_address,
                serial: a.serial,
            };
            let zones = metal_ops::dns::export(&ctx.config, &opts).await?;
            let mut files = vec![zones.forward];
            if a.out.is_some() {
                files.extend(zones.reverse);
            }
            let files = files
                .into_iter()
                .map(|z| ExportFile {
                    name: format!("{}.zone", z.name),
                    path: None,
                    text: z.text,
                })
                .collect();
            ("export dns", place(files, a.out.as_deref())?)
        }
        ExportWhat::Nagios(a) => {
            let text = metal_ops::export::nagios(&ctx.config, &a.template, &a.metal).await?;
            ("export nagios", single(text, a.out.as_deref())?)
        }
        ExportWhat::Prometheus(a) => {
            let text = metal_ops::export::prometheus(&ctx.config, a.port).await?;
            ("export prometheus", single(text, a.out.as_deref())?)
        }
    };
    output::inventory::exported(&mut std::io::stdout(), command, &files, ctx.json)?;
    Ok(metal_types::ExitCode::OK)
}

/// One export file: written to `out` when given.
fn single(text: String, out: Option<&std::path::Path>) -> Result<Vec<ExportFile>, Error> {
    let name = out
        .and_then(|p| p.file_name())
        .map_or_else(|| "-".into(), |n| n.to_string_lossy().into_owned());
    let file = ExportFile {
        name,
        path: None,
        text,
    };
    match out {
        Some(path) => {
            metal_ops::export::write_atomically(path, &file.text)?;
            Ok(vec![ExportFile {
                path: Some(path.display().to_string()),
                ..file
            }])
        }
        None => Ok(vec![file]),
    }
}

/// Zone files: written into the directory `out` (created) when given.
fn place(files: Vec<ExportFile>, out: Option<&std::path::Path>) -> Result<Vec<ExportFile>, Error> {
    let Some(dir) = out else {
        return Ok(files);
    };
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    files
        .into_iter()
        .map(|f| {
            let path = dir.join(&f.name);
            metal_ops::export::write_atomically(&path, &f.text)?;
            Ok(ExportFile {
                path: Some(path.display().to_string()),
                ..f
            })
        })
        .collect()
}

pub async fn dns(ctx: &Ctx, args: DnsArgs) -> Result<i32, Error> {
    let DnsOp::Sync(a) = args.op;
    let request = SyncRequest {
        zone: zone(&a.zone),
        server: a.server,
        key_file: a.key_file,
        reverse: a.reverse,
        timeout: Duration::from_secs(a.timeout.max(1)),
    };
    let report = metal_ops::dns::sync(&ctx.config, &request).await?;
    output::inventory::dns_sync(&mut std::io::stdout(), &report, ctx.json)?;
    Ok(report.exit_code())
}
