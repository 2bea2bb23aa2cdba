//! Files holding a secret (a config file with a password, the operator token) must be private
//! to their owner, as the secrets file and the agent authority are.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The permission bits of `path` when its group or others may read or write it, else `None`.
pub(crate) fn shared_mode(path: &Path) -> std::io::Result<Option<u32>> {
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    Ok((mode & 0o077 != 0).then_some(mode))
}
