//! Publishing the inventory: what registering a box puts into DNS and monitoring.
//!
//! - [`records`]: the DNS records the inventory implies (A for hosts and AMT interfaces,
//!   `parent.<vm>` CNAME `<dom0>`, PTR per /24).
//! - [`zone`]: BIND zone files (RFC 1035 §5).
//! - [`update`]: the same records applied to a live server with RFC 2136 UPDATE and RFC 8945
//!   TSIG.
//! - [`nagios`]: host objects with `parents` and hostgroups per rack and role.
//! - [`prometheus`]: file_sd target groups.

pub mod nagios;
pub mod prometheus;
pub mod records;
pub mod update;
pub mod zone;

use std::net::SocketAddr;

/// An export failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TSIG key cannot be used.
    #[error("TSIG key: {0}")]
    Key(String),
    /// A name is not a valid DNS name.
    #[error("invalid DNS name {0}")]
    Name(String),
    /// The DNS server could not be reached or refused.
    #[error("DNS server {server}: {why}")]
    Server { server: SocketAddr, why: String },
}
