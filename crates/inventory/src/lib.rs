//! The `metal` inventory: what the fleet is made of and where everything is.
//!
//! - [`model`]: sites and racks, machines (a board with its AMT endpoint, identity, hardware
//!   profile, TLS pin, credential-set name and state, and the Dom0 it runs), DomU guests as
//!   children of a Dom0, the event log, and the machine state machine.
//! - [`store`]: sqlx over SQLite (default: a WAL-mode file in the XDG data directory) or
//!   PostgreSQL (shared by several `metal serve`), migrated on open
//!   (`migrations/{sqlite,postgres}`); the DNS names last published are kept beside it.
//! - [`pages`]: the dashboard's reads: racks by slot, the machine list a page at a time with
//!   its search, the event log newest first.
//! - [`enroll`] and [`lifecycle`]: recording boards with hostname and address allocated in one
//!   transaction, state changes, guests; every change is logged with time, actor and reason.
//! - [`boots`]: netboots in progress: each boot's token digest and address, its reports.
//! - [`leases`]: the DHCP leases of netboot servers sharing a segment.
//! - [`naming`]: hostname schemes and address pools.
//! - [`profiles`]: hardware profiles (`hardware-profiles/*.toml`) and matching.
//! - [`credentials`]: credential sets; the database holds their names, never passwords.
//! - [`operators`]: dashboard accounts, by name and password hash.

pub mod boots;
pub mod credentials;
mod dns_names;
pub mod enroll;
mod error;
mod insert;
pub mod leases;
pub mod lifecycle;
pub mod model;
pub mod naming;
pub mod operators;
pub mod pages;
pub mod profiles;
pub mod store;

pub use boots::{BootGrant, BootRecorded, BootReport, Expired};
pub use enroll::{EnrollRequest, Enrolled, Outcome};
pub use error::Error;
pub use leases::{LeaseKind, LeaseRecord};
pub use model::{
    BoardFacts, Event, Guest, Machine, MachineState, MachineSummary, Rack, Role, Storage, TlsPin,
};
pub use profiles::{Acceptance, FirmwareVersion, HardwareProfile, Match};
pub use store::{Backend, Store};
