//! `metal verify`: factory acceptance.

use std::path::PathBuf;

use clap::Args;

/// Factory acceptance: prove each board works before it ships.
///
/// For every board named, at once: AMT answers with the given user and password; AMT was
/// activated in admin control mode with user consent off (in client control mode, or with
/// consent on, AMT waits for a six-digit code on the board's screen before any SOL session or
/// PXE boot, so the board cannot be run unattended); the AMT firmware is at least the
/// profile's minimum; the board reports a UUID and a real serial number; its memory, disks
/// and processor match the profile; it powers off and back on within the profile's limit;
/// and its serial console (Serial-over-LAN) prints output after power-on.
///
/// The board is powered off and on once. It is left powered on.
///
/// Reports go to --report DIR: per board `<serial>.ocptv.jsonl` (OCP Test & Validation
/// format) and `<serial>.html` (printable), and for the batch `summary.json` and
/// `index.html`. One line per board is printed: PASS, or FAIL with the check and the reason.
///
/// Exit code: 0 when every board passed, 2 when some failed, 3 when all failed, 1 when
/// nothing could be tried (a bad profile name, no password).
///
/// Example: metal verify 192.168.10.0/24 --profile desktop-8g-raid10 --report /srv/acceptance/batch-42
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
