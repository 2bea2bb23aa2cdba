//! `metal-agent`: the daemon in every metal Dom0 (load, DomUs, volume streams), and the same
//! volume streams as commands an operator can run by hand.

mod guests;
mod load;
mod serve;
mod streams;
mod volume;

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use metal_xen::domu::PvBoot;
use metal_xen::lvm::VolumeGroup;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "metal-agent",
    version,
    about = "The metal daemon of a Dom0, and its volume streams"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stream a volume to another Dom0 (what `metal vm migrate` runs, by hand).
    #[command(subcommand)]
    Volume(volume::Op),
    /// This Dom0's load over a window, as JSON: CPU, memory, disk and network per domain,
    /// and the machine's free memory (from Xen, not from Dom0's own /proc).
    Load {
        /// Seconds between the two readings.
        #[arg(long, default_value_t = 5)]
        window: u64,
        /// Kernel names of the disks under the guests' volume group (vda, md0), whose busy
        /// time is the IO load.
        #[arg(long = "disk")]
        disks: Vec<String>,
    },
    /// Make this Dom0's key (written to KEY, mode 0600) and print a certificate signing request
    /// for it: metal-init sends it with the boot token, and metal's authority signs it.
    Request {
        #[arg(long)]
        hostname: String,
        #[arg(long)]
        key: PathBuf,
    },
    /// Serve metal's API over mutual TLS (only clients metal's authority issued get in).
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, default_value_t = SocketAddr::from(([0, 0, 0, 0], metal_xen::api::PORT)))]
    listen: SocketAddr,
    /// This Dom0's certificate, its key and metal's authority (PEM).
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    ca: PathBuf,
    /// Guest definitions and xl files.
    #[arg(long, default_value = "/var/lib/metal-agent")]
    state: PathBuf,
    #[arg(long, default_value = "/var/log/xen/console")]
    console_dir: PathBuf,
    #[arg(long, default_value = "xenbr0")]
    bridge: String,
    /// The PV kernel and initramfs guests boot (the Dom0 image carries both).
    #[arg(long, default_value = "/usr/lib/metal/guest/vmlinuz")]
    guest_kernel: String,
    #[arg(long, default_value = "/usr/lib/metal/guest/initrd.img")]
    guest_initrd: String,
    /// Kernel names of the disks under vg00 (their busy time is the IO load).
    #[arg(long = "disk")]
    disks: Vec<String>,
}

fn request(hostname: &str, key_path: &std::path::Path) -> Result<String, String> {
    let key = metal_pki::AgentKey::generate().map_err(|e| e.to_string())?;
    let csr = key.request(hostname).map_err(|e| e.to_string())?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(key_path)
        .map_err(|e| format!("{}: {e}", key_path.display()))?;
    f.write_all(key.key_pem().as_bytes())
        .map_err(|e| format!("{}: {e}", key_path.display()))?;
    Ok(csr.trim_end().to_string())
}

fn serve(a: ServeArgs) -> Result<String, String> {
    let tls = serve::Identity {
        cert: a.cert,
        key: a.key,
        ca: a.ca,
    }
    .tls()?;
    let layout = guests::Layout {
        state: a.state,
        console_dir: a.console_dir,
        bridge: a.bridge,
        boot: PvBoot {
            kernel: a.guest_kernel,
            ramdisk: a.guest_initrd,
            extra: "console=hvc0 root=/dev/xvda rw".into(),
        },
    };
    let guests = guests::Guests::new(layout, VolumeGroup::dom0()).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(serve::serve(serve::Options {
        listen: a.listen,
        tls,
        guests,
        disks: a.disks,
    }))?;
    Ok(String::new())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Volume(op) => volume::run(op)
            .map(|s| s.to_string())
            .map_err(|e| e.to_string()),
        Command::Load { window, disks } => load::measure(Duration::from_secs(window), &disks)
            .map_err(|e| e.to_string())
            .and_then(|l| serde_json::to_string_pretty(&l).map_err(|e| e.to_string())),
        Command::Request { hostname, key } => request(&hostname, &key),
        Command::Serve(a) => serve(a),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("metal-agent: {e}");
            ExitCode::from(2)
        }
    }
}
