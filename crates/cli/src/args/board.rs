//! Arguments of the commands that talk to boards.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct PowerArgs {
    #[command(subcommand)]
    pub op: PowerOp,
}

#[derive(Debug, Subcommand)]
pub enum PowerOp {
    /// Show each board's power state.
    Status(TargetArgs),
    /// Power on.
    On(TargetArgs),
    /// Power off immediately (hard).
    Off(TargetArgs),
    /// Hard power cycle.
    Cycle(TargetArgs),
    /// Hardware reset.
    Reset(TargetArgs),
    /// Graceful OS shutdown (needs the OS agent on the board).
    SoftOff(TargetArgs),
    /// Graceful OS reboot (needs the OS agent on the board).
    SoftReset(TargetArgs),
}

/// The boards a command acts on.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// IP addresses, CIDR blocks, inventory hostnames, rack:NAME, all, or comma-separated
    /// lists of them.
    #[arg(required = true)]
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BootDevice {
    Pxe,
    Disk,
}

#[derive(Debug, Args)]
pub struct BootArgs {
    /// Boot device for the next boot.
    pub device: BootDevice,
    /// Boot into it now: power on a board that is off, reset one that is on.
    #[arg(long)]
    pub now: bool,
    #[command(flatten)]
    pub targets: TargetArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The board's IP address (live hardware, power and boot), or an inventory hostname (its
    /// rack, board, Dom0 and DomUs as recorded, with its power and pending boot read live).
    pub host: String,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// CIDR blocks, addresses, or comma-separated lists of them.
    #[arg(required = true)]
    pub targets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The board: an IP address or an inventory hostname (not with --record).
    #[arg(required_unless_present = "record", conflicts_with = "record")]
    pub host: Option<String>,
    /// Also write everything the board prints to FILE, one timestamped line per line.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Exit 0 as soon as the board prints a line matching REGEX (non-interactive).
    #[arg(long, value_name = "REGEX")]
    pub expect: Option<String>,
    /// Seconds to wait for --expect before failing.
    #[arg(long, default_value_t = 60.0, requires = "expect")]
    pub timeout: f64,
    /// Record these boards (IPs, CIDRs, hostnames, rack:NAME, lists) into --dir, one file per
    /// board, until interrupted.
    #[arg(long, value_name = "TARGETS", num_args = 1.., requires = "dir")]
    pub record: Option<Vec<String>>,
    /// Directory for --record files (created if missing).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Seconds without data or heartbeat after which a session counts as lost.
    #[arg(long, default_value_t = 15.0)]
    pub heartbeat_timeout: f64,
}
