//! The one way files leave this service, over TFTP and HTTP alike: regular files opened
//! *beneath* a root directory.
//!
//! RFC 1350 §1 leaves access control to the TFTP server and HTTP has none of its own; ours is
//! the kernel's: every open is `openat2(2)` relative to the root's descriptor with
//! `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, so neither `..`, nor an absolute path, nor a
//! symlink anywhere along the way (however it was placed, even while the request runs) can
//! reach outside the root. Names are also checked before the call (plain relative components
//! only), so what is refused is refused the same way on both protocols. Symlinks that stay
//! inside the root work.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
use rustix::io::Errno;

/// Why a name was not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No regular file by that name below the root (missing, a directory, a device, a FIFO).
    #[error("no such file")]
    NotFound,
    /// The name leaves the root (`..`, absolute, `.`, or a symlink pointing out).
    #[error("outside the root")]
    Outside,
}

/// A directory whose regular files are served read-only.
#[derive(Debug)]
pub struct SafeRoot {
    dir: OwnedFd,
    path: PathBuf,
}

impl SafeRoot {
    /// Opens `root` once. Fails if it is not a directory, or if the kernel has no `openat2`
    /// (Linux before 5.6): then nothing could be served safely.
    pub fn open(root: &Path) -> std::io::Result<SafeRoot> {
        let dir = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let root = SafeRoot {
            dir,
            path: root.to_path_buf(),
        };
        // Probe the call the requests use, so a kernel without it fails here, not per request.
        root.beneath(Path::new("."), OFlags::PATH | OFlags::DIRECTORY)?;
        Ok(root)
    }

    /// The root as configured.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the regular file `requested` (relative to the root) for reading, with its size.
    pub fn file(&self, requested: &Path) -> Result<(File, u64), Refusal> {
        let mut parts = requested.components().peekable();
        if parts.peek().is_none() {
            return Err(Refusal::NotFound);
        }
        if !parts.all(|c| matches!(c, Component::Normal(_))) {
            return Err(Refusal::Outside);
        }
        // O_NONBLOCK: opening a FIFO someone left in the root must not hang the request.
        let fd = self
            .beneath(
                requested,
                OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
            )
            .map_err(|e| match Errno::from_io_error(&e) {
                Some(Errno::XDEV | Errno::LOOP) => Refusal::Outside,
                _ => Refusal::NotFound,
            })?;
        let file = File::from(fd);
        let meta = file.metadata().map_err(|_| Refusal::NotFound)?;
        if !meta.is_file() {
            return Err(Refusal::NotFound);
        }
        Ok((file, meta.len()))
    }

    fn beneath(&self, name: &Path, flags: OFlags) -> std::io::Result<OwnedFd> {
        loop {
            match openat2(
                &self.dir,
                name,
                flags | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
            ) {
                // openat2(2): EAGAIN when a concurrent rename raced the resolution; retry.
                Err(Errno::AGAIN | Errno::INTR) => continue,
                r => return r.map_err(std::io::Error::from),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_beneath_the_root_open() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/file"), "ok").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("escape-dir")).unwrap();
        std::os::unix::fs::symlink("../../root/sub/file", root.join("sub/roundabout")).unwrap();
        std::os::unix::fs::symlink("sub/file", root.join("inside")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("fifo"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let r = SafeRoot::open(&root).unwrap();
        let open = |p: &str| r.file(Path::new(p)).map(|(_, len)| len);
        assert_eq!(open("sub/file"), Ok(2));
        assert_eq!(open("inside"), Ok(2), "symlinks within the root are fine");
        for outside in [
            "../root/sub/file",
            "sub/../../secret",
            "/etc/passwd",
            "./sub/file",
            "escape",
            "escape-dir/secret",
            "sub/roundabout",
        ] {
            assert_eq!(open(outside), Err(Refusal::Outside), "{outside}");
        }
        for missing in ["sub", "nope", "", "fifo"] {
            assert_eq!(open(missing), Err(Refusal::NotFound), "{missing}");
        }
    }

    #[test]
    fn a_root_that_is_not_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        assert!(SafeRoot::open(&dir.path().join("f")).is_err());
        assert!(SafeRoot::open(&dir.path().join("missing")).is_err());
    }
}
