use std::path::PathBuf;

/// Why an image could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("image builds need root (debootstrap and chroot); run as root")]
    NotRoot,
    #[error(
        "the Dom0 image carries metal-agent: build it (cargo build -p metal-agent) and pass --agent PATH, or install it beside metal"
    )]
    NoAgent,
    #[error("cannot run {program}: {source} (install it: see images/README.md)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} failed ({status}): {tail}")]
    Tool {
        program: String,
        status: String,
        tail: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Tree { path: PathBuf, reason: String },
    #[error("manifest {}: {source}", path.display())]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
}

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
