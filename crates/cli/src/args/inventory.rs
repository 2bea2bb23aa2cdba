//! Arguments of the inventory, export and DNS commands.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use metal_ops::lifecycle::MachineState;
use metal_types::DnsName;

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// CIDR blocks or addresses to look for AMT boards in.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// The rack the boards are in (created on first use).
    #[arg(long)]
    pub rack: String,
    /// The site of a new rack.
    #[arg(long, default_value = "default")]
    pub site: String,
    /// Address pool (CIDR) of a new rack [default: `pool` under [inventory] in the config,
    /// else 10.0.0.0/16].
    #[arg(long)]
    pub pool: Option<String>,
    /// Hostname scheme of a new rack: literal text with the placeholders {rack} and the slot
    /// number {n:0W}, zero-padded to W digits [default: {rack}-h{n:02}].
    #[arg(long)]
    pub hostname_scheme: Option<String>,
    /// Credential set the boards' AMT password comes from (recorded by name only).
    #[arg(long, default_value = "default")]
    pub credential_set: String,
    /// Then set a one-shot PXE boot and power on (or reset) every enrolled board.
    #[arg(long)]
    pub boot: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Hostnames, rack:NAME, all, addresses or CIDR blocks [default: every machine].
    pub targets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this machine's events (hostname, address or UUID).
    pub host: Option<String>,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// The new state: new, enrolled, provisioning, deployed, broken or retired.
    pub state: MachineState,
    /// Machines, by hostname, address or UUID.
    #[arg(required = true)]
    pub hosts: Vec<String>,
    /// Why, for the event log.
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// A BIND zone: A for hosts and AMT interfaces, parent.<vm> CNAME <dom0>; with --out also
    /// the reverse zones (PTR) of every /24 used.
    Dns(DnsExportArgs),
    /// Nagios host objects with parents (DomU -> Dom0) and hostgroups per rack and role.
    Nagios(NagiosArgs),
    /// Prometheus file_sd targets.
    Prometheus(PrometheusArgs),
}

/// The zone options shared with `metal dns sync`.
#[derive(Debug, Clone, Args)]
pub struct ZoneArgs {
    /// The forward zone, e.g. host.h.
    #[arg(long)]
    pub zone: DnsName,
    /// Default TTL in seconds.
    #[arg(long, default_value_t = 300)]
    pub ttl: u32,
}

#[derive(Debug, Args)]
pub struct DnsExportArgs {
    #[command(flatten)]
    pub zone: ZoneArgs,
    /// The zone's name server, relative to the zone.
    #[arg(long, default_value = "ns")]
    pub ns: DnsName,
    /// The name server's address.
    #[arg(long, default_value = "127.0.0.1")]
    pub ns_address: Ipv4Addr,
    /// SOA serial [default: the current Unix time].
    #[arg(long)]
    pub serial: Option<u32>,
    /// Write ZONE.zone and one in-addr.arpa zone per /24 into this directory instead of
    /// printing the forward zone.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NagiosArgs {
    /// The host template every host uses (Nagios' sample linux-server sets the check
    /// attempts, periods and contacts a host needs).
    #[arg(long, default_value = "linux-server")]
    pub template: String,
    /// The metal binary on the Nagios host: every host's check_command runs `METAL check
    /// $HOSTNAME$` (the Nagios plugin `metal check`).
    #[arg(long, value_name = "PATH", default_value = "/usr/bin/metal")]
    pub metal: String,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PrometheusArgs {
    /// The exporter port on every host (node_exporter: 9100).
    #[arg(long, default_value_t = 9100)]
    pub port: u16,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DnsArgs {
    #[command(subcommand)]
    pub op: DnsOp,
}

#[derive(Debug, Subcommand)]
pub enum DnsOp {
    /// Replace every inventory name's records in the zone with the inventory's, and delete the
    /// names an earlier sync published that the inventory no longer has (retired machines,
    /// removed guests); other names in the zone are left alone.
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub zone: ZoneArgs,
    /// The primary server, ADDRESS:PORT.
    #[arg(long)]
    pub server: SocketAddr,
    /// TSIG key file as `tsig-keygen` writes it (key "NAME" { algorithm ...; secret "..."; };).
    #[arg(long)]
    pub key_file: PathBuf,
    /// Also update the reverse (in-addr.arpa) zones, which the server must then serve.
    #[arg(long)]
    pub reverse: bool,
    /// Seconds to wait for the server.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}
