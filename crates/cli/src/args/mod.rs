//! The command line (clap definitions only). [`GlobalArgs`] become `metal_ops::Flags`;
//! everything else is one struct per subcommand.

mod acceptance;
mod board;
mod image;
mod inventory;
mod kit;
mod operations;
mod services;
pub mod vm;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use acceptance::VerifyArgs;
pub use board::{
    BootArgs, BootDevice, ConsoleArgs, DiscoverArgs, PowerArgs, PowerOp, ShowArgs, TargetArgs,
};
pub use image::{ImageArgs, ImageCommand, ImageKind};
pub use inventory::{
    DnsArgs, DnsOp, EnrollArgs, EventsArgs, ExportArgs, ExportWhat, LsArgs, StateArgs, ZoneArgs,
};
pub use kit::{KitArgs, KitCommand};
pub use operations::{CheckArgs, UserArgs, UserCommand, WatchArgs, WebArgs, WebOptionsArgs};
pub use services::{CompletionsArgs, DemoArgs, ManArgs, ServeArgs, SimArgs, TftpArgs, TftpCommand};
pub use vm::{VmArgs, VmCommand};

/// Manage racks of Intel AMT boards as Xen Dom0 hosts: power, boot, console, netboot,
/// inventory, DNS and monitoring exports.
#[derive(Debug, Parser)]
#[command(name = "metal", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes. Credentials and the database may also come from the
/// environment (METAL_AMT_USER, METAL_AMT_PASSWORD, METAL_DB) or the config file
/// ($METAL_CONFIG, default ~/.config/metal/config.toml); a flag wins over both.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Log filter for diagnostics on stderr (e.g. `debug`, `metal_wsman=trace`) [default:
    /// `warn`; for the services `serve` and `tftp`: `warn,metal_netboot=info`, a line per DHCP
    /// exchange and TFTP transfer].
    #[arg(long, global = true, env = "METAL_LOG", help_heading = "Output")]
    pub log_level: Option<String>,
    /// Print one JSON document (services: one per line) instead of tables and text.
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,
    /// Inventory database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB [default:
    /// METAL_DB, else `db` under [inventory] in the config file, else
    /// ~/.local/share/metal/inventory.db].
    #[arg(long, global = true, help_heading = "Inventory")]
    pub db: Option<String>,
    /// Hardware profiles directory [default: METAL_PROFILES, else hardware-profiles/ next to
    /// the config file, else the installed data directory, else the profiles shipped with
    /// metal].
    #[arg(long, global = true, help_heading = "Inventory")]
    pub profiles: Option<PathBuf>,
    /// AMT user [default: METAL_AMT_USER, else `user` under [amt], else admin].
    #[arg(long, global = true, help_heading = "Board access")]
    pub user: Option<String>,
    /// AMT password [default: METAL_AMT_PASSWORD, else `password` under [amt]]; prefer those:
    /// arguments are visible to other users in the process list. Inventory machines use their
    /// credential set instead.
    #[arg(long, global = true, help_heading = "Board access")]
    pub password: Option<String>,
    /// Talk TLS on port 16993 (certificate pinned on first use) instead of HTTP on 16992.
    #[arg(long, global = true, help_heading = "Board access")]
    pub tls: bool,
    /// File of pinned TLS certificates [default: ~/.config/metal/known_amt_hosts].
    #[arg(long, global = true, help_heading = "Board access")]
    pub known_hosts: Option<PathBuf>,
    /// Accept and record a board's new TLS certificate (after a board swap or re-key).
    #[arg(long, global = true, help_heading = "Board access")]
    pub repin: bool,
    /// Boards worked on at once [default: as many as the open-file limit allows, at most 2048].
    #[arg(long, global = true, help_heading = "Board access")]
    pub parallel: Option<usize>,
    /// Connect timeout in seconds [default: 5; discovery probes: 1].
    #[arg(long, global = true, help_heading = "Board access")]
    pub connect_timeout: Option<f64>,
    /// Seconds to wait for a response [default: 20].
    #[arg(long, global = true, help_heading = "Board access")]
    pub read_timeout: Option<f64>,
    /// Seconds to wait for a power change to show [default: 60].
    #[arg(long, global = true, help_heading = "Board access")]
    pub power_timeout: Option<f64>,
    /// Collect a fresh digest challenge before every request instead of reusing the cached
    /// one (what naive clients do; for comparison benchmarks).
    #[arg(long, global = true, hide = true)]
    pub no_challenge_reuse: bool,
}

