//! What every command gets, and the refusal of `--json` where it means nothing.

use metal_ops::{Config, Error};

/// What every command gets: the resolved configuration and the output mode.
pub struct Ctx {
    pub config: Config,
    pub json: bool,
}

/// Refuses `--json` on a command whose output is for people (or a terminal).
pub fn no_json(ctx: &Ctx, command: &str, instead: &str) -> Result<(), Error> {
    if ctx.json {
        return Err(Error::Usage(format!(
            "{command} has no --json output: {instead}"
        )));
    }
    Ok(())
}
