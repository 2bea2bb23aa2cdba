//! The serial console of a board over Serial-over-LAN, reached through the guard (the
//! machine's credential set and pin, and the UUID check: a console never opens on a board
//! that is not the recorded one).
//!
//! - [`session`]: one console ([`Console`]), for an interactive front-end.
//! - [`expect`]: wait for a line matching a pattern, for scripts.
//! - [`record`]: record many boards into files, reconnecting, until stopped.
//! - [`logfile`]: the timestamped-line file format all of them write.

pub mod expect;
pub mod logfile;
pub mod record;
pub mod session;

pub use logfile::LineLog;
pub use session::{Console, ConsoleEvent, ConsoleOptions};
