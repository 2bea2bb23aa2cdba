//! metal's certificate authority and the mutual TLS between `metal` and every `metal-agent`.
//!
//! - The authority (`ca.pem`, `ca.key`) lives in the operator's PKI folder
//!   (`~/.config/metal/pki`, mode 0700; keys 0600). It is made on first use.
//! - An agent makes its own key at boot and sends only a CSR, with its boot token, to the
//!   netboot server; the authority signs a certificate for the identity *the inventory* gives
//!   (hostname, address), never what the CSR asks for, with `serverAuth` only.
//! - `metal` itself holds one client identity (`client.pem`, `client.key`) with `clientAuth`
//!   only: an agent's certificate cannot be used to command another agent.

mod authority;
mod request;
mod tls;

pub use authority::{Authority, Identity};
pub use request::AgentKey;
pub use tls::{client_config, server_config};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Unsafe { path: PathBuf, reason: String },
    #[error("{what}: {source}")]
    Certificate { what: String, source: rcgen::Error },
    #[error("{what}: {reason}")]
    Pem { what: String, reason: String },
    #[error("TLS configuration: {0}")]
    Tls(String),
}

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
