//! One module per `metal` subcommand.

pub mod boot;
pub mod common;
pub mod console;
pub mod demo;
pub mod discover;
pub mod dns;
pub mod enroll;
pub mod events;
pub mod export;
pub mod guard;
pub mod inventory;
pub mod ls;
pub mod power;
pub mod serve;
pub mod show;
pub mod sim;
pub mod state;
pub mod tftp;
pub mod tree;
