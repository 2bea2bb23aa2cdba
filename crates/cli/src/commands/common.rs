//! What every AMT command shares: credentials, connection options, target expansion, the
//! progress bar, and printing a per-host report as a table or as JSON.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use indicatif::{ProgressBar, ProgressStyle};
use metal_amt::{Fleet, HostRun, PowerPolicy};
use metal_types::{HostReport, Report, Target};
use metal_wsman::{Credentials, KnownHosts, TransportOptions};
use serde::{Deserialize, Serialize};

/// Options of every command that talks to AMT boards.
#[derive(Debug, Clone, Args)]
pub struct AmtArgs {
    /// AMT user.
    #[arg(long, env = "METAL_AMT_USER", global = true)]
    pub user: Option<String>,
    /// AMT password (prefer the environment variable or the config file: arguments are visible
    /// to other users in the process list).
    #[arg(
        long,
        env = "METAL_AMT_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub password: Option<String>,
    /// Talk TLS on port 16993 (certificate pinned on first use) instead of HTTP on 16992.
    #[arg(long, global = true)]
    pub tls: bool,
    /// File of pinned TLS certificates [default: ~/.config/metal/known_amt_hosts].
    #[arg(long, global = true)]
    pub known_hosts: Option<PathBuf>,
    /// Accept and record a board's new TLS certificate (after a board swap or re-key).
    #[arg(long, global = true)]
    pub repin: bool,
    /// Boards worked on at once.
    #[arg(long, default_value_t = 256, global = true)]
    pub parallel: usize,
    /// Connect timeout in seconds.
    #[arg(long, default_value_t = 5.0, global = true)]
    pub connect_timeout: f64,
    /// Seconds to wait for a response.
    #[arg(long, default_value_t = 20.0, global = true)]
    pub read_timeout: f64,
    /// Seconds to wait for a power change to show.
    #[arg(long, default_value_t = 60.0, global = true)]
    pub power_timeout: f64,
    /// Print one JSON document instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Collect a fresh digest challenge before every request instead of reusing the cached
    /// one (what naive clients do; for comparison benchmarks).
    #[arg(long, global = true, hide = true)]
    pub no_challenge_reuse: bool,
}

/// The `[amt]` table of the config file (`$METAL_CONFIG`, default ~/.config/metal/config.toml).
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    amt: AmtConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AmtConfig {
    user: Option<String>,
    password: Option<String>,
    tls: Option<bool>,
}

fn config_path() -> Option<PathBuf> {
    std::env::var_os("METAL_CONFIG")
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("metal/config.toml")))
}

