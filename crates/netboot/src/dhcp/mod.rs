//! DHCP server and proxyDHCP (RFC 2131, RFC 2132, RFC 4578, PXE specification 2.1).
//!
//! [`client`] reads a request, [`exchange`] decides the reply, [`reply`] builds it and
//! [`server`] owns the sockets.

pub mod client;
pub mod exchange;
pub mod reply;
pub mod server;

pub use server::{DhcpError, DhcpServer};
