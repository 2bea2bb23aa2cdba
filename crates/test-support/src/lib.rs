//! Scaffolding for the workspace's tests, and nothing else: it is never published and no
//! library or binary depends on it, only test targets (as a dev-dependency).
//!
//! It exists so that a new test is a few lines of intent rather than a copy of the last suite's
//! helpers, and so that every suite follows the same rules where tests can collide:
//!
//! - [`loopback`]: every loopback address a test binds or targets comes from a
//!   [`loopback::Block`], leased for as long as the test holds it and safe across test
//!   processes, instead of a 127.0.N.0/24 chosen by hand.
//! - [`sim`]: the AMT simulator on a block, in process ([`sim::start`]) or as a `metal sim`
//!   child process ([`sim::SimProcess`]) whose log lines the test can wait for.
//! - [`metal`]: the `metal` binary run in an isolated environment (its own inventory, no
//!   config file unless the test writes one, its own secrets file, the repository's hardware
//!   profiles), returning exit code, stdout and stderr or the parsed `--json` document.
//! - [`process`]: child processes whose output is read while they run, and [`process::wait_until`].
//! - [`records`]: inventory records for tests without a database.
//! - [`terminal`]: a tmux session, for what `metal` does on a real terminal.
//! - [`web`]: an HTTP client with cookies, for the dashboard.
//! - [`vm`]: a test program run inside a QEMU VM with the Dom0 image's kernel (device mapper,
//!   which this machine's kernel lacks).
//!
//! Binary paths are the caller's: `env!("CARGO_BIN_EXE_metal")` exists only in the cli crate's
//! own tests, so those pass it in.

pub mod debian;
pub mod http;
pub mod loopback;
pub mod metal;
pub mod process;
pub mod records;
pub mod sim;
pub mod terminal;
pub mod tools;
pub mod vm;
pub mod web;
