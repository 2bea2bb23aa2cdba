//! One module per `metal` subcommand.

pub mod boot;
pub mod common;
pub mod console;
pub mod demo;
pub mod discover;
pub mod power;
pub mod serve;
pub mod show;
pub mod sim;
pub mod tftp;
