//! What every command gets, the refusal of `--json` where it means nothing, and the end of the
//! long-running ones.

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

/// Resolves when the process is asked to stop (SIGINT or SIGTERM).
pub async fn stopped() -> Result<(), Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}
