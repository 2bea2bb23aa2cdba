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
    /// The netboot server (`metal serve`) as http://HOST:PORT, its [http] listen address:
    /// each board is PXE-booted once and must fetch its boot script from it. Without it the
    /// pxe check is skipped.
    #[arg(long, value_name = "URL", requires = "netboot_token_file")]
    pub netboot: Option<String>,
    /// A file holding the server's operator token (the one whose SHA-256 is its [http]
    /// operator_token_sha256); the server shows boot events only to its holder.
    #[arg(long, value_name = "FILE", requires = "netboot")]
    pub netboot_token_file: Option<PathBuf>,
    /// Wait for the in-band burn-in after the PXE boot: the server must boot these boards
    /// into the burn-in image (`metal image build burnin`, template burnin.ipxe), which runs
    /// stress-ng, memtester, stressapptest and fio and reports each component. Each is PASS,
    /// DEGRADED (no error, but under the profile's floor) or FAIL; the profile's
    /// burnin_secs bounds the wait.
    #[arg(long, requires = "netboot")]
    pub burnin: bool,
}
