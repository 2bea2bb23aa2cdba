//! The DNS names `metal dns sync` has published, per zone, so the next sync knows which
//! names to delete.

use std::collections::BTreeSet;

use crate::Error;
use crate::store::{Store, get};

/// The DNS names `metal dns sync` has published.
impl Store {
    /// The zones with published names.
    pub async fn dns_zones(&self) -> Result<BTreeSet<String>, Error> {
        let rows = sqlx::query("SELECT DISTINCT zone FROM dns_names")
            .fetch_all(&self.pool)
            .await
            .map_err(Error::db(format!(
                "{}: reading published DNS zones",
                self.url()
            )))?;
        rows.iter().map(|r| get(r, "zone")).collect()
    }

    /// The names published in `zone` (relative to it).
    pub async fn dns_names(&self, zone: &str) -> Result<BTreeSet<String>, Error> {
        let rows = sqlx::query("SELECT name FROM dns_names WHERE zone = $1")
            .bind(zone)
            .fetch_all(&self.pool)
            .await
            .map_err(Error::db(format!(
                "{}: reading DNS names of {zone}",
                self.url()
            )))?;
        rows.iter().map(|r| get(r, "name")).collect()
    }

    /// Replaces the names recorded as published in `zone`, in one transaction.
    pub async fn set_dns_names(&self, zone: &str, names: &BTreeSet<String>) -> Result<(), Error> {
        let db = || Error::db(format!("{}: recording DNS names of {zone}", self.url()));
        let mut tx = self.pool.begin().await.map_err(db())?;
        sqlx::query("DELETE FROM dns_names WHERE zone = $1")
            .bind(zone)
            .execute(&mut *tx)
            .await
            .map_err(db())?;
        for name in names {
            sqlx::query("INSERT INTO dns_names (zone, name) VALUES ($1, $2)")
                .bind(zone)
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(db())?;
        }
        tx.commit().await.map_err(db())
    }
}
