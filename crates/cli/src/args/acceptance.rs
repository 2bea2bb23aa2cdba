//! `metal verify`: factory acceptance.

use std::path::PathBuf;

use clap::Args;

/// `metal verify` (its help text is on `Command::Verify`).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Boards: AMT addresses, CIDR blocks (192.168.10.0/24), or inventory hostnames.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// The hardware profile every board must match (`metal verify` lists them when the name
    /// is wrong); its [acceptance] table sets the firmware minimum and the time limits.
    #[arg(long)]
    pub profile: String,
    /// The folder for the reports (created if missing; reports of the same boards are replaced).
    #[arg(long, value_name = "DIR")]
    pub report: PathBuf,
}
