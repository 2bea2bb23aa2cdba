//! Fleet results as the `--json` report of `metal-types`.

use metal_amt::HostRun;
use metal_types::{HostReport, Report};

/// Turns fleet results into a report, `map` giving a successful host's row.
pub fn from_runs<T, U>(command: &str, runs: Vec<HostRun<T>>, map: impl Fn(T) -> U) -> Report<U> {
    let hosts = runs
        .into_iter()
        .map(|run| match run.result {
            Ok(v) => HostReport::ok(run.host, map(v)),
            Err(e) => HostReport::failed(run.host, e.category(), e.to_string()),
        })
        .collect();
    Report::new(command, hosts)
}
