//! The long-running commands: `serve`, `tftp serve`, `sim`. Each prints one `ready` line once
//! bound, then its log, until SIGINT or SIGTERM.

use std::net::Ipv4Addr;
use std::time::Duration;

use metal_ops::Error;
use metal_ops::netboot::Service;
use metal_sim::{
    Consent, Control, ControlByBoard, ControlMode, Fault, QemuBoards, ReportsByBoard, Sim,
    SimConfig, SimEvent,
};
use metal_types::{Document, ExitCode};
use serde::Serialize;
use std::collections::BTreeMap;
use tokio::signal::unix::{SignalKind, signal};

use super::ctx::{Ctx, stopped};
use crate::args::{ServeArgs, SimArgs, TftpArgs, TftpCommand};
use crate::output;

pub async fn serve(ctx: &Ctx, args: ServeArgs) -> Result<i32, Error> {
    let timeout = Duration::from_secs(args.provision_timeout);
    let service = Service::start(&ctx.config, &args.config, args.inventory, timeout).await?;
    let json = ctx.json;
    output::services::serve_ready(
        &mut std::io::stdout(),
        service.mode,
        &service.addresses,
        json,
    )?;
    let web = async {
        match args.web {
            Some(listen) => {
                super::operations::serve_web(
                    ctx,
                    listen,
                    super::operations::web_options(&args.web_options),
                )
                .await
            }
            None => std::future::pending().await,
        }
    };
    let watch = async {
        if !args.watch {
            return std::future::pending().await;
        }
        let mut report = move |r: metal_ops::watch::Report| {
            let _ = output::operations::watch_line(&mut std::io::stdout(), &r, json);
        };
        let settings = metal_ops::watch::Settings::default();
        metal_ops::watch::run(&ctx.config, settings, None, &mut report).await
    };
    tokio::select! {
        r = service.run(|log| output::services::serve_log(&mut std::io::stdout(), &log, json)) => r?,
        r = web => r?,
        r = watch => r?,
        r = stopped() => r?,
    }
    Ok(ExitCode::OK)
}

pub async fn tftp(ctx: &Ctx, args: TftpArgs) -> Result<i32, Error> {
    let TftpCommand::Serve { dir, listen } = args.command;
    let server = metal_ops::netboot::tftp(&dir, listen)?;
    output::services::tftp_ready(&mut std::io::stdout(), server.local_addr(), ctx.json)?;
    tokio::select! {
        r = server.serve() => r.map_err(|e| Error::Netboot(format!("TFTP server stopped: {e}")))?,
        r = stopped() => r?,
    }
    Ok(ExitCode::OK)
}

/// Parses a `--fault` kind (`latency:MS`, `drop`, `hang`, ...).
fn parse_fault(kind: &str) -> Result<Fault, Error> {
    Ok(match kind {
        "drop" => Fault::Drop,
        "http500" => Fault::Http500,
        "hang" => Fault::Hang,
        "refuse" => Fault::Refuse,
        "no-qop" => Fault::DigestWithoutQop,
        "sol-locked" => Fault::SolLocked,
        "no-power-on" => Fault::NoPowerOn,
        "none" => Fault::None,
        other => {
            if let Some(ms) = other.strip_prefix("latency:") {
                Fault::Latency(Duration::from_millis(ms.parse().map_err(|_| {
                    Error::Usage(format!("fault {other}: bad milliseconds"))
                })?))
            } else if let Some(bytes) = other.strip_prefix("endless-pull:") {
                Fault::EndlessPull(
                    bytes
                        .parse()
                        .map_err(|_| Error::Usage(format!("fault {other}: bad byte count")))?,
                )
            } else {
                return Err(Error::Usage(format!(
                    "unknown fault {other:?}: use latency:MS, drop, http500, hang, refuse, no-qop, endless-pull:BYTES, sol-locked or no-power-on"
                )));
            }
        }
    })
}

/// Splits `[ADDRESS=]VALUE` of `flag`.
fn per_board<T: std::str::FromStr<Err = metal_sim::ControlError>>(
    flag: &str,
    spec: &str,
) -> Result<(Option<Ipv4Addr>, T), Error> {
    let (address, value) = match spec.split_once('=') {
        Some((a, v)) => {
            let a: Ipv4Addr = a
                .parse()
                .map_err(|_| Error::Usage(format!("{flag} {spec}: bad address {a:?}")))?;
            (Some(a), v)
        }
        None => (None, spec),
    };
    let value = value
        .parse()
        .map_err(|e: metal_sim::ControlError| Error::Usage(format!("{flag} {spec}: {e}")))?;
    Ok((address, value))
}

