//! `completions SHELL` (clap_complete) and `man --out DIR` (clap_mangen): generated from the
//! same definitions the parser uses, so they never drift from the real command line.

use clap::CommandFactory;
use metal_ops::Error;
use metal_types::ExitCode;

use super::ctx::Ctx;
use crate::args::{Cli, CompletionsArgs, ManArgs};

pub fn completions(ctx: &Ctx, args: CompletionsArgs) -> Result<i32, Error> {
    super::ctx::no_json(ctx, "completions", "it prints a shell script")?;
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "metal", &mut std::io::stdout());
    Ok(ExitCode::OK)
}

/// Writes `metal.1` and one page per subcommand (`metal-power-status.1` ...).
pub fn man(ctx: &Ctx, args: ManArgs) -> Result<i32, Error> {
    super::ctx::no_json(ctx, "man", "it writes roff pages")?;
    std::fs::create_dir_all(&args.out).map_err(Error::io(&args.out))?;
    let mut command = Cli::command();
    command.build();
    let mut written = 0;
    write_pages(&command, "metal", &args.out, &mut written)?;
    eprintln!("wrote {written} man pages to {}", args.out.display());
    Ok(ExitCode::OK)
}

fn write_pages(
    command: &clap::Command,
    name: &str,
    dir: &std::path::Path,
    written: &mut usize,
) -> Result<(), Error> {
    let page = command.clone().name(name.to_string());
    let path = dir.join(format!("{name}.1"));
    let mut file = std::fs::File::create(&path).map_err(Error::io(&path))?;
    clap_mangen::Man::new(page)
        .render(&mut file)
        .map_err(Error::io(&path))?;
    *written += 1;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
