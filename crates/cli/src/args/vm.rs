//! `metal vm create|ls|start|stop|destroy|console|migrate`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct VmArgs {
    #[command(subcommand)]
    pub command: VmCommand,
}

#[derive(Debug, Subcommand)]
pub enum VmCommand {
    /// Make a DomU in one command, as install_xen.sh did: -h NAME -i IP -m MB -s GB. Without
    /// --on, placement picks the Dom0 whose spare resource suits the role (web: CPU, db: IO,
    /// cache: memory) from the agents' measured load; --explain prints every candidate's score.
    Create(VmCreateArgs),
    /// Every guest of the inventory, with its Dom0 and what its agent reports.
    Ls,
    /// Start a stopped guest on its Dom0.
    Start(VmNameArgs),
    /// Shut a guest down (destroyed if it does not stop in 90 s).
    Stop(VmNameArgs),
    /// Remove a guest: its domain, its volume and its inventory record.
    Destroy(VmNameArgs),
    /// The tail of a guest's console log, through its Dom0's agent.
    Console(VmConsoleArgs),
    /// Move a guest to another Dom0: a full pass while it runs, a delta once stopped, verified
    /// end to end; it then starts there, and its inventory parent, DNS and Nagios follow.
    Migrate(VmMigrateArgs),
}

#[derive(Debug, Args)]
// `-h` is the guest's hostname here, as in install_xen.sh; help is --help only.
#[command(disable_help_flag = true)]
pub struct VmCreateArgs {
    /// The guest's hostname (also its Xen domain and its volume's name).
    #[arg(short = 'h', value_name = "NAME")]
    pub name: Option<String>,
    /// Its IPv4 address, in its Dom0's rack pool.
    #[arg(short = 'i', value_name = "IP")]
    pub ip: Option<Ipv4Addr>,
    /// Memory in MiB.
    #[arg(short = 'm', value_name = "MB")]
    pub memory: Option<u32>,
    /// Disk in GiB.
    #[arg(short = 's', value_name = "GB")]
    pub size: Option<u32>,
    /// The Dom0 to create it on (hostname or address); default: placement chooses.
    #[arg(long, value_name = "DOM0")]
    pub on: Option<String>,
    /// What the guest is for: its tendency in placement and its Nagios hostgroup.
    #[arg(long, default_value = "web")]
    pub role: String,
    /// Print each candidate Dom0's score terms, or why it was ruled out.
    #[arg(long)]
    pub explain: bool,
    #[arg(long, default_value_t = 1)]
    pub vcpus: u8,
    /// The DomU image (default: domu-root.ext4 in <cache>/images; `metal image build domu`).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// The guest's default gateway.
    #[arg(long)]
    pub gateway: Option<Ipv4Addr>,
    /// Its DNS servers (repeat the flag).
    #[arg(long)]
    pub dns: Vec<IpAddr>,
    /// Its search domain (the zone it is published in).
    #[arg(long)]
    pub domain: Option<String>,
    /// Seconds each Dom0's load is measured over for placement.
    #[arg(long, default_value_t = 2)]
    pub window: u64,
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

#[derive(Debug, Args)]
pub struct VmNameArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct VmConsoleArgs {
    pub name: String,
    /// How much of the log's end to show.
    #[arg(long, default_value_t = 16384)]
    pub bytes: u64,
}

#[derive(Debug, Args)]
pub struct VmMigrateArgs {
    pub name: String,
    /// The Dom0 to move it to.
    #[arg(long)]
    pub to: String,
}