/// `--control-mode` and `--consent`: the default of every board and the exceptions.
fn control_by_board(args: &SimArgs) -> Result<ControlByBoard, Error> {
    type Setting = (Option<ControlMode>, Option<Consent>);
    let mut default: Setting = (None, None);
    let mut boards: BTreeMap<Ipv4Addr, Setting> = BTreeMap::new();
    for spec in &args.control_modes {
        let (address, mode) = per_board::<ControlMode>("--control-mode", spec)?;
        let slot = address.map_or(&mut default, |a| boards.entry(a).or_default());
        slot.0 = Some(mode);
    }
    for spec in &args.consents {
        let (address, consent) = per_board::<Consent>("--consent", spec)?;
        let slot = address.map_or(&mut default, |a| boards.entry(a).or_default());
        slot.1 = Some(consent);
    }
    let make = |(mode, consent): Setting, what: &str| {
        Control::new(mode.unwrap_or_default(), consent)
            .map_err(|e| Error::Usage(format!("{what}: {e}")))
    };
    let mut control = ControlByBoard {
        default: make(default, "every board")?,
        ..ControlByBoard::default()
    };
    for (address, (mode, consent)) in boards {
        // A board given only a consent keeps the default mode. A board given its own mode
        // takes that mode's consent, not the default's (a CCM board among ACM boards with
        // consent none asks for consent).
        let own_mode = mode.is_some() && mode != default.0;
        let inherited = if own_mode { None } else { default.1 };
        let setting = (mode.or(default.0), consent.or(inherited));
        control
            .boards
            .insert(address, make(setting, &address.to_string())?);
    }
    Ok(control)
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum SimLine {
    Ready { boards: usize },
    Log(String),
    Dropped(u64),
    Stats(Stats),
}

#[derive(Serialize)]
struct Stats {
    boards: usize,
    requests: u64,
    unauthorized: u64,
    max_requests_per_board: u64,
    max_unauthorized_per_board: u64,
}

fn sim_line(json: bool, line: SimLine) -> Result<(), Error> {
    let out = &mut std::io::stdout();
    if json {
        return Ok(output::json_line(out, &Document::new("sim", line))?);
    }
    use std::io::Write;
    match line {
        SimLine::Ready { boards } => writeln!(out, "ready {boards} boards")?,
        SimLine::Log(text) => writeln!(out, "{text}")?,
        SimLine::Dropped(n) => writeln!(out, "({n} log lines dropped)")?,
        SimLine::Stats(s) => writeln!(
            out,
            "stats boards={} requests={} unauthorized={} max_requests_per_board={} max_unauthorized_per_board={}",
            s.boards,
            s.requests,
            s.unauthorized,
            s.max_requests_per_board,
            s.max_unauthorized_per_board
        )?,
    }
    Ok(out.flush()?)
}

/// `sim`: the boards accept the user and password `metal` would use (--user/--password,
/// METAL_AMT_USER/METAL_AMT_PASSWORD, [amt]); --tls also serves TLS on 16993.
pub async fn sim(ctx: &Ctx, args: SimArgs) -> Result<i32, Error> {
    if args.boards == 0 {
        return Err(Error::Usage("--boards must be at least 1".into()));
    }
    let credentials = ctx.config.default_credentials()?;
    let mut faults = Vec::new();
    for spec in &args.faults {
        let (address, kind) = spec
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--fault {spec}: expected ADDRESS=KIND")))?;
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| Error::Usage(format!("--fault {spec}: bad address")))?;
        faults.push((address, parse_fault(kind)?));
    }
    let mut reports = ReportsByBoard::new();
    let specs = args
        .reports
        .iter()
        .map(|s| (s, false))
        .chain(args.copies.iter().map(|s| (s, true)));
    for (spec, copies) in specs {
        let flag = if copies { "--copies" } else { "--report" };
        let (address, what) = spec
            .split_once(':')
            .ok_or_else(|| Error::Usage(format!("{flag}: expected ADDRESS:...")))?;
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| Error::Usage(format!("{flag}: bad address {address:?}")))?;
        let board = reports.entry(address).or_default();
        let added = if copies {
            board.add_copies(what)
        } else {
            board.add_property(what)
        };
        added.map_err(|e| Error::Usage(format!("{flag}: {e}")))?;
    }
    let config = SimConfig {
        control: control_by_board(&args)?,
        hardware: args.hardware,
        reports,
        boards: args.boards,
        first_ip: args.first_ip,
        user: credentials.user,
        password: credentials.password,
        latency: Duration::from_millis(args.latency),
        profile: args.profile,
        tls: ctx.config.tls,
        transition: Duration::from_millis(args.transition_ms),
        page_size: args.page_size.max(1),
        boot_output_delay: Duration::from_millis(args.boot_output_ms),
        sol_enabled: !args.sol_disabled,
        qemu: qemu_boards(&args),
        seed: args.seed,
        ..SimConfig::default()
    };
    // Each board holds two listeners plus its connections.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let sim = Sim::start(config)
        .await
        .map_err(|e| Error::Usage(format!("cannot start the simulator: {e}")))?;
    for (address, fault) in faults {
        let board = sim
            .board(address)
            .ok_or_else(|| Error::Usage(format!("--fault: no simulated board at {address}")))?;
        board.set_fault(fault);
    }
    let mut events = sim.events();
    sim_line(
        ctx.json,
        SimLine::Ready {
            boards: sim.boards().len(),
        },
    )?;
    let mut term = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(SimEvent::Request { .. }) if args.quiet => {}
                Ok(event) => sim_line(ctx.json, SimLine::Log(event.to_string()))?,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => sim_line(ctx.json, SimLine::Dropped(n))?,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    let stats = sim.stats();
    sim_line(
        ctx.json,
        SimLine::Stats(Stats {
            boards: sim.boards().len(),
            requests: stats.requests,
            unauthorized: stats.unauthorized,
            max_requests_per_board: stats.max_requests_per_board,
            max_unauthorized_per_board: stats.max_unauthorized_per_board,
        }),
    )?;
    sim.shutdown().await;
    Ok(ExitCode::OK)
}

/// `--qemu` and its settings.
fn qemu_boards(args: &SimArgs) -> Option<QemuBoards> {
    let bridge = args.bridge.as_ref().filter(|_| args.qemu)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| metal_ops::image::cache_dir().join("sim"));
    let mut boards = QemuBoards::new(bridge.clone(), dir);
    boards.netns = args.netns.clone();
    boards.disks = args.disks;
    boards.memory_mib = args.memory;
    boards.firmware = args.firmware;
    Some(boards)
}
