//! Glue between the commands and the inventory: which database, the store, who is acting,
//! where hardware profiles and credential secrets live.
//!
//! The database is `--db URL` (global, or `METAL_DB`), else `db` under `[inventory]` in the
//! config file, else the SQLite file in the XDG data directory.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, bail};
use metal_inventory::Store;
use metal_wsman::Credentials;
use serde::Deserialize;

use super::common::AmtArgs;

static DB_OPTION: Mutex<Option<String>> = Mutex::new(None);

/// Records the global `--db` option (by `main`; `metal demo` points it at a scratch file).
pub fn set_db_option(url: Option<String>) {
    *DB_OPTION.lock().unwrap_or_else(|e| e.into_inner()) = url;
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    inventory: InventoryConfig,
}

/// The `[inventory]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryConfig {
    /// Database URL (`sqlite://PATH` or `postgres://...`).
    pub db: Option<String>,
    /// Default address pool of new racks.
    pub pool: Option<String>,
    /// Default hostname scheme of new racks.
    pub hostname_scheme: Option<String>,
}

/// The `[inventory]` table, or defaults when there is no config file.
pub fn config() -> anyhow::Result<InventoryConfig> {
    let Some(path) = std::env::var_os("METAL_CONFIG")
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("metal/config.toml")))
    else {
        return Ok(InventoryConfig::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(toml::from_str::<ConfigFile>(&text)
            .with_context(|| format!("config file {}", path.display()))?
            .inventory),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(InventoryConfig::default()),
        Err(e) => Err(e).with_context(|| format!("config file {}", path.display())),
    }
}

/// The database URL, and whether it was asked for explicitly (an implicit default SQLite
/// file that does not exist yet means there is no inventory).
pub fn db_url() -> anyhow::Result<(String, bool)> {
    if let Some(url) = DB_OPTION.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return Ok((url, true));
    }
    if let Some(url) = config()?.db {
        return Ok((url, true));
    }
    let path = metal_inventory::store::default_path()
        .context("no data directory for the inventory database; pass --db")?;
    Ok((metal_inventory::store::sqlite_url(&path), false))
}

/// Opens (creating if needed) the inventory.
pub async fn open() -> anyhow::Result<Store> {
    let (url, _) = db_url()?;
    Ok(Store::open(&url).await?)
}

/// Opens the inventory if there is one: an explicit database, or the default file if it
/// exists. `None` means commands on addresses run without it.
pub async fn open_existing() -> anyhow::Result<Option<Store>> {
    let (url, explicit) = db_url()?;
    if !explicit {
        let path = metal_inventory::store::default_path();
        if !path.is_some_and(|p| p.exists()) {
            return Ok(None);
        }
    }
    Ok(Some(Store::open(&url).await?))
}

/// Who is acting, for the event log.
pub fn actor(command: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("{user} (metal {command})")
}

/// The hardware profiles directory: `--profiles`, `METAL_PROFILES`, `./hardware-profiles`,
/// or the one in the source tree this binary was built from.
pub fn profiles_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("METAL_PROFILES").map(PathBuf::from))
        .or_else(|| {
            let local = PathBuf::from("hardware-profiles");
            local.is_dir().then_some(local)
        })
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../hardware-profiles"
            ))
        })
}

/// The secrets file of credential sets: `METAL_SECRETS` or ~/.config/metal/secrets.toml.
fn secrets_path() -> Option<PathBuf> {
    std::env::var_os("METAL_SECRETS")
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("metal/secrets.toml")))
}

/// The AMT credentials of a credential set. `default` is the command's own credentials
/// (`--password`, `METAL_AMT_PASSWORD`, the config file) when given, else the set's entry.
pub fn credentials(set: &str, amt: &AmtArgs) -> anyhow::Result<Credentials> {
    if set == "default"
        && let Ok(c) = amt.credentials()
    {
        return Ok(c);
    }
    match metal_inventory::credentials::resolve(set, secrets_path().as_deref())? {
        Some(c) => Ok(Credentials {
            user: c.user,
            password: c.password,
        }),
        None if set == "default" => amt.credentials(),
        None => bail!(
            "credential set {set:?}: set METAL_AMT_PASSWORD_{} or add [credentials.{set}] to the secrets file (mode 0600)",
            set.to_ascii_uppercase().replace('-', "_")
        ),
    }
}
