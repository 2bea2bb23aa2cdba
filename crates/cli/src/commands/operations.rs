//! `metal web`, `metal user`, `metal check`, `metal watch`.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use metal_ops::Error;
use metal_ops::check::Limits;
use metal_ops::watch::Settings;
use metal_types::ExitCode;

use super::Ctx;
use crate::args::{CheckArgs, UserArgs, UserCommand, WatchArgs, WebArgs, WebOptionsArgs};
use crate::output;

/// The dashboard's options from the flags.
pub fn web_options(args: &WebOptionsArgs) -> metal_web::Options {
    metal_web::Options {
        open: args.open.clone(),
        secure_cookies: args.secure_cookies,
        load_interval: Duration::from_secs(args.load_interval),
        consoles: args.consoles.clone(),
    }
}

/// Binds `listen` and serves the dashboard there; prints the `ready` line first.
pub async fn serve_web(
    ctx: &Ctx,
    listen: std::net::SocketAddr,
    options: metal_web::Options,
) -> Result<(), Error> {
    let store = metal_ops::inventory::open(&ctx.config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Usage(format!("dashboard: cannot listen on {listen}: {e}")))?;
    let bound = listener.local_addr().map_err(Error::Output)?;
    output::operations::web_ready(&mut std::io::stdout(), bound, ctx.json)?;
    metal_web::serve(listener, ctx.config.clone(), store, options)
        .await
        .map_err(|e| Error::Usage(format!("dashboard on {bound} stopped: {e}")))
}

pub async fn web(ctx: &Ctx, args: WebArgs) -> Result<i32, Error> {
    tokio::select! {
        r = serve_web(ctx, args.listen, web_options(&args.options)) => r?,
        r = super::ctx::stopped() => r?,
    }
    Ok(ExitCode::OK)
}

pub async fn user(ctx: &Ctx, args: UserArgs) -> Result<i32, Error> {
    match args.command {
        UserCommand::Add { name } => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .take(4096)
                .read_line(&mut line)
                .map_err(Error::Output)?;
            let password = line.trim_end_matches(['\n', '\r']);
            let new = metal_ops::operators::add(&ctx.config, &name, password).await?;
            output::operations::user_added(&mut std::io::stdout(), &name, new, ctx.json)?;
        }
        UserCommand::Ls => {
            let names = metal_ops::operators::list(&ctx.config).await?;
            output::operations::users(&mut std::io::stdout(), &names, ctx.json)?;
        }
    }
    Ok(ExitCode::OK)
}

fn seconds(name: &str, v: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero() || name == "rack-spacing")
        .ok_or_else(|| {
            Error::Usage(format!(
                "--{name} must be a positive number of seconds, not {v}"
            ))
        })
}

pub async fn check(ctx: &Ctx, args: CheckArgs) -> Result<i32, Error> {
    let limits = Limits {
        warn: seconds("warning", args.warning)?,
        critical: seconds("critical", args.critical)?,
    };
    let checked = metal_ops::check::check(&ctx.config, &args.host, limits).await;
    output::operations::checked(&mut std::io::stdout(), &checked, ctx.json)?;
    Ok(checked.status.exit_code())
}

/// The ladder's settings from the flags.
pub fn watch_settings(args: &WatchArgs) -> Result<Settings, Error> {
    Ok(Settings {
        interval: seconds("interval", args.interval)?,
        down_after: seconds("down-after", args.down_after)?,
        boot_grace: seconds("boot-grace", args.boot_grace)?,
        max_cycles: args.max_cycles,
        window: seconds("window", args.window)?,
        broken_after: args.broken_after,
        rack_spacing: seconds("rack-spacing", args.rack_spacing)?,
        dry_run: args.dry_run,
    })
}

pub async fn watch(ctx: &Ctx, args: WatchArgs) -> Result<i32, Error> {
    let settings = watch_settings(&args)?;
    let stop_after = args
        .stop_after
        .map(|s| seconds("stop-after", s))
        .transpose()?;
    let json = ctx.json;
    output::operations::watch_ready(&mut std::io::stdout(), &settings, json)?;
    let mut report = move |r: metal_ops::watch::Report| {
        let _ = output::operations::watch_line(&mut std::io::stdout(), &r, json);
    };
    tokio::select! {
        r = metal_ops::watch::run(&ctx.config, settings, stop_after, &mut report) => r?,
        r = super::ctx::stopped() => r?,
    }
    std::io::stdout().flush().map_err(Error::Output)?;
    Ok(ExitCode::OK)
}
