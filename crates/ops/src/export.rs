//! Monitoring exports: Nagios objects and Prometheus file_sd targets from the inventory, and
//! writing an export file so a reader never sees half of it.

use std::path::Path;

use metal_export::{nagios, prometheus};

use crate::dns::snapshot;
use crate::{Config, Error};

/// `export nagios`: host objects with parents, DomU → Dom0 dependencies and hostgroups; every
/// host uses `template` and is checked by `metal check` run from `metal` (an absolute path).
pub async fn nagios(config: &Config, template: &str, metal: &str) -> Result<String, Error> {
    if !nagios::valid_name(template) {
        return Err(Error::Usage(format!(
            "--template {template:?}: use letters, digits, '-', '_' and '.'"
        )));
    }
    if !nagios::valid_command_path(metal) {
        return Err(Error::Usage(format!(
            "--metal {metal:?}: an absolute path of letters, digits, '/', '.', '_' and '-'"
        )));
    }
    let (machines, guests) = snapshot(config).await?;
    Ok(nagios::render(&machines, &guests, template, metal))
}

/// `export prometheus`: file_sd target groups, `port` being the exporter port on every host.
pub async fn prometheus(config: &Config, port: u16) -> Result<String, Error> {
    let (machines, guests) = snapshot(config).await?;
    Ok(prometheus::render(&machines, &guests, port))
}

/// Writes `text` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}
