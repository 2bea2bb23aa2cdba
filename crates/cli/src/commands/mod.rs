//! One module per subcommand: each parses nothing (clap did), calls `metal_ops` and renders
//! with `output`. They never import each other.

mod acceptance;
mod board;
mod console;
mod ctx;
mod demo;
mod demo_qemu;
mod docs;
mod image;
mod inventory;
mod kit;
mod operations;
mod services;
mod vm;

use metal_ops::Error;

pub use ctx::Ctx;

use crate::args::Command;

/// Runs one subcommand; returns its exit code.
pub async fn run(ctx: &Ctx, command: Command) -> Result<i32, Error> {
    match command {
        Command::Power(args) => board::power(ctx, args).await,
        Command::PowerCycle(args) => {
            board::power_change(ctx, metal_types::PowerAction::Cycle, args).await
        }
        Command::Boot(args) => board::boot(ctx, args).await,
        Command::Console(args) => console::run(ctx, args).await,
        Command::Discover(args) => board::discover(ctx, args).await,
        Command::Show(args) => board::show(ctx, args).await,
        Command::Enroll(args) => inventory::enroll(ctx, args).await,
        Command::Ls(args) => inventory::ls(ctx, args).await,
        Command::Events(args) => inventory::events(ctx, args).await,
        Command::State(args) => inventory::state(ctx, args).await,
        Command::Export(args) => inventory::export(ctx, args).await,
        Command::Dns(args) => inventory::dns(ctx, args).await,
        Command::Image(args) => image::run(ctx, args).await,
        Command::Vm(args) => vm::run(ctx, args).await,
        Command::Sim(args) => services::sim(ctx, args).await,
        Command::Demo(args) => demo::run(ctx, args).await,
        Command::Serve(args) => services::serve(ctx, args).await,
        Command::Tftp(args) => services::tftp(ctx, args).await,
        Command::Web(args) => operations::web(ctx, args).await,
        Command::User(args) => operations::user(ctx, args).await,
        Command::Check(args) => operations::check(ctx, args).await,
        Command::Watch(args) => operations::watch(ctx, args).await,
        Command::Verify(args) => acceptance::verify(ctx, args).await,
        Command::Kit(args) => kit::run(ctx, args),
        Command::Completions(args) => docs::completions(ctx, args),
        Command::Man(args) => docs::man(ctx, args),
    }
}
