//! A WS-Management client (DMTF DSP0226), written for Intel AMT but knowing nothing of it.
//!
//! - [`envelope`] builds requests: Identify, Get, Put, Enumerate, Pull, Invoke, with selectors.
//! - [`response`] reads responses by local element names, so the firmware's namespace prefixes
//!   do not matter, and turns SOAP faults into typed errors.
//! - [`transport`] is the HTTP side: one keep-alive connection per host, pre-emptive digest
//!   authentication, timeouts, a size cap and TLS with a pinned certificate ([`tls`]).
//! - [`endpoint`] says where a service listens ([`Endpoint`]) and whom to log in as.
//! - [`Client`] ties them together for one endpoint.

pub mod budget;
pub mod client;
pub mod endpoint;
pub mod envelope;
pub mod error;
pub mod response;
pub mod tls;
pub mod transport;
pub mod xml;

pub use budget::MemoryPool;
pub use client::{Client, EnumerationMode, Identity, Reference};
pub use endpoint::{Credentials, Endpoint};
pub use envelope::{Input, Request, Selector};
pub use error::{Error, ErrorKind};
pub use response::{Fault, Instance, Response, ResponseError};
pub use tls::KnownHosts;
pub use transport::{Stats, TransportOptions};
pub use xml::Element;
