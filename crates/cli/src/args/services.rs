//! Arguments of the long-running services, the simulator, the demo and the generated docs.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use clap_complete::Shell;
use metal_sim::{Disks, Firmware, Profile};

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Number of boards.
    #[arg(long, default_value_t = 1)]
    pub boards: usize,
    /// Address of the first board; the others follow consecutively.
    #[arg(long, default_value = "127.0.10.1")]
    pub first_ip: Ipv4Addr,
    /// Milliseconds added before every response.
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
    /// Firmware generation to imitate: amt-9, amt-11, amt-12, amt-16-tls-only.
    #[arg(long, default_value = "amt-12")]
    pub profile: Profile,
    /// Milliseconds a power change takes (AMT's busy window).
    #[arg(long, default_value_t = 1000)]
    pub transition_ms: u64,
    /// Most items per Pull response (smaller values exercise paging).
    #[arg(long, default_value_t = 999)]
    pub page_size: usize,
    /// Milliseconds a board takes to print its boot (BIOS banner to `login:`) on its console.
    #[arg(long, default_value_t = 1500)]
    pub boot_output_ms: u64,
    /// Start with Serial-over-LAN disabled in AMT_RedirectionService (clients must enable it).
    #[arg(long)]
    pub sol_disabled: bool,
    /// Inject a fault into one board: ADDRESS=latency:MS | drop | http500 | hang | refuse |
    /// no-qop (a Digest challenge without qop) | endless-pull:BYTES (every Pull: one item that
    /// large and a fresh context, forever) | sol-locked (SOL off in MEBx: it cannot be
    /// enabled) | no-power-on (power-on is accepted and the host stays off).
    #[arg(long = "fault", value_name = "ADDRESS=KIND")]
    pub faults: Vec<String>,
    /// The AMT control mode the boards were activated in: acm (admin) or ccm (client, which
    /// always asks the user for consent). MODE sets every board, ADDRESS=MODE one board.
    #[arg(long = "control-mode", value_name = "[ADDRESS=]acm|ccm")]
    pub control_modes: Vec<String>,
    /// What user consent covers (IPS_OptInService.OptInRequired): none, kvm or all (SOL and
    /// boot changes too). Default: none in ACM, all in CCM. VALUE sets every board,
    /// ADDRESS=VALUE one board.
    #[arg(long = "consent", value_name = "[ADDRESS=]none|kvm|all")]
    pub consents: Vec<String>,
    /// Make one board report VALUE (any text, newlines and escapes too) for a property it
    /// has, in every instance of CLASS: ADDRESS:CLASS.PROPERTY=VALUE. For tests of hostile
    /// boards, e.g. 127.0.10.1:CIM_Card.Model=$'Q87\n}'.
    #[arg(long = "report", value_name = "ADDRESS:CLASS.PROPERTY=VALUE")]
    pub reports: Vec<String>,
    /// Give one board N instances of CLASS (copies of its first): ADDRESS:CLASS=N.
    #[arg(long = "copies", value_name = "ADDRESS:CLASS=N")]
    pub copies: Vec<String>,
    /// Make every board the same model: 4g-diskless, 8g-4hdd or 8g-2ssd (default: the three
    /// by turns).
    #[arg(long)]
    pub hardware: Option<metal_sim::HardwareKind>,
    /// Seed of the boards' identities (UUID, serial numbers, MAC, digest realm): simulators
    /// run side by side need different seeds for their boards to differ.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print boots and power changes only, not every request.
    #[arg(long)]
    pub quiet: bool,
    /// Back every board with a QEMU VM: power runs the VM, the one-shot boot setting picks
    /// network or disk, SOL is its serial port, the inventory is its memory, disks and MAC.
    /// The boards start powered off.
    #[arg(long, requires = "bridge")]
    pub qemu: bool,
    /// (--qemu) The bridge each board's tap joins.
    #[arg(long, requires = "qemu")]
    pub bridge: Option<String>,
    /// (--qemu) The network namespace of the bridge; the VMs run there.
    #[arg(long, requires = "qemu")]
    pub netns: Option<String>,
    /// (--qemu) Each board's disks: COUNTxSIZE[:ssd] (4x8G, 2x4G:ssd) or 0.
    #[arg(long, requires = "qemu", default_value = "0")]
    pub disks: Disks,
    /// (--qemu) Each VM's memory in MiB.
    #[arg(long, requires = "qemu", default_value_t = 1024)]
    pub memory: u32,
    /// (--qemu) bios (SeaBIOS) or uefi (OVMF).
    #[arg(long, requires = "qemu", default_value = "bios")]
    pub firmware: Firmware,
    /// (--qemu) Where disk images, QEMU logs and monitor sockets go; disks found there are
    /// kept. Default: $METAL_CACHE/sim (/var/cache/metal/sim).
    #[arg(long, requires = "qemu")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Boards in the simulated rack.
    #[arg(long, default_value_t = 8)]
    pub boards: usize,
    /// First board address; the default moves on to the next free /24 if it is taken.
    #[arg(long, conflicts_with = "qemu")]
    pub first_ip: Option<Ipv4Addr>,
    /// One QEMU-backed board from enrolment to a running Xen Dom0 installed on RAID-10 (root,
    /// .ci/netboot-deps.sh; a few minutes, more the first time while the images are built).
    #[arg(long)]
    pub qemu: bool,
    /// (--qemu) Set by the demo when it runs itself inside its network namespace.
    #[arg(long, hide = true, requires = "qemu")]
    pub inside_netns: Option<String>,
}

/// Run the netboot service: DHCP/proxyDHCP, TFTP and HTTP (iPXE scripts, images, boot events).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Netboot configuration (TOML; example: crates/netboot/netboot.example.toml).
    #[arg(long, short, env = "METAL_NETBOOT_CONFIG")]
    pub config: PathBuf,
    /// Decide what each MAC boots from the inventory (--db) instead of the [[hosts]] of the
    /// configuration, and record boot callbacks there: a `booted` or `deployed` event from a
    /// provisioning machine marks it deployed.
    #[arg(long)]
    pub inventory: bool,
    /// (--inventory) Seconds a provisioning machine may stay silent (no boot event, no
    /// installer step) before it is marked broken: an installer that was killed, lost power
    /// or hangs never reports its own failure.
    #[arg(long, requires = "inventory", default_value_t = metal_ops::netboot::DEFAULT_PROVISION_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400 * 7))]
    pub provision_timeout: u64,
    /// (--inventory) Also serve the operations dashboard on this address (see `metal web`).
    #[arg(long, value_name = "ADDRESS:PORT", requires = "inventory")]
    pub web: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub web_options: super::WebOptionsArgs,
    /// (--inventory) Also run the recovery ladder with its defaults (see `metal watch`).
    #[arg(long, requires = "inventory")]
    pub watch: bool,
}

/// TFTP server on its own (read-only; blksize, tsize, timeout and windowsize negotiated).
#[derive(Debug, Args)]
pub struct TftpArgs {
    #[command(subcommand)]
    pub command: TftpCommand,
}

#[derive(Debug, Subcommand)]
pub enum TftpCommand {
    /// Serve the files below DIR, read-only, until interrupted.
    Serve {
        /// Directory to serve; nothing outside it is ever read.
        dir: PathBuf,
        /// Address and port to listen on.
        #[arg(long, default_value = "0.0.0.0:69")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory for the pages (metal.1, metal-power.1, metal-power-status.1 ...).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}
