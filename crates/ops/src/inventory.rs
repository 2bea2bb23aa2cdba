//! Opening the inventory the [`Config`] names.

use metal_inventory::Store;

use crate::{Config, Error};

/// Opens the inventory, creating it (and its SQLite file) if needed.
pub async fn open(config: &Config) -> Result<Store, Error> {
    Ok(Store::open(&config.db.url).await?)
}

/// Opens the inventory if there is one: an explicit database, or the default file if it
/// exists. `None` means commands on addresses run without it.
pub async fn open_existing(config: &Config) -> Result<Option<Store>, Error> {
    if !config.db.explicit && !config.db.default_path.as_ref().is_some_and(|p| p.exists()) {
        return Ok(None);
    }
    Ok(Some(open(config).await?))
}

/// Opens the inventory a command cannot do without.
pub async fn require(config: &Config) -> Result<Store, Error> {
    open_existing(config).await?.ok_or(Error::NoInventory(None))
}
