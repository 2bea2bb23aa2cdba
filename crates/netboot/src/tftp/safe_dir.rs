//! The TFTP root: RFC 1350 §1 leaves access control to the server; ours is that only regular
//! files whose real path (symlinks resolved) lies below the root are read.

use std::path::{Component, Path, PathBuf};

use super::TftpError;
use super::packet::ErrorCode;

/// Serves regular files below one directory, read-only.
#[derive(Debug, Clone)]
pub struct SafeDir {
    root: PathBuf,
}

impl SafeDir {
    /// A handler for `root` (resolved once, here).
    pub fn new(root: &Path) -> Result<SafeDir, TftpError> {
        let err = |source| TftpError::Root {
            path: root.to_path_buf(),
            source,
        };
        let root = std::fs::canonicalize(root).map_err(err)?;
        if !root.is_dir() {
            return Err(err(std::io::Error::other("not a directory")));
        }
        Ok(SafeDir { root })
    }

    /// The real path of `requested`, or the TFTP error to send. Only plain relative names are
    /// accepted (no `..`, no `.`, no leading `/`); the result, with symlinks resolved, must still
    /// be a regular file below the root.
    pub fn resolve(&self, requested: &Path) -> Result<PathBuf, ErrorCode> {
        let mut parts = requested.components().peekable();
        if parts.peek().is_none() {
            return Err(ErrorCode::FileNotFound);
        }
        if !parts.all(|c| matches!(c, Component::Normal(_))) {
            return Err(ErrorCode::AccessViolation);
        }
        let real = std::fs::canonicalize(self.root.join(requested))
            .map_err(|_| ErrorCode::FileNotFound)?;
        if !real.starts_with(&self.root) {
            return Err(ErrorCode::AccessViolation);
        }
        if !real.is_file() {
            return Err(ErrorCode::FileNotFound);
        }
        Ok(real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_everything_outside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/file"), "ok").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink("sub/file", root.join("inside")).unwrap();
        let h = SafeDir::new(&root).unwrap();
        assert!(h.resolve(Path::new("sub/file")).is_ok());
        assert!(
            h.resolve(Path::new("inside")).is_ok(),
            "symlinks within the root are fine"
        );
        let denied = |p: &str| matches!(h.resolve(Path::new(p)), Err(ErrorCode::AccessViolation));
        assert!(denied("../root/sub/file"));
        assert!(denied("sub/../../secret"));
        assert!(denied("/etc/passwd"));
        assert!(denied("./sub/file"));
        assert!(denied("escape"), "symlink leading out");
        let missing = |p: &str| matches!(h.resolve(Path::new(p)), Err(ErrorCode::FileNotFound));
        assert!(missing("sub"), "directories are not files");
        assert!(missing("nope"));
        assert!(missing(""));
    }
}
