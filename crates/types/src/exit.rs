//! Process exit codes of the `metal` binary (the CLI contract in ARCHITECTURE.md).

/// Exit codes. Fleet commands derive theirs from the per-host results with [`ExitCode::for_fleet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode;

impl ExitCode {
    /// Every host succeeded (or the command was not a fleet command and succeeded).
    pub const OK: i32 = 0;
    /// Usage or configuration error: nothing was attempted on any host.
    pub const USAGE: i32 = 1;
    /// Some hosts failed and some succeeded.
    pub const PARTIAL: i32 = 2;
    /// Every host failed.
    pub const ALL_FAILED: i32 = 3;

    /// The exit code of a fleet command from its counts of succeeded and failed hosts.
    pub fn for_fleet(ok: usize, failed: usize) -> i32 {
        match (ok, failed) {
            (_, 0) => Self::OK,
            (0, _) => Self::ALL_FAILED,
            _ => Self::PARTIAL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_codes() {
        assert_eq!(ExitCode::for_fleet(3, 0), ExitCode::OK);
        assert_eq!(ExitCode::for_fleet(2, 1), ExitCode::PARTIAL);
        assert_eq!(ExitCode::for_fleet(0, 4), ExitCode::ALL_FAILED);
        assert_eq!(ExitCode::for_fleet(0, 0), ExitCode::OK);
    }
}