fn load_config() -> anyhow::Result<AmtConfig> {
    let Some(path) = config_path() else {
        return Ok(AmtConfig::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let parsed: ConfigFile =
                toml::from_str(&text).with_context(|| format!("config file {}", path.display()))?;
            Ok(parsed.amt)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AmtConfig::default()),
        Err(e) => Err(e).with_context(|| format!("config file {}", path.display())),
    }
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0) {
        bail!("--{name} must be a positive number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

impl AmtArgs {
    /// Credentials from the command line, the environment or the config file.
    pub fn credentials(&self) -> anyhow::Result<Credentials> {
        let config = load_config()?;
        let user = self
            .user
            .clone()
            .or(config.user)
            .unwrap_or_else(|| "admin".to_string());
        let password = self.password.clone().or(config.password).context(
            "no AMT password: pass --password, set METAL_AMT_PASSWORD, or put password under [amt] in the config file",
        )?;
        Ok(Credentials { user, password })
    }

    fn known_hosts(&self) -> anyhow::Result<KnownHosts> {
        let path = match &self.known_hosts {
            Some(p) => p.clone(),
            None => match dirs::config_dir() {
                Some(d) => d.join("metal/known_amt_hosts"),
                None => return Ok(KnownHosts::in_memory().with_repin(self.repin)),
            },
        };
        let hosts = KnownHosts::load(&path)
            .with_context(|| format!("known-hosts file {}", path.display()))?;
        Ok(hosts.with_repin(self.repin))
    }

    /// Transport limits and TLS trust.
    pub fn transport(&self) -> anyhow::Result<TransportOptions> {
        Ok(TransportOptions {
            connect_timeout: seconds("connect-timeout", self.connect_timeout)?,
            read_timeout: seconds("read-timeout", self.read_timeout)?,
            known_hosts: Arc::new(self.known_hosts()?),
            reuse_challenge: !self.no_challenge_reuse,
            ..TransportOptions::default()
        })
    }

    /// A fleet runner for these options.
    pub fn fleet(&self) -> anyhow::Result<Fleet> {
        self.fleet_with(self.credentials()?)
    }

    /// A fleet runner for these options with the given credentials (an inventory
    /// machine's credential set).
    pub fn fleet_with(&self, credentials: Credentials) -> anyhow::Result<Fleet> {
        if self.parallel == 0 {
            bail!("--parallel must be at least 1");
        }
        let config_tls = load_config()?.tls.unwrap_or(false);
        Ok(Fleet {
            credentials,
            transport: Arc::new(self.transport()?),
            policy: PowerPolicy {
                timeout: seconds("power-timeout", self.power_timeout)?,
                ..PowerPolicy::default()
            },
            tls: self.tls || config_tls,
            concurrency: self.parallel,
        })
    }
}

/// A target board: its AMT address and, when the inventory knows it, its record.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub host: String,
    pub machine: Option<metal_inventory::Machine>,
}

/// Expands targets into boards. Addresses and CIDR blocks need no inventory (but are matched
/// against it when there is one, so the wrong-box guard covers them too); hostnames,
/// `rack:NAME` and `all` resolve through it.
pub async fn resolve_targets(specs: &[String]) -> anyhow::Result<Vec<Resolved>> {
    let mut targets = Vec::new();
    for spec in specs {
        targets.extend(Target::parse_list(spec)?);
    }
    if targets.is_empty() {
        bail!("no targets given");
    }
    let needs_inventory = targets.iter().find(|t| t.addresses().is_none());
    let store = super::inventory::open_existing().await?;
    let machines = match (&store, needs_inventory) {
        (Some(store), _) => store.machines().await?,
        (None, Some(t)) => bail!(
            "target {t}: hostnames, racks and `all` resolve through the inventory, and there is none yet (`metal enroll` creates it, or pass --db)"
        ),
        (None, None) => Vec::new(),
    };
    let by_amt: std::collections::HashMap<&str, &metal_inventory::Machine> = machines
        .iter()
        .map(|m| (m.amt_address.as_str(), m))
        .collect();
    let mut out: Vec<Resolved> = Vec::new();
    let mut add = |m: &metal_inventory::Machine| Resolved {
        host: m.amt_address.clone(),
        machine: Some(m.clone()),
    };
    for target in &targets {
        let found: Vec<Resolved> = match target {
            Target::Ip(_) | Target::Cidr(_) => target
                .addresses()
                .unwrap_or_default()
                .into_iter()
                .map(|a| {
                    let host = a.to_string();
                    let machine = by_amt.get(host.as_str()).map(|m| (*m).clone());
                    Resolved { host, machine }
                })
                .collect(),
            Target::Name(name) => {
                let m = machines
                    .iter()
                    .find(|m| m.hostname == *name || m.address == *name || m.uuid == *name)
                    .with_context(|| format!("{name} is not in the inventory"))?;
                vec![add(m)]
            }
            Target::Rack(rack) => {
                let found: Vec<Resolved> = machines
                    .iter()
                    .filter(|m| m.rack == *rack)
                    .map(&mut add)
                    .collect();
                if found.is_empty() {
                    bail!("rack:{rack} has no machines in the inventory");
                }
                found
            }
            Target::All => machines
                .iter()
                .filter(|m| m.state != metal_inventory::MachineState::Retired)
                .map(&mut add)
                .collect(),
        };
        out.extend(found);
    }
    if let Some(store) = store {
        store.close().await;
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.host.clone()));
    if out.is_empty() {
        bail!("no targets given");
    }
    // Raising the open-file limit lets a large fleet keep one connection per board.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    Ok(out)
}

/// Expands targets into AMT addresses (see [`resolve_targets`]). Usable from synchronous code:
/// when the inventory is needed it is read on a helper thread with its own runtime.
pub fn expand_targets(specs: &[String]) -> anyhow::Result<Vec<String>> {
    let specs = specs.to_vec();
    let resolved = std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start a runtime to read the inventory")?
                .block_on(resolve_targets(&specs))
        })
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("reading the inventory failed")))
    })?;
    Ok(resolved.into_iter().map(|r| r.host).collect())
}

/// A progress bar on stderr when it is a terminal and there is more than one host.
pub fn progress(total: usize, what: &str, json: bool) -> ProgressBar {
    if json || total < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// Turns fleet results into a report.
pub fn report<T, U: Serialize>(
    command: &str,
    runs: Vec<HostRun<T>>,
    map: impl Fn(T) -> U,
) -> Report<U> {
    let hosts = runs
        .into_iter()
        .map(|run| match run.result {
            Ok(v) => HostReport::ok(run.host, map(v)),
            Err(e) => HostReport::failed(run.host, e.category(), e.to_string()),
        })
        .collect();
    Report::new(command, hosts)
}

/// Prints a report as JSON or as a table (`columns` renders a successful row) and returns the
/// exit code.
pub fn print_report<T: Serialize>(
    report: &Report<T>,
    json: bool,
    headers: &[&str],
    columns: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<i32> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(report.exit_code());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    let mut header = vec!["HOST"];
    header.extend_from_slice(headers);
    table.set_header(header);
    for host in &report.hosts {
        let mut row = vec![host.host.clone()];
        match &host.outcome {
            metal_types::HostOutcome::Ok(v) => row.extend(columns(v)),
            metal_types::HostOutcome::Failed { error } => {
                let kind = serde_json::to_value(error.kind)?;
                // The HOST column already names the host; drop the `address:port: ` prefix.
                let message = error
                    .message
                    .strip_prefix(host.host.as_str())
                    .and_then(|rest| rest.split_once(": "))
                    .map_or(error.message.as_str(), |(_, m)| m);
                row.push(format!(
                    "FAILED [{}] {message}",
                    kind.as_str().unwrap_or("error")
                ));
            }
        }
        table.add_row(row);
    }
    println!("{table}");
    let s = report.summary;
    println!("{} ok, {} failed", s.ok, s.failed);
    Ok(report.exit_code())
}
