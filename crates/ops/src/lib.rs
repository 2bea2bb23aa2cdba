//! The `metal` application: what every front-end (the `metal` CLI now, the web view, the
//! watchdog and `metal verify` later) calls, so that they never disagree about how a board is
//! reached or what a workflow does.
//!
//! - [`config`]: one [`Config`], resolved once from flags, environment and config file.
//! - [`targets`]: addresses, CIDR blocks, hostnames, `rack:NAME` and `all` into boards.
//! - [`boards`]: guarded board access — the machine's credential set, its recorded TLS pin,
//!   and the UUID check before anything that must reach the recorded board.
//! - The workflows: [`power`], [`boot`], [`show`], [`console`], [`discover`], [`enroll`],
//!   [`lifecycle`] (`ls`, `state`, `events`), [`dns`] (zone files and `dns sync`), [`export`]
//!   (Nagios, Prometheus), [`image`] (boot images), [`netboot`] (the inventory's boot policy and boot events)
//!   and [`vm`] (DomUs through each Dom0's agent, [`agent`]), and [`verify`] (factory
//!   acceptance of boards against a hardware profile, with OCP-TV and HTML reports) and
//!   [`kit`] (the vendor kit archive).
//! - [`Error`]: the expected failures, with the one mapping to exit codes.
//!
//! Workflows return data (reports with stable field names, see `metal_types::output`); they
//! print nothing. Long ones report [`Progress`].

pub mod agent;
pub mod boards;
pub mod boot;
pub mod check;
pub mod config;
pub mod console;
pub mod discover;
pub mod dns;
pub mod enroll;
mod error;
pub mod export;
mod http1;
pub mod image;
pub mod inventory;
pub mod kit;
mod leases;
pub mod lifecycle;
pub mod loads;
pub mod metrics;
pub mod netboot;
pub mod operators;
pub mod power;
mod private_file;
mod profiles;
pub mod progress;
pub mod report;
pub mod show;
pub mod targets;
pub mod verify;
pub mod view;
pub mod vm;
pub mod watch;

pub use config::{Config, Flags};
pub use error::Error;
pub use profiles::ProfileSource;
pub use progress::{Progress, Silent};