impl GlobalArgs {
    /// What the user gave, for `metal_ops::Config::resolve`.
    pub fn flags(&self) -> metal_ops::Flags {
        metal_ops::Flags {
            db: self.db.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            tls: self.tls,
            known_hosts: self.known_hosts.clone(),
            repin: self.repin,
            parallel: self.parallel,
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            power_timeout: self.power_timeout,
            profiles: self.profiles.clone(),
            no_challenge_reuse: self.no_challenge_reuse,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Power state and power changes of boards.
    Power(PowerArgs),
    /// Hard power cycle (same as `power cycle`).
    PowerCycle(TargetArgs),
    /// One-shot boot device for the next boot: pxe or disk.
    Boot(BootArgs),
    /// A board's serial console over AMT Serial-over-LAN (interactive, --expect, --record).
    Console(ConsoleArgs),
    /// Find AMT endpoints in address blocks.
    Discover(DiscoverArgs),
    /// A board's hardware inventory, power state and pending boot; for an inventory host,
    /// its place in the tree (rack, board, Dom0, DomUs).
    Show(ShowArgs),
    /// Discover boards, match hardware profiles, record them with hostname and address.
    Enroll(EnrollArgs),
    /// Inventory machines.
    Ls(LsArgs),
    /// The inventory's event log.
    Events(EventsArgs),
    /// Move inventory machines to another lifecycle state (e.g. broken, retired), with a reason.
    State(StateArgs),
    /// Write the inventory as a BIND zone, Nagios objects or Prometheus targets.
    Export(ExportArgs),
    /// DNS: apply the inventory's records to a live zone (RFC 2136 with TSIG).
    Dns(DnsArgs),
    /// Boot images: build the Dom0, the installer and the DomU root from Debian packages, list them.
    Image(ImageArgs),
    /// Xen DomUs: create (placed by spare resource), list, start, stop, destroy, console, migrate.
    Vm(VmArgs),
    /// Run a rack of simulated AMT boards on loopback addresses.
    Sim(SimArgs),
    /// Start a simulated rack and walk through discover, power, boot and enrolment on it.
    Demo(DemoArgs),
    /// Run the netboot service: DHCP/proxyDHCP, TFTP, HTTP iPXE scripts and boot events.
    Serve(ServeArgs),
    /// Serve the operations dashboard, its JSON API and /metrics.
    Web(WebArgs),
    /// Operator accounts of the dashboard.
    User(UserArgs),
    /// Nagios plugin: is this board (or DomU) reachable, powered and answering?
    Check(CheckArgs),
    /// The recovery ladder: power-cycle deployed machines that stopped answering, within limits.
    Watch(WatchArgs),
    /// Factory acceptance: check boards against a hardware profile and write per-unit reports.
    ///
    /// Prove each board works before it ships.
    ///
    /// For every board named, at once: AMT answers with the given user and password; AMT was
    /// activated in admin control mode with user consent off (in client control mode, or with
    /// consent on, AMT waits for a six-digit code on the board's screen before any SOL session or
    /// PXE boot, so the board cannot be run unattended); the AMT firmware is at least the
    /// profile's minimum; the board reports a UUID and a real serial number; its memory, disks
    /// and processor match the profile; it powers off and back on within the profile's limit;
    /// and its serial console (Serial-over-LAN) prints output after power-on. With --netboot,
    /// it is PXE-booted once and must fetch its boot script from that `metal serve`; with
    /// --burnin as well, that server boots it into the burn-in image, and the CPU (stress-ng),
    /// memory (memtester, stressapptest) and every disk (fio; a disk that holds anything is
    /// only read) must report no error: a component under the profile's floors is DEGRADED,
    /// which is shown but does not fail the board.
    ///
    /// The board is powered off and on once and left on (after a burn-in it powers itself
    /// off). The profile's power_on_secs replaces --power-timeout.
    ///
    /// Reports go to --report DIR: per board `<serial>.ocptv.jsonl` (OCP Test & Validation
    /// format) and `<serial>.html` (printable), and for the batch `summary.json` and
    /// `index.html`. One line per board is printed: PASS, or FAIL and DEGRADED with the check
    /// and the reason.
    ///
    /// Exit code: 0 when every board passed, 2 when some failed, 3 when all failed, 1 when
    /// nothing could be tried (a bad profile name, no password).
    ///
    /// Example: metal verify 192.168.10.0/24 --profile desktop-8g-raid10 --report /srv/acceptance/batch-42
    Verify(VerifyArgs),
    /// The vendor kit: build one archive with everything shipped beside the boards, verify one.
    Kit(KitArgs),
    /// The read-only TFTP server on its own.
    Tftp(TftpArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Write man pages (roff) for metal and every subcommand.
    Man(ManArgs),
}
